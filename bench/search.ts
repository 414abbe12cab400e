/**
 * Search benchmark: generate N realistic records, load them into each backend (records/s), then run a fixed
 * mix of queries (text, filters, facets, sorts) and report p50/p95/p99 per backend.
 *
 * Baseline, measured in the same run on the same records and queries: a brute-force scan in memory with the
 * reference evaluator (every record tested, then sorted), and for loading, writing the records as JSONL.
 *
 *   npx tsx bench/search.ts              100k records, 1,000 queries: SQLite, plus PostgreSQL when
 *                                        VIDEODEX_TEST_PG_URL is set, MongoDB when VIDEODEX_TEST_MONGODB_URI is set
 *   npx tsx bench/search.ts --quick      10k records, 300 queries
 *   npx tsx bench/search.ts --records 50000 --queries 500 --backends sqlite,postgres
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SourceKind, Video } from '../src/core/index.js';
import { compareBySort, indexFields, matches, planQuery, SqliteStore, type IndexFields, type SearchQuery, type VideoStore } from '../src/store/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argNum = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = argNum('--records', quick ? 10_000 : 100_000);
const Q = argNum('--queries', quick ? 300 : 1000);
const BASELINE_Q = Math.min(Q, argNum('--baseline-queries', quick ? 100 : 200));
const ONLY = args.includes('--backends') ? args[args.indexOf('--backends') + 1]!.split(',') : null;

// ---- deterministic data -------------------------------------------------------------------------------
let seed = 20240601;
function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
/** Zipf-ish: low indexes much more likely, like real vocabularies and tag clouds. */
const zipf = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(xs.length * rand() ** 2.2))]!;

const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'ten', 'vo', 'su', 'ne', 'ptor', 'zan', 'el', 'qui', 'dor', 'ba', 'fi', 'gu', 'sha', 'wel'];
const COMMON = ['person', 'people', 'man', 'woman', 'child', 'dog', 'cat', 'car', 'street', 'beach', 'water', 'sky', 'tree', 'city', 'night', 'day', 'music', 'guitar', 'dancing', 'running', 'walking', 'kitchen', 'food', 'cooking', 'ball', 'game', 'sport', 'field', 'mountain', 'snow', 'river', 'boat', 'bicycle', 'crowd', 'stage', 'light', 'red', 'blue', 'green', 'white'];
const VOCAB = [...COMMON, ...Array.from({ length: 2000 }, (_, i) => SYLLABLES[i % 18]! + SYLLABLES[(i * 7) % 18]! + SYLLABLES[(i * 13) % 18]! + (i > 600 ? String(i) : ''))];
const TAGS = [...['outdoor', 'indoor', 'people', 'night', 'day', 'water', 'music', 'sport', 'animal', 'vehicle', 'food', 'nature', 'urban', 'crowd', 'slow motion'], ...Array.from({ length: 185 }, (_, i) => `tag${i}`)];
const CATS = ['sports', 'music', 'nature', 'cooking', 'travel', 'news', 'education', 'gaming', 'vlog', 'comedy', 'animals', 'science', 'art', 'fashion', 'cars', 'dance', 'fitness', 'film', 'kids', 'tech'];
const ACTIONS = ['playing guitar', 'dancing', 'running', 'walking', 'cooking', 'swimming', 'riding bike', 'singing', 'jumping', 'talking', ...Array.from({ length: 40 }, (_, i) => `action ${i}`)];
const CODECS = ['h264', 'h264', 'h264', 'hevc', 'vp9', 'av1', 'mpeg4'];
const KINDS: SourceKind[] = ['local', 'local', 'http', 'ytdlp', 'ytdlp', 'hls'];
const SIZES: Array<[number, number]> = [[640, 360], [854, 480], [1280, 720], [1280, 720], [1920, 1080], [1920, 1080], [3840, 2160], [1080, 1920]];

function sentence(n: number): string {
  return Array.from({ length: n }, () => zipf(VOCAB)).join(' ');
}

function makeRecord(i: number): Video {
  const id = createHash('sha256').update(`bench${i}`).digest('hex').slice(0, 16);
  const [w, h] = pick(SIZES);
  const at = new Date(Date.UTC(2023, 0, 1) + Math.floor(rand() * 700 * 86_400_000)).toISOString();
  const title = rand() < 0.8 ? sentence(2 + Math.floor(rand() * 5)) : undefined;
  const file = `${zipf(VOCAB)}_${i}.mp4`;
  const scenes = Math.floor(rand() * 40);
  return {
    id,
    source: { url: `https://videos.example.com/${file}`, kind: pick(KINDS), ...(title ? { title } : {}), fetchedAt: at },
    alsoFrom: [],
    file: { path: `/library/${file}`, bytes: Math.floor(rand() * 2e9), sha256: id.padEnd(64, '0') },
    metadata: {
      durationSec: Math.round(rand() * rand() * 36000) / 10,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      bitRate: 2_000_000,
      width: w,
      height: h,
      fps: pick([24, 25, 29.97, 30, 50, 60]),
      rotation: 0,
      videoCodec: pick(CODECS),
      audio: rand() < 0.8 ? { codec: 'aac', channels: 2, sampleRate: 48000 } : null,
      ...(rand() < 0.5 ? { creationTime: new Date(Date.UTC(2018, 0, 1) + Math.floor(rand() * 2500 * 86_400_000)).toISOString() } : {}),
      containerTags: {},
    },
    scenes: Array.from({ length: Math.min(scenes, 5) }, (_, k) => ({ index: k, startSec: k * 5, endSec: k * 5 + 5, startFrame: k * 125, endFrame: k * 125 + 125, transition: 'cut' as const, score: 0.4 })),
    ai:
      rand() < 0.85
        ? {
            model: 'qwen2-vl-7b',
            endpoint: 'dashscope.aliyuncs.com/compatible-mode/v1',
            provider: 'openai',
            template: 'default',
            instruction: 'Describe the video.',
            description: sentence(20 + Math.floor(rand() * 60)),
            tags: [],
            category: zipf(CATS),
            actions: Array.from({ length: Math.floor(rand() * 3) }, () => zipf(ACTIONS)),
            promptTokens: 1200,
            completionTokens: 150,
            framesSent: 8,
            at,
          }
        : null,
    tags: [...new Set(Array.from({ length: 2 + Math.floor(rand() * 5) }, () => zipf(TAGS)))].map((name) => ({ name, source: 'rule' as const })),
    categories: [...new Set(Array.from({ length: 1 + Math.floor(rand() * 2) }, () => zipf(CATS)))].map((name) => ({ name, source: 'rule' })),
    extra: {},
    stages: rand() < 0.03 ? { probe: { status: 'failed', version: '1', inputHash: 'x', at, ms: 1, error: 'x' } } : { probe: { status: 'done', version: '1', inputHash: 'x', at, ms: 1 } },
    createdAt: at,
    updatedAt: at,
  };
}

// ---- the query mix ------------------------------------------------------------------------------------
type Kind = 'text' | 'filter' | 'text+filter' | 'facets' | 'sort';
function makeQueries(n: number): Array<{ kind: Kind; q: SearchQuery }> {
  const out: Array<{ kind: Kind; q: SearchQuery }> = [];
  const word = (): string => (rand() < 0.5 ? pick(COMMON) : zipf(VOCAB));
  const filter = (): string =>
    pick([
      () => `tag:${JSON.stringify(zipf(TAGS))}`,
      () => `category:${zipf(CATS)}`,
      () => `duration:${Math.floor(rand() * 60)}..${60 + Math.floor(rand() * 600)}`,
      () => 'height:>=720',
      () => `codec:${pick(CODECS)}`,
      () => `source:${pick(KINDS)}`,
      () => 'has:audio',
      () => `-tag:${JSON.stringify(zipf(TAGS))}`,
      () => `action:${JSON.stringify(zipf(ACTIONS))}`,
      () => `created:${2018 + Math.floor(rand() * 6)}-0${1 + Math.floor(rand() * 6)}..${2024}-06`,
      () => 'fps:>30',
      () => `scenes:>${Math.floor(rand() * 4)}`,
    ])();
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.3) {
      const t = pick([() => word(), () => `${word()} ${word()}`, () => `${word().slice(0, 3)}*`, () => `"${pick(COMMON)} ${pick(COMMON)}"`, () => `${word()} OR ${word()}`, () => `${word()} -${word()}`])();
      out.push({ kind: 'text', q: { text: t, facets: false } });
    } else if (r < 0.55) {
      out.push({ kind: 'filter', q: { text: rand() < 0.5 ? filter() : `${filter()} ${filter()}`, facets: false } });
    } else if (r < 0.75) {
      out.push({ kind: 'text+filter', q: { text: `${word()} ${filter()}`, facets: false } });
    } else if (r < 0.9) {
      out.push({ kind: 'facets', q: { text: rand() < 0.5 ? filter() : word() } });
    } else {
      out.push({ kind: 'sort', q: { text: rand() < 0.5 ? filter() : '', sort: pick(['duration-desc', 'created-desc', 'name-asc', 'size-desc', 'added-desc'] as const), facets: false } });
    }
  }
  return out;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Records/s by the wall clock, and by this process's CPU time (robust to other jobs' load; in-process stores only). */
async function loadStore(store: VideoStore, records: Video[]): Promise<{ wall: number; cpu: number }> {
  await store.migrate();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < records.length; i += 500) await store.upsertMany!(records.slice(i, i + 500));
  const c = process.cpuUsage(c0);
  return { wall: records.length / ((performance.now() - t0) / 1000), cpu: records.length / ((c.user + c.system) / 1e6) };
}

async function runQueries(store: VideoStore, queries: Array<{ kind: Kind; q: SearchQuery }>): Promise<{ all: number[]; byKind: Record<string, number[]> }> {
  for (const { q } of queries.slice(0, 20)) await store.search({ ...q, limit: 20 }); // warm up
  const all: number[] = [];
  const byKind: Record<string, number[]> = {};
  for (const { kind, q } of queries) {
    const t0 = performance.now();
    await store.search({ ...q, limit: 20 });
    const ms = performance.now() - t0;
    all.push(ms);
    (byKind[kind] ??= []).push(ms);
  }
  return { all, byKind };
}

async function main(): Promise<void> {
  const work = path.join(path.dirname(new URL(import.meta.url).pathname), '.work', `search-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    log(`generating ${N} records and ${Q} queries...`);
    const records = Array.from({ length: N }, (_, i) => makeRecord(i));
    const queries = makeQueries(Q);

    // Baselines: JSONL write for loading; brute-force scan with the reference evaluator for queries.
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const ws = createWriteStream(path.join(work, 'records.jsonl'));
      ws.on('error', reject);
      for (const r of records) ws.write(`${JSON.stringify(r)}\n`);
      ws.end(resolve);
    });
    const jsonlRate = N / ((performance.now() - t0) / 1000);
    const fields: IndexFields[] = records.map(indexFields);
    const scanTimes: number[] = [];
    for (const { q } of queries.slice(0, BASELINE_Q)) {
      const s = performance.now();
      const plan = planQuery({ ...q, limit: 20 });
      const hit = fields.filter((f) => matches(f, plan.where));
      if (plan.sort !== 'relevance') hit.sort((a, b) => compareBySort(plan, a, b));
      hit.slice(0, 20);
      scanTimes.push(performance.now() - s);
    }
    const baseline = { p50: r2(pct(scanTimes, 50)), p95: r2(pct(scanTimes, 95)), p99: r2(pct(scanTimes, 99)), loadPerSec: Math.round(jsonlRate) };
    log(`baseline (in-memory scan, ${BASELINE_Q} queries): p50 ${baseline.p50} ms, p95 ${baseline.p95} ms; JSONL write ${baseline.loadPerSec} records/s`);

    const backends: Array<{ name: string; open: () => Promise<{ store: VideoStore; cleanup: () => Promise<void> }> }> = [
      {
        name: 'sqlite',
        open: async () => {
          const store = new SqliteStore(path.join(work, 'bench.db'));
          return { store, cleanup: async () => store.close() };
        },
      },
    ];
    const pgUrl = process.env.VIDEODEX_BENCH_PG_URL ?? process.env.VIDEODEX_TEST_PG_URL;
    if (pgUrl) {
      backends.push({
        name: 'postgres',
        open: async () => {
          const { PostgresStore } = await import('../src/store/postgres/index.js');
          const store = new PostgresStore({ url: pgUrl, schema: `vdx_bench_${randomBytes(3).toString('hex')}`, poolSize: 8 });
          return { store, cleanup: async () => { await store.dropSchema(); await store.close(); } };
        },
      });
    }
    const mongoUrl = process.env.VIDEODEX_TEST_MONGODB_URI;
    if (mongoUrl) {
      backends.push({
        name: 'mongodb',
        open: async () => {
          const { MongoStore } = await import('../src/store/mongodb/index.js');
          const u = new URL(mongoUrl);
          u.pathname = `/vdx_bench_${randomBytes(3).toString('hex')}`;
          const store = await MongoStore.connect({ url: u.toString() });
          return {
            store,
            cleanup: async () => {
              const { MongoClient } = await import('mongodb');
              const c = new MongoClient(u.toString());
              await c.connect();
              await c.db().dropDatabase();
              await c.close();
              await store.close();
            },
          };
        },
      });
    }

    const results: Record<string, unknown> = {};
    for (const b of backends.filter((x) => !ONLY || ONLY.includes(x.name))) {
      log(`${b.name}: loading ${N} records...`);
      const { store, cleanup } = await b.open();
      try {
        const { wall: rate, cpu: cpuRate } = await loadStore(store, records);
        log(`${b.name}: ${Math.round(rate)} records/s (${Math.round(cpuRate)} per CPU-second of this process); running ${Q} queries...`);
        const { all, byKind } = await runQueries(store, queries);
        const res = {
          loadPerSec: Math.round(rate),
          loadPerCpuSec: Math.round(cpuRate),
          loadVsJsonl: r2(rate / jsonlRate),
          p50: r2(pct(all, 50)),
          p95: r2(pct(all, 95)),
          p99: r2(pct(all, 99)),
          speedupP95VsScan: r2(baseline.p95 / pct(all, 95)),
          byKind: Object.fromEntries(Object.entries(byKind).map(([k, xs]) => [k, { n: xs.length, p50: r2(pct(xs, 50)), p95: r2(pct(xs, 95)) }])),
        };
        results[b.name] = res;
        console.log(
          `${b.name.padEnd(9)} load ${String(res.loadPerSec).padStart(6)} rec/s (${res.loadVsJsonl}x JSONL)  ` +
            `p50 ${res.p50} ms  p95 ${res.p95} ms  p99 ${res.p99} ms  (p95 ${res.speedupP95VsScan}x faster than the in-memory scan)`,
        );
        for (const [k, v] of Object.entries(res.byKind)) console.log(`          ${k.padEnd(12)} n=${String(v.n).padStart(4)}  p50 ${v.p50} ms  p95 ${v.p95} ms`);
      } finally {
        await cleanup();
      }
    }
    console.log(`baseline  JSONL write ${baseline.loadPerSec} rec/s; in-memory scan p50 ${baseline.p50} ms p95 ${baseline.p95} ms p99 ${baseline.p99} ms`);
    let commit = 'unknown';
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      // not a checkout
    }
    const line = { bench: 'search', at: new Date().toISOString(), commit, machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, records: N, queries: Q, baseline, results };
    appendFileSync(path.join(path.dirname(work), '..', 'results.jsonl'), `${JSON.stringify(line)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
