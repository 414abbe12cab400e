/**
 * One retag worker thread (see retag-parallel.ts): opens its own connection to the library, builds the tagging
 * setup from the same options, and re-tags the parts of the records it takes with the single-threaded
 * `retagRecords`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../core/index.js';
import { openStore } from '../store/open-store.js';
import { createTaggingSetup } from '../tagging/index.js';
import { createClassifyStage } from './stages/classify-stage.js';
import { createTagStage } from './stages/tag-stage.js';
import { retagRecords } from './retag.js';
import { workerPass, type RetagWorkerJob, type RetagWorkerMessage } from './retag-parallel.js';

const job = workerData as RetagWorkerJob;
const port = parentPort!;
const post = (m: RetagWorkerMessage) => port.postMessage(m);
const pass = workerPass(job);

try {
  const store = await openStore(job.store);
  try {
    await store.migrate(); // already current (the main thread migrated): only this connection's own set-up
    const setup = createTaggingSetup(job.setup);
    const summary = await retagRecords({
      store,
      config: job.config,
      // failures come back in the summary and the main thread logs them, so one log file has one writer
      logger: createLogger({ file: null, level: 'silent', secrets: [] }),
      setup,
      tagStage: createTagStage(setup),
      classifyStage: createClassifyStage(setup),
      claimShard: pass.claimShard,
      signal: pass.signal,
      onProgress: pass.onProgress,
      ...(job.query ? { query: job.query } : {}),
      ...(job.earlier ? { earlier: job.earlier } : {}),
      ...(job.dryRun ? { dryRun: true } : {}),
      ...(job.force ? { force: true } : {}),
      ...(job.batchSize ? { batchSize: job.batchSize } : {}),
    });
    post({ type: 'done', summary });
  } finally {
    await store.close();
  }
} catch (err) {
  pass.stop();
  post({ type: 'error', message: err instanceof Error ? err.message : String(err), ...((err as { code?: string }).code ? { code: (err as { code: string }).code } : {}) });
}
