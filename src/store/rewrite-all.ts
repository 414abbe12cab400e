import type { Video } from '../core/index.js';
import { BULK_WRITE_BATCH, type VideoStore } from './video-store.js';

/**
 * Writes every record of the store back through its own upsert, in batches: how an adapter rebuilds derived
 * search fields when their format changes. Holds one batch in memory at a time.
 */
export async function rewriteAll(store: Pick<VideoStore, 'iterate'> & { upsertMany(videos: readonly Video[]): Promise<void> }, batchSize = BULK_WRITE_BATCH): Promise<number> {
  let batch: Video[] = [];
  let n = 0;
  for await (const v of store.iterate()) {
    batch.push(v);
    if (batch.length >= batchSize) {
      await store.upsertMany(batch);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length) await store.upsertMany(batch);
  return n + batch.length;
}
