import path from 'node:path';
import { configWith, createLogger, type Video } from '../../src/core/index.js';
import { SqliteStore, type SearchQuery, type VideoStore } from '../../src/store/index.js';
import type { TaggingSetup } from '../../src/tagging/index.js';
import { createClassifyStage, createTagStage, retagRecords, type RetagSummary } from '../../src/workflow/index.js';
import { tempDir } from '../helpers/media.js';

const config = configWith();
const logger = createLogger({ file: null, level: 'silent', secrets: [] });

/** Every record of a store, in its order. */
export async function allRecords(store: VideoStore): Promise<Video[]> {
  const out: Video[] = [];
  for await (const v of store.iterate()) out.push(v);
  return out;
}

/** A record without what differs between two runs of the same retag: the times. */
export function comparable(v: Video): unknown {
  const stages = Object.fromEntries(Object.entries(v.stages).map(([k, e]) => [k, { ...e, at: '' }]));
  return { ...v, stages, updatedAt: '' };
}

/** `retagRecords` in one thread with `setup`, given the setups the records may have been tagged with (newest first). */
export function retagWith(store: VideoStore, setup: TaggingSetup, earlier: TaggingSetup[] = [], extra: { force?: boolean; query?: SearchQuery } = {}): Promise<RetagSummary> {
  return retagRecords({ store, config, logger, setup, tagStage: createTagStage(setup), classifyStage: createClassifyStage(setup), earlier: earlier.map((e) => e.options), ...extra });
}

/** What a retag counted, as recomputing everything would count it: a record left alone as unaffected comes out the same. */
export const counts = ({ ms: _ms, unaffected, same, ...rest }: RetagSummary) => ({ ...rest, same: same + unaffected });

/**
 * Two SQLite libraries holding the same records in a temporary folder: one retagged with the earlier setups
 * (`inc`), one recomputed from scratch (`full`).
 */
export async function twoLibraries(prefix: string, records: readonly Video[]): Promise<{ dir: string; inc: SqliteStore; full: SqliteStore; close(): Promise<void> }> {
  const t = tempDir(prefix);
  const inc = new SqliteStore(path.join(t.dir, 'inc.db'));
  const full = new SqliteStore(path.join(t.dir, 'full.db'));
  for (const s of [inc, full]) {
    await s.migrate();
    await s.upsertMany(records);
  }
  return {
    dir: t.dir,
    inc,
    full,
    async close() {
      await inc.close();
      await full.close();
      t.cleanup();
    },
  };
}
