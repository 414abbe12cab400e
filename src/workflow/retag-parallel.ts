import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StoreError, type Config } from '../core/index.js';
import type { OpenStoreOptions } from '../store/open-store.js';
import { selectionOf, type SearchQuery } from '../store/index.js';
import type { TaggingSetupOptions } from '../tagging/index.js';
import { retagRecords, type RetagOptions, type RetagSummary } from './retag.js';

/** Below this many records one thread finishes before worker threads would have started. */
export const MIN_RECORDS_PER_WORKER = 2_000;

/** What a worker thread needs to re-tag its shard: plain data only. */
export interface RetagWorkerJob {
  store: Omit<OpenStoreOptions, 'logger'>;
  setup: TaggingSetupOptions;
  config: Config;
  shard: { index: number; count: number };
  earlier?: TaggingSetupOptions[];
  query?: SearchQuery;
  dryRun?: boolean;
  force?: boolean;
  batchSize?: number;
  /**
   * Set to 1 to stop the worker before its next record. Shared memory, not a message: the worker's pass runs
   * without returning to its event loop (SQLite and tagging are synchronous), so a message would wait for it.
   */
  stop: SharedArrayBuffer;
}

export type RetagWorkerMessage =
  | { type: 'progress'; seen: number }
  | { type: 'done'; summary: RetagSummary }
  | { type: 'error'; message: string; code?: string };

export interface ParallelRetagOptions extends Omit<RetagOptions, 'signal'> {
  signal?: AbortSignal;
  /** Worker threads wanted (`[Concurrency] Cpu`); 1 keeps retag in this thread. */
  workers: number;
  /** How the workers open the same library (their own connections). */
  storeOptions: Omit<OpenStoreOptions, 'logger'>;
}

/**
 * `retagRecords` over several threads: tagging is CPU-bound and a rule edit re-evaluates every record, so each
 * worker takes one shard of the library (`VideoStore.iterate` with `shard`) through its own connection and
 * writes its own batches. Runs in this thread when one worker is asked for, the store cannot shard, plugin
 * taggers are loaded (they live in this thread), the query picks a sorted or limited selection (a search's pages,
 * which do not split into shards), or the match is too small to be worth starting threads.
 */
export async function retagInParallel(options: ParallelRetagOptions): Promise<RetagSummary> {
  const { store, workers } = options;
  const plugins = options.pluginTaggers ?? [];
  if (workers <= 1 || !store.shards || plugins.length > 0 || options.shard || selectionOf(options.query ?? {})) return retagRecords(options);
  const total = await store.count(options.query ?? {});
  const count = Math.min(workers, Math.floor(total / MIN_RECORDS_PER_WORKER));
  if (count <= 1) return retagRecords(options);
  return runWorkers(options, count);
}

async function runWorkers(options: ParallelRetagOptions, count: number): Promise<RetagSummary> {
  const started = Date.now();
  const seen = new Array<number>(count).fill(0);
  const threads: Worker[] = [];
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const stopAll = () => Atomics.store(stop, 0, 1);
  if (options.signal?.aborted) stopAll();
  options.signal?.addEventListener('abort', stopAll, { once: true });
  // workers never search, so they open no search replica
  const { replicaDir: _replicaDir, ...workerStore } = options.storeOptions;
  try {
    const settled = await Promise.allSettled(
      Array.from({ length: count }, (_, index) => {
        const job: RetagWorkerJob = {
          store: workerStore,
          setup: options.setup.options,
          config: options.config,
          shard: { index, count },
          stop: stop.buffer as SharedArrayBuffer,
          ...(options.query ? { query: options.query } : {}),
          ...(options.earlier?.length ? { earlier: [...options.earlier] } : {}),
          ...(options.dryRun ? { dryRun: true } : {}),
          ...(options.force ? { force: true } : {}),
          ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        };
        const worker = spawnRetagWorker(job);
        threads.push(worker);
        return new Promise<RetagSummary>((resolve, reject) => {
          let settled = false;
          worker.on('message', (m: RetagWorkerMessage) => {
            if (m.type === 'progress') {
              seen[index] = m.seen;
              options.onProgress?.(seen.reduce((a, b) => a + b, 0));
            } else if (m.type === 'done') {
              settled = true;
              resolve(m.summary);
            } else {
              settled = true;
              reject(new StoreError(`retag worker ${index + 1} of ${count}: ${m.message}`));
            }
          });
          worker.on('error', (err) => {
            settled = true;
            reject(new StoreError(`retag worker ${index + 1} of ${count} crashed: ${err.message}`, { cause: err }));
          });
          worker.on('exit', (code) => {
            if (!settled) reject(new StoreError(`retag worker ${index + 1} of ${count} exited (code ${code}) before it finished`));
          });
        }).catch((err: unknown) => {
          // the others stop at their next record and write what they have: nothing done is lost
          stopAll();
          throw err;
        });
      }),
    );
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    const summaries = settled.map((r) => (r as PromiseFulfilledResult<RetagSummary>).value);
    const summary = mergeSummaries(summaries, Date.now() - started);
    for (const f of summary.failed) options.logger.warn({ video: f.id, err: f.error }, 'retag failed');
    options.onProgress?.(summary.seen);
    return summary;
  } finally {
    options.signal?.removeEventListener('abort', stopAll);
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

function mergeSummaries(parts: readonly RetagSummary[], ms: number): RetagSummary {
  const out: RetagSummary = { seen: 0, upToDate: 0, changed: 0, unaffected: 0, tagsAdded: 0, tagsRemoved: 0, categoriesAdded: 0, categoriesRemoved: 0, failed: [], ms };
  for (const p of parts) {
    out.seen += p.seen;
    out.upToDate += p.upToDate;
    out.changed += p.changed;
    out.unaffected += p.unaffected;
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
