/**
 * Search benchmark: generate N realistic records, load them into each backend (records/s), then run a fixed
 * mix of queries (text, filters, facets, sorts) and report p50/p95/p99 per backend. PostgreSQL is measured as
 * users get it, answered by the local search replica (its `warm` is the replica's first copy), and again
 * through its own SQL on the same records (`postgres-sql`).
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
import { randomBytes } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Video } from '../src/core/index.js';
import { makeQueries, makeRecord, type Kind } from './search-data.js';
import { BULK_WRITE_BATCH, compareBySort, indexFields, matches, planQuery, SqliteStore, type IndexFields, type SearchQuery, type VideoStore } from '../src/store/index.js';
import { runAsLauncher } from './bench-lib.js';

// as `videodex` runs node (db copy, serve)
await runAsLauncher();

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
  // in the batches `db copy` writes
  for (let i = 0; i < records.length; i += BULK_WRITE_BATCH) await store.upsertMany!(records.slice(i, i + BULK_WRITE_BATCH));
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

    // `alsoQuery`: a second view of the same loaded library whose queries are timed too (PostgreSQL's own SQL)
    const backends: Array<{ name: string; open: () => Promise<{ store: VideoStore; cleanup: () => Promise<void>; alsoQuery?: { name: string; store: VideoStore } }> }> = [
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
          // as users get it: searches answered by the local search replica ([Database] SearchReplica = true)
          const schema = `vdx_bench_${randomBytes(3).toString('hex')}`;
          const store = new PostgresStore({ url: pgUrl, schema, poolSize: 8, replicaFile: path.join(work, 'pg-replica.db') });
          const sql = new PostgresStore({ url: pgUrl, schema, poolSize: 8 });
          return {
            store,
            alsoQuery: { name: 'postgres-sql', store: sql },
            cleanup: async () => {
              await store.dropSchema();
              await store.close();
              await sql.close();
            },
          };
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
      const { store, cleanup, alsoQuery } = await b.open();
      try {
        const { wall: rate, cpu: cpuRate } = await loadStore(store, records);
        log(`${b.name}: ${Math.round(rate)} records/s (${Math.round(cpuRate)} per CPU-second of this process)`);
        // as `videodex serve` does before it listens (SQLite: the column copy and the text index)
        const w0 = performance.now();
        await store.warm?.();
        const warmMs = Math.round(performance.now() - w0);
        log(`${b.name}: warmed in ${warmMs} ms; running ${Q} queries...`);
        const { all, byKind } = await runQueries(store, queries);
        const res = {
          loadPerSec: Math.round(rate),
          loadPerCpuSec: Math.round(cpuRate),
          loadVsJsonl: r2(rate / jsonlRate),
          warmMs,
          p50: r2(pct(all, 50)),
          p95: r2(pct(all, 95)),
          p99: r2(pct(all, 99)),
          speedupP95VsScan: r2(baseline.p95 / pct(all, 95)),
          byKind: Object.fromEntries(Object.entries(byKind).map(([k, xs]) => [k, { n: xs.length, p50: r2(pct(xs, 50)), p95: r2(pct(xs, 95)) }])),
        };
        results[b.name] = res;
        console.log(
          `${b.name.padEnd(9)} load ${String(res.loadPerSec).padStart(6)} rec/s (${res.loadVsJsonl}x JSONL)  ` +
            `warm ${warmMs} ms  p50 ${res.p50} ms  p95 ${res.p95} ms  p99 ${res.p99} ms  (p95 ${res.speedupP95VsScan}x faster than the in-memory scan)`,
        );
        for (const [k, v] of Object.entries(res.byKind)) console.log(`          ${k.padEnd(12)} n=${String(v.n).padStart(4)}  p50 ${v.p50} ms  p95 ${v.p95} ms`);
        if (alsoQuery) {
          log(`${alsoQuery.name}: running ${Q} queries on the same records...`);
          const also = await runQueries(alsoQuery.store, queries);
          const a = {
            p50: r2(pct(also.all, 50)),
            p95: r2(pct(also.all, 95)),
            p99: r2(pct(also.all, 99)),
            speedupP95VsScan: r2(baseline.p95 / pct(also.all, 95)),
            byKind: Object.fromEntries(Object.entries(also.byKind).map(([k, xs]) => [k, { n: xs.length, p50: r2(pct(xs, 50)), p95: r2(pct(xs, 95)) }])),
          };
          results[alsoQuery.name] = a;
          console.log(`${alsoQuery.name.padEnd(9)} p50 ${a.p50} ms  p95 ${a.p95} ms  p99 ${a.p99} ms  (p95 ${a.speedupP95VsScan}x faster than the in-memory scan; ${r2(a.p95 / res.p95)}x ${b.name}'s p95)`);
          for (const [k, v] of Object.entries(a.byKind)) console.log(`          ${k.padEnd(12)} n=${String(v.n).padStart(4)}  p50 ${v.p50} ms  p95 ${v.p95} ms`);
        }
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
