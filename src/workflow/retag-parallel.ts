import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StoreError, type Config } from '../core/index.js';
import type { OpenStoreOptions } from '../store/open-store.js';
import { selectionOf, type SearchQuery } from '../store/index.js';
import type { TaggingSetupOptions } from '../tagging/index.js';
import { retagRecords, type Part, type RetagOptions, type RetagSummary } from './retag.js';

/** Below this many records one thread finishes before worker threads would have started. */
export const MIN_RECORDS_PER_WORKER = 2_000;

/**
 * The memory a parallel pass shares between its threads: the stop flag, the next part to take, and the records
 * each worker thread has seen. Shared memory, not messages: a pass runs without returning to its event loop
 * (SQLite and tagging are synchronous), so a message would wait for the pass to end.
 */
const STOP = 0;
const NEXT_PART = 1;
const SEEN = 2;

/**
 * Parts the library is split into per thread. The threads take parts one at a time, so one that started sooner
 * (this thread, while the workers load) or runs faster takes more, and all finish within about one part of each
 * other. Smaller parts balance better, but each part walks the whole id index once: 16 a thread cost about 3% of
 * a pass over 100k records (measured on SQLite) and leave at most a few hundred milliseconds of imbalance.
 */
const PARTS_PER_THREAD = 16;

/** The pass's stop flag as `retagRecords` reads it, before each record. */
function stopSignal(shared: Int32Array): { readonly aborted: boolean } {
  return {
    get aborted() {
      return Atomics.load(shared, STOP) === 1;
    },
  };
}

/** The next part of the split into `parts` that no thread has taken yet, or null when none is left or the pass stops. */
export function partClaimer(shared: Int32Array, parts: number): () => Part | null {
  return () => {
    if (Atomics.load(shared, STOP) === 1) return null;
    const index = Atomics.add(shared, NEXT_PART, 1);
    return index < parts ? { index, count: parts } : null;
  };
}

/** What a worker thread needs to re-tag its parts: plain data only. */
export interface RetagWorkerJob {
  store: Omit<OpenStoreOptions, 'logger'>;
  setup: TaggingSetupOptions;
  config: Config;
  /** This worker's number (its slot in `shared`'s seen counts). */
  index: number;
  /** The split the parts are taken from. */
  parts: number;
  /** See STOP, NEXT_PART, SEEN. */
  shared: SharedArrayBuffer;
  earlier?: TaggingSetupOptions[];
  query?: SearchQuery;
  dryRun?: boolean;
  force?: boolean;
  batchSize?: number;
}

export type RetagWorkerMessage = { type: 'done'; summary: RetagSummary } | { type: 'error'; message: string; code?: string };

/** A worker's view of the pass: when to stop, which part to take next, where to count what it has seen. */
export function workerPass(job: RetagWorkerJob): { signal: { readonly aborted: boolean }; claimShard: () => Part | null; onProgress: (seen: number) => void; stop: () => void } {
  const shared = new Int32Array(job.shared);
  return {
    signal: stopSignal(shared),
    claimShard: partClaimer(shared, job.parts),
    onProgress: (seen) => Atomics.store(shared, SEEN + job.index, seen),
    // a failing worker stops the others at their next record: the pass ends with its error
    stop: () => Atomics.store(shared, STOP, 1),
  };
}

export interface ParallelRetagOptions extends Omit<RetagOptions, 'signal'> {
  signal?: AbortSignal;
  /** Threads wanted (`[Concurrency] Cpu`), this one included; 1 keeps retag in this thread alone. */
  workers: number;
  /** How the workers open the same library (their own connections). */
  storeOptions: Omit<OpenStoreOptions, 'logger'>;
}

/**
 * `retagRecords` over several threads: tagging is CPU-bound and a rule edit re-evaluates every record, so this
 * thread and `workers - 1` worker threads share the pass, each taking parts of the library (`VideoStore.iterate`
 * shards) through its own connection and writing its own batches. This thread starts at once, while the
 * workers load. Runs in this thread alone when one worker is asked for, the store cannot shard, plugin taggers
 * are loaded (they live in this thread), the query picks a sorted or limited selection (a search's pages, which
 * do not split into shards), or the match is too small to be worth starting threads.
 */
export async function retagInParallel(options: ParallelRetagOptions): Promise<RetagSummary> {
  const { store, workers } = options;
  const plugins = options.pluginTaggers ?? [];
  if (workers <= 1 || !store.shards || plugins.length > 0 || options.claimShard || selectionOf(options.query ?? {})) return retagRecords(options);
  const total = await store.count(options.query ?? {});
  const count = Math.min(workers, Math.floor(total / MIN_RECORDS_PER_WORKER));
  if (count <= 1) return retagRecords(options);
  return runThreads(options, count);
}

async function runThreads(options: ParallelRetagOptions, count: number): Promise<RetagSummary> {
  const started = Date.now();
  const spawned = count - 1;
  const shared = new Int32Array(new SharedArrayBuffer(4 * (SEEN + spawned)));
  const parts = PARTS_PER_THREAD * count;
  const stopAll = () => Atomics.store(shared, STOP, 1);
  if (options.signal?.aborted) stopAll();
  options.signal?.addEventListener('abort', stopAll, { once: true });
  let ownSeen = 0;
  const progress = () => {
    let n = ownSeen;
    for (let i = 0; i < spawned; i++) n += Atomics.load(shared, SEEN + i);
    options.onProgress?.(n);
  };
  // workers never search, so they open no search replica; this thread's store checkpoints the file they write
  const { replicaDir: _replicaDir, ...rest } = options.storeOptions;
  const workerStore: typeof rest = rest.backend === 'sqlite' ? { ...rest, checkpoints: 'others' } : rest;
  const threads: Worker[] = [];
  let ticker: NodeJS.Timeout | null = null;
  try {
    const workerRuns = Array.from({ length: spawned }, (_, index) => {
      const job: RetagWorkerJob = {
        store: workerStore,
        setup: options.setup.options,
        config: options.config,
        index,
        parts,
        shared: shared.buffer as SharedArrayBuffer,
        ...(options.query ? { query: options.query } : {}),
        ...(options.earlier?.length ? { earlier: [...options.earlier] } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.force ? { force: true } : {}),
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      };
      const worker = spawnRetagWorker(job);
      threads.push(worker);
      const name = `retag worker ${index + 1} of ${spawned}`;
      const run = new Promise<RetagSummary>((resolve, reject) => {
        let settled = false;
        worker.on('message', (m: RetagWorkerMessage) => {
          settled = true;
          if (m.type === 'done') resolve(m.summary);
          else reject(new StoreError(`${name}: ${m.message}`));
        });
        worker.on('error', (err) => {
          settled = true;
          reject(new StoreError(`${name} crashed: ${err.message}`, { cause: err }));
        });
        worker.on('exit', (code) => {
          if (!settled) reject(new StoreError(`${name} exited (code ${code}) before it finished`));
        });
      }).catch((err: unknown) => {
        // the others stop at their next record and write what they have: nothing done is lost
        stopAll();
        throw err;
      });
      // awaited below on every path but a failed start of a later worker, where it must not go unhandled
      run.catch(() => undefined);
      return run;
    });
    // this thread's share, while the workers start; its own progress carries theirs, which it cannot hear meanwhile
    let own: RetagSummary;
    try {
      own = await retagRecords({
        ...options,
        signal: stopSignal(shared),
        claimShard: partClaimer(shared, parts),
        onProgress: (seen) => {
          ownSeen = seen;
          progress();
        },
      });
    } catch (err) {
      stopAll();
      await Promise.allSettled(workerRuns);
      throw err;
    }
    // then the workers' progress, until the last one is done
    if (options.onProgress) ticker = setInterval(progress, 200);
    const settled = await Promise.allSettled(workerRuns);
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    const summaries = [own, ...settled.map((r) => (r as PromiseFulfilledResult<RetagSummary>).value)];
    const summary = mergeSummaries(summaries, Date.now() - started);
    // this thread's failures were logged as they happened; the workers log nowhere
    for (const f of summaries.slice(1).flatMap((s) => s.failed)) options.logger.warn({ video: f.id, err: f.error }, 'retag failed');
    options.onProgress?.(summary.seen);
    return summary;
  } finally {
    if (ticker) clearInterval(ticker);
    options.signal?.removeEventListener('abort', stopAll);
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

function mergeSummaries(parts: readonly RetagSummary[], ms: number): RetagSummary {
  const out: RetagSummary = { seen: 0, upToDate: 0, changed: 0, same: 0, unaffected: 0, skipped: 0, tagsAdded: 0, tagsRemoved: 0, categoriesAdded: 0, categoriesRemoved: 0, failed: [], ms };
  for (const p of parts) {
    out.seen += p.seen;
    out.upToDate += p.upToDate;
    out.changed += p.changed;
    out.same += p.same;
    out.unaffected += p.unaffected;
    out.skipped += p.skipped;
    out.tagsAdded += p.tagsAdded;
    out.tagsRemoved += p.tagsRemoved;
    out.categoriesAdded += p.categoriesAdded;
    out.categoriesRemoved += p.categoriesRemoved;
    out.failed.push(...p.failed);
  }
  return out;
}

/**
 * The worker thread: the compiled module next to this one, or, when videodex runs from its TypeScript sources
 * (tsx, the tests), the source module behind tsx's loader, which a worker does not inherit.
 */
function spawnRetagWorker(job: RetagWorkerJob): Worker {
  const compiled = new URL('./retag-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData: job });
  const source = new URL('./retag-worker.ts', import.meta.url);
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json')));
  const entry = `(await import(${JSON.stringify(tsx.href)})).register();\nawait import(${JSON.stringify(source.href)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(entry)}`), { workerData: job });
}
