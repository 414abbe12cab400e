/**
 * retag: re-tagging and re-classifying stored records with 50 rules and a taxonomy.
 *
 * Builds a SQLite library of N generated records (default 100k; --quick 20k), then measures, in the same run:
 *   compute    tagging + classification in memory, no store;
 *   first      `retag` over the store when every record changes (all written, batched);
 *   baseline   streaming every (now tagged) record out of the store (read + JSON parse), no tagging;
 *   unchanged  `retag` again: nothing changed, nothing written;
 *   edited     `retag` after editing one of the 50 rules (every record is re-evaluated, a third changes);
 *   edited xW  the same edit undone by `retagInParallel` on W worker threads (one per core, at least 2), started
 *              from the compiled build (built first) as an installed videodex starts them; the two take turns
 *              twice, and the faster round of each is reported;
 *   small edit the same rule's threshold moved by 10 s (about 1% of the records change), in one thread, then
 *              undone on W worker threads.
 * First measures the host (bench-lib's hostCalibration: one core's speed, a page fault's cost, how two threads scale).
 * Prints records/s, ratios to the baseline, and peak RSS per phase (RSS sampled every 20 ms on a thread of its own, with the RSS at
 * each quarter of the run, to show it stays flat). Appends a JSON line to bench/results.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { configWith, createLogger, newVideo, type Video } from '../src/core/index.js';
import { SqliteStore } from '../src/store/index.js';
import { classifyRecord, createTaggingSetup, tagRecordSync } from '../src/tagging/index.js';
import { createClassifyStage, createTagStage, retagInParallel, retagRecords, type RetagSummary } from '../src/workflow/index.js';
import { describeHost, hasFlag, hostCalibration, recordResult, repoRoot, rssSampler, runAsLauncher, workDir } from './bench-lib.js';

await runAsLauncher();

const N = hasFlag('--quick') ? 20_000 : Number(process.argv.find((a) => /^--records=\d+$/.test(a))?.split('=')[1] ?? 100_000);
const WORKERS = Math.max(2, os.cpus().length);
const dir = workDir('retag');
const dbFile = path.join(dir, `library-${N}.db`);

// ------------------------------------------------------------------------------------------------ inputs

const WORDS = ['beach', 'sunset', 'dog', 'cat', 'party', 'wedding', 'birthday', 'cooking', 'pasta', 'skate', 'surf', 'mountain', 'hike', 'city', 'night', 'snow', 'ski', 'concert', 'guitar', 'piano', 'lecture', 'slides', 'football', 'soccer', 'tennis', 'garden', 'car', 'bike', 'drone', 'timelapse', 'kids', 'family', 'travel', 'paris', 'tokyo', 'forest', 'river', 'lake', 'boat', 'train'];
const ACTIONS = Array.from({ length: 120 }, (_, i) => `${['playing', 'riding', 'throwing', 'cooking', 'washing', 'climbing', 'dancing', 'cutting'][i % 8]} ${WORDS[(i * 7) % WORDS.length]}${i >= 80 ? ' fast' : ''}`);
const AI_ACTIONS = [...ACTIONS.slice(0, 40), 'plays guitar', 'riding a bicycle', 'jumping rope', 'knitting', 'walks the dog'];
const CATEGORIES = ['sports', 'food', 'music', 'travel', 'nature', 'family', 'education', 'events', 'vehicles', 'animals'];

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;

function record(i: number): Video {
  const words = [pick(WORDS), pick(WORDS), pick(WORDS)];
  const file = `/library/${pick(WORDS)}/${pick(WORDS)}/${words[0]}${words[1]![0]!.toUpperCase()}${words[1]!.slice(1)}_${2015 + (i % 10)}-0${1 + (i % 9)}-1${i % 10}${i % 5 === 0 ? '_1080p' : ''}.mp4`;
  const id = i.toString(16).padStart(16, '0');
  const v = newVideo(id, { url: file, kind: 'local', fetchedAt: '2026-01-01T00:00:00.000Z' }, { path: file, bytes: 1_000_000 + i * 37, sha256: id.padEnd(64, '0') });
  const portrait = i % 7 === 0;
  v.metadata = {
    durationSec: 5 + (i % 900),
    container: 'mov,mp4',
    bitRate: 2_000_000,
    width: portrait ? 1080 : [640, 1280, 1920, 3840][i % 4]!,
    height: portrait ? 1920 : [360, 720, 1080, 2160][i % 4]!,
    fps: [24, 25, 30, 60][i % 4]!,
    rotation: 0,
    videoCodec: i % 3 === 0 ? 'hevc' : 'h264',
    audio: i % 6 === 0 ? null : { codec: 'aac', channels: 2, sampleRate: 48000 },
    containerTags: i % 4 === 0 ? { title: `${words[2]} day`, keywords: `${words[0]}, ${words[1]}` } : {},
  };
  v.scenes = Array.from({ length: i % 12 }, (_, k) => ({ index: k, startSec: k, endSec: k + 1, startFrame: k * 25, endFrame: (k + 1) * 25, transition: 'cut' as const, score: 1 }));
  if (i % 3 !== 2) {
    v.ai = {
      model: 'qwen2-vl-7b', endpoint: 'example/v1', provider: 'openai', template: 'default', instruction: 'describe',
      description: `A ${pick(WORDS)} scene with ${words.join(' and ')} near the ${pick(WORDS)}.`,
      tags: [pick(WORDS), pick(WORDS), `${pick(WORDS)}s`],
      category: pick([...CATEGORIES, 'Sport', 'outdoors', 'cooking shows', 'vlog']),
      actions: [pick(AI_ACTIONS), pick(AI_ACTIONS)],
      promptTokens: 1000, completionTokens: 100, framesSent: 8, at: '2026-01-01T00:00:00.000Z',
    };
  }
  if (i % 10 === 0) v.tags = [{ name: 'from-ytdlp', source: 'metadata', confidence: 0.7, rule: 'ytdlp:tags' }];
  return v;
}

function rules(edit = 0): string {
  const out: string[] = ['rules:'];
  const forms = [
    (k: number) => `"duration > ${30 + k * 10 + (k === 0 ? edit : 0)}"`,
    (k: number) => `{ all: ["height >= 1080", "fps >= ${k % 2 ? 50 : 25}"] }`,
    (k: number) => `{ filename: "*${WORDS[k % WORDS.length]}*" }`,
    (k: number) => `{ description: { any: [${WORDS[k % WORDS.length]}, ${WORDS[(k + 3) % WORDS.length]}] } }`,
    (k: number) => `{ any: [{ tag: ${WORDS[(k + 5) % WORDS.length]} }, { tag: "year-201${k % 10}" }] }`,
    (k: number) => `{ not: { any: ["hasAudio == true", "codec == hevc"] } }`,
    (k: number) => `{ all: ["height > width", { path: "**/${WORDS[k % WORDS.length]}/**" }] }`,
    (k: number) => `{ all: ["scenes >= ${k % 10}", { filename: { regex: "_20(1[5-9]|2[0-4])-" } }] }`,
    (k: number) => `"title ~ ${WORDS[k % WORDS.length]}"`,
    (k: number) => `{ all: [{ tag: hd }, { not: { tag: ${WORDS[k % WORDS.length]} } }, "bytes < ${1 + (k % 5)}M"] }`,
  ];
  for (let k = 0; k < 50; k++) {
    out.push(`  - name: rule-${k}`, `    priority: ${k % 5}`, `    when: ${forms[k % forms.length]!(k)}`);
    if (k % 4 === 3) out.push(`    remove: [${WORDS[(k * 3) % WORDS.length]}]`);
    else out.push(`    add: [r${k}, ${['long', 'hq', 'clip', 'outdoor', 'review'][k % 5]}]`);
    if (k % 6 === 0) out.push(`    categories: [${CATEGORIES[k % CATEGORIES.length]}]`);
  }
  return out.join('\n') + '\n';
}

const TAXONOMY = `categories:\n${CATEGORIES.map((c, i) => `  - name: ${c}\n    keywords: [${WORDS[i]}, ${WORDS[i + 10]}]${i > 0 && i % 3 === 0 ? `\n    parent: ${CATEGORIES[0]}` : ''}`).join('\n')}\nsynonyms:\n  sports: [sport, athletics]\n  food: [cooking shows, cuisine]\n  nature: [outdoors]\n`;

// ------------------------------------------------------------------------------------------------ measuring

let marks: number[] = [];
const sampler = rssSampler(20);
const mb = (b: number) => Math.round(b / 1024 / 1024);
function resetPeak(): void {
  sampler.reset();
  marks = [];
}
function onProgress(seen: number): void {
  if (N >= 4 && seen % Math.floor(N / 4) < 1000 && marks.length < 4) marks.push(mb(process.memoryUsage().rss));
}

/**
 * Runs a phase; reports records per wall second and per CPU second of this process (the machine is shared:
 * with a load above its core count, wall rates mostly measure the neighbours; SQLite runs in this thread, so
 * CPU time covers the store's work too).
 */
async function phase<T>(name: string, fn: () => Promise<T>): Promise<{ rate: number; cpuRate: number; peakMb: number; quarterMb: number[]; value: T }> {
  global.gc?.();
  resetPeak();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const r = { rate: Math.round((N / ms) * 1000), cpuRate: Math.round(N / ((c.user + c.system) / 1e6)), peakMb: mb(sampler.peakBytes()), quarterMb: marks, value };
  process.stdout.write(
    `  ${name.padEnd(10)} ${String(r.rate).padStart(8)} records/s wall ${String(r.cpuRate).padStart(8)} records/CPU-s   peak RSS ${r.peakMb} MB   RSS by quarter ${marks.join(' / ')} MB\n`,
  );
  return r;
}

async function main(): Promise<void> {
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}-wal`, { force: true });
  rmSync(`${dbFile}-shm`, { force: true });
  const store = new SqliteStore(dbFile);
  await store.migrate();
  process.stdout.write(`retag bench: ${N} records, 50 rules, ${CATEGORIES.length} categories, ${ACTIONS.length} action labels\n`);
  // the parallel pass's rate depends on how the host's cores share memory: said beside it, measured now
  const host = await hostCalibration(WORKERS);
  process.stdout.write(`  ${describeHost(host)}\n`);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) await store.upsertMany!(Array.from({ length: Math.min(1000, N - i) }, (_, k) => record(i + k)));
  process.stdout.write(`  built the library in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);

  const config = configWith();
  const logger = createLogger({ file: null, level: 'silent', secrets: [] });
  const setup = createTaggingSetup({ rulesText: rules(), taxonomyText: TAXONOMY, actionLabelsText: ACTIONS.join('\n') });
  // `earlier`: the setups the records were tagged with, as the setup ledger gives them to `videodex retag`
  const run = (s: typeof setup, earlier: Array<typeof setup> = []) =>
    retagRecords({ store, config, logger, setup: s, tagStage: createTagStage(s), classifyStage: createClassifyStage(s), onProgress, earlier: earlier.map((e) => e.options) });

  const compute = await phase('compute', async () => {
    let n = 0;
    for (let i = 0; i < N; i++) {
      const v = record(i);
      const t = tagRecordSync(v, setup, { config, logger });
      const c = classifyRecord({ ...v, ...t }, setup);
      n += c.categories.length;
      if (i % 1000 === 0) onProgress(i);
    }
    return n;
  });
  const first = await phase('first', () => run(setup));
  // after the first retag, so the scan reads the records the phases compared with it read: tagged, with
  // tagging's state (about 4.8 kB of JSON each, against 1.5 kB fresh)
  const baseline = await phase('baseline', async () => {
    let n = 0;
    for await (const v of store.iterate()) {
      n += v.tags.length >= 0 ? 1 : 0;
      onProgress(n);
    }
    return n;
  });
  const unchanged = await phase('unchanged', () => run(setup));
  // A rule edit, then the edit undone, and again: each pass re-evaluates every record and changes a third of
  // them. One thread and the worker threads take turns, so a change in the host's speed hits both.
  const setups = [createTaggingSetup({ rulesText: rules(300), taxonomyText: TAXONOMY, actionLabelsText: ACTIONS.join('\n') }), setup];
  // The workers start from the compiled build, as an installed videodex starts them: from the sources each worker
  // first loads tsx and compiles its modules, which no user pays (0.5-1 s a pass on this machine).
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
  const compiled = (await import(pathToFileURL(path.join(repoRoot, 'dist', 'workflow', 'index.js')).href)) as { retagInParallel: typeof retagInParallel };
  const parallel = (s: typeof setup, earlier: Array<typeof setup>) =>
    compiled.retagInParallel({
      store, config, logger, setup: s, tagStage: createTagStage(s), classifyStage: createClassifyStage(s), onProgress, earlier: earlier.map((e) => e.options),
      workers: WORKERS, storeOptions: { backend: 'sqlite', path: dbFile },
    });
  const edits: Array<Awaited<ReturnType<typeof phase<RetagSummary>>>> = [];
  const editsParallel: typeof edits = [];
  for (let round = 0; round < 2; round++) {
    edits.push(await phase('edited', () => run(setups[0]!, [setups[1]!])));
    editsParallel.push(await phase(`edited x${WORKERS}`, () => parallel(setups[1]!, [setups[0]!])));
  }
  // A small edit, as most are: the same threshold moved by 10 s changes about 1% of the records. One thread,
  // then the edit undone on the worker threads.
  const small = createTaggingSetup({ rulesText: rules(10), taxonomyText: TAXONOMY, actionLabelsText: ACTIONS.join('\n') });
  const smallEdit = await phase('small edit', () => run(small, [setup]));
  const smallEditParallel = await phase(`small x${WORKERS}`, () => parallel(setup, [small]));
  const best = (xs: typeof edits) => xs.reduce((a, b) => (b.rate > a.rate ? b : a));
  const edit = best(edits);
  const editParallel = best(editsParallel);
  await sampler.stop();
  await store.close();

  const ratio = (x: number) => Math.round((x / baseline.cpuRate) * 100) / 100;
  const wallRatio = (x: number) => Math.round((x / baseline.rate) * 100) / 100;
  process.stdout.write(
    `  load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores\n` +
    `  ratios to the baseline scan (CPU): compute ${ratio(compute.cpuRate)}x, first ${ratio(first.cpuRate)}x, unchanged ${ratio(unchanged.cpuRate)}x, edited ${ratio(edit.cpuRate)}x\n` +
      `  ratios to the baseline scan (wall): edited ${wallRatio(edit.rate)}x, edited with ${WORKERS} workers ${wallRatio(editParallel.rate)}x (${(editParallel.rate / edit.rate).toFixed(2)}x one thread; rounds ${edits.map((e) => e.rate).join(', ')} vs ${editsParallel.map((e) => e.rate).join(', ')} records/s)\n` +
      `  small edit: ${smallEdit.value.changed} changed, ${smallEdit.rate} records/s in one thread, ${smallEditParallel.rate} with ${WORKERS} workers\n` +
      `  first: ${first.value.changed} changed; unchanged: ${unchanged.value.changed} changed; edited: ${edit.value.changed} changed, ${edit.value.unaffected} untouched by the edit (${edit.value.tagsAdded} tags added, ${edit.value.tagsRemoved} removed); edited with workers: ${editParallel.value.changed} changed\n`,
  );
  const target = 20_000;
  const verdict = (x: { rate: number; cpuRate: number }) => `${x.rate >= target ? 'met' : 'missed'} wall, ${x.cpuRate >= target ? 'met' : 'missed'} CPU`;
  process.stdout.write(
    `  target >= ${target} records/s: compute ${verdict(compute)}; unchanged ${verdict(unchanged)}; edited ${verdict(edit)}; edited with ${WORKERS} workers ${editParallel.rate >= target ? 'met' : 'missed'} wall; ` +
      `small edit ${verdict(smallEdit)}, with ${WORKERS} workers ${smallEditParallel.rate >= target ? 'met' : 'missed'} wall; first ${verdict(first)}\n`,
  );
  recordResult('retag', {
    records: N,
    rules: 50,
    loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
    baselineRecordsPerSec: baseline.rate,
    computeRecordsPerSec: compute.rate,
    firstRecordsPerSec: first.rate,
    unchangedRecordsPerSec: unchanged.rate,
    editedRecordsPerSec: edit.rate,
    editedParallelRecordsPerSec: editParallel.rate,
    smallEditRecordsPerSec: smallEdit.rate,
    smallEditParallelRecordsPerSec: smallEditParallel.rate,
    smallEditChanged: smallEdit.value.changed,
    retagWorkers: WORKERS,
    hostComputeMs: host.computeMs,
    hostPageFaultUs: host.pageFaultUs,
    hostComputeScaling: host.computeScaling,
    hostAllocateScaling: host.allocateScaling,
    editedParallelVsOneThread: Math.round((editParallel.rate / edit.rate) * 100) / 100,
    baselineRecordsPerCpuSec: baseline.cpuRate,
    computeRecordsPerCpuSec: compute.cpuRate,
    firstRecordsPerCpuSec: first.cpuRate,
    unchangedRecordsPerCpuSec: unchanged.cpuRate,
    editedRecordsPerCpuSec: edit.cpuRate,
    computeVsBaselineCpu: ratio(compute.cpuRate),
    firstVsBaselineCpu: ratio(first.cpuRate),
    unchangedVsBaselineCpu: ratio(unchanged.cpuRate),
    editedVsBaselineCpu: ratio(edit.cpuRate),
    firstChanged: first.value.changed,
    editedChanged: edit.value.changed,
    editedUnaffected: edit.value.unaffected,
    peakRssMbFirst: first.peakMb,
    peakRssMbUnchanged: unchanged.peakMb,
    peakRssMbEdited: edit.peakMb,
    peakRssMbEditedParallel: editParallel.peakMb,
    rssByQuarterFirst: first.quarterMb.join('/'),
  });
}

await main();
