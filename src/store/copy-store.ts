import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, StoreError, type Video } from '../core/index.js';
import { BULK_WRITE_BATCH, INPUTS_PAGE, type InputRecord, type VideoStore } from './video-store.js';

export interface CopyProgress {
  copied: number;
  skipped: number;
  total: number;
  lastId: string | null;
}

export interface CopyOptions {
  /** Records per write (default `BULK_WRITE_BATCH`). */
  batchSize?: number;
  /** JSON file remembering the last id copied, so an interrupted copy resumes; removed on success. */
  checkpointFile?: string;
  onProgress?: (p: CopyProgress) => void;
  /** Records compared whole after the copy, spread over the library (default 100; 0 = counts only). */
  sample?: number;
}

export interface CopyReport {
  copied: number;
  /** Records skipped because an earlier run already copied them. */
  resumedAfter: number;
  sourceCount: number;
  targetCount: number;
  inputs: number;
  sampled: number;
}

interface Checkpoint {
  lastId: string;
  copied: number;
  /** The last acquisition log row copied, once the records are all copied. */
  lastInputKey?: string;
}

/** The acquisition log in the store's key order, a page at a time (listed whole only by a store that cannot page). */
async function* inputsOf(store: VideoStore, afterKey: string | undefined): AsyncIterable<InputRecord> {
  if (store.iterateInputs) {
    yield* store.iterateInputs({ afterKey });
    return;
  }
  for (const row of await store.listInputs()) if (afterKey === undefined || row.key > afterKey) yield row;
}

async function countInputs(store: VideoStore): Promise<number> {
  if (store.countInputs) return store.countInputs();
  let n = 0;
  for await (const _ of inputsOf(store, undefined)) n++;
  return n;
}

function readCheckpoint(file: string | undefined): Checkpoint | null {
  if (!file) return null;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
    return typeof c.lastId === 'string' && typeof c.copied === 'number' && (c.lastInputKey === undefined || typeof c.lastInputKey === 'string') ? c : null;
  } catch {
    return null;
  }
}

function writeCheckpoint(file: string, c: Checkpoint): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.part`, JSON.stringify(c));
  renameSync(`${file}.part`, file);
}

/**
 * Copies every record and acquisition-log row from one store to another, streaming in id order (both
 * stores iterate by id), writing in batches, checkpointing after each batch so a rerun resumes, and
 * verifying counts (and a sample of whole records) at the end. The target is migrated first.
 * Throws StoreError when the counts or the sample differ, ConfigError when the target is the source.
 */
/** Target records looked up in the source before a fresh copy writes anything (see `refuseOtherRecords`). */
const FOREIGN_SAMPLE = 100;

/**
 * A fresh copy into a target that holds records the source does not (another library's) merged both, then failed
 * the count check, leaving a target that was neither. Refused before anything is written (exit 3). Records the
 * source holds too (a copy started over with --no-resume) are fine: they are rewritten.
 */
async function refuseOtherRecords(from: VideoStore, to: VideoStore, where: string): Promise<void> {
  const held = await to.count();
  if (held === 0) return;
  let looked = 0;
  for await (const v of to.iterate()) {
    if ((await from.get(v.id)) === null) {
      throw new ConfigError(`db copy: the target ${where} already holds ${held} record(s), some not in the library being copied (e.g. ${v.id}); nothing was copied: copy into a new file, database or schema`);
    }
    if (++looked >= FOREIGN_SAMPLE) return;
  }
}

export async function copyStore(from: VideoStore, to: VideoStore, options: CopyOptions = {}): Promise<CopyReport> {
  const batchSize = options.batchSize ?? BULK_WRITE_BATCH;
  await to.migrate();
  // A target that is the source (the same file however its path is written, the same PostgreSQL schema) was
  // "copied" onto itself, every record rewritten, and reported verified: a backup that was not one.
  const [source, target] = await Promise.all([from.library(), to.library()]);
  if (source.id === target.id) {
    // a --to that names the source is a mistake in what was asked, as a flag value the command refuses (exit 3),
    // not a store that failed (exit 4)
    throw new ConfigError(`db copy: the target ${target.where} is the library being copied (${source.where}), or a copy of its files (the same library id); nothing was copied`);
  }
  const total = await from.count();
  const checkpoint = readCheckpoint(options.checkpointFile);
  if (!checkpoint) await refuseOtherRecords(from, to, target.where);
  const resumeAfter = checkpoint?.lastId ?? null;
  let copied = checkpoint?.copied ?? 0;
  let skipped = 0;
  let batch: Video[] = [];
  let lastId: string | null = resumeAfter;
  const write = async (): Promise<void> => {
    if (batch.length === 0) return;
    // the records as the library holds them, hand edits too: a target written before (a copy started over) keeping
    // the edits it had would differ from the library, and the sample check failed the copy
    if (to.upsertMany) await to.upsertMany(batch, { mirror: true });
    else for (const v of batch) await to.upsert(v, { mirror: true });
    copied += batch.length;
    lastId = batch.at(-1)!.id;
    batch = [];
    if (options.checkpointFile) writeCheckpoint(options.checkpointFile, { lastId, copied });
    options.onProgress?.({ copied, skipped, total, lastId });
  };
  const resumeInputsAfter = checkpoint?.lastInputKey;
  for await (const v of from.iterate()) {
    if (resumeAfter !== null && v.id <= resumeAfter) {
      skipped++;
      continue;
    }
    batch.push(v);
    if (batch.length >= batchSize) await write();
  }
  await write();

  // Streamed in pages and written in batches: a log of millions of rows, read whole, took the memory of all of them
  // at once, and a write per row took a commit each.
  let rows: InputRecord[] = [];
  const writeInputs = async (): Promise<void> => {
    if (rows.length === 0) return;
    if (to.putInputs) await to.putInputs(rows);
    else for (const row of rows) await to.putInput(row);
    const lastInputKey = rows.at(-1)!.key;
    rows = [];
    // (a library with no records has no checkpoint to resume from: its log is copied again, rewriting the same rows)
    if (options.checkpointFile && lastId !== null) writeCheckpoint(options.checkpointFile, { lastId, copied, lastInputKey });
  };
  for await (const row of inputsOf(from, resumeInputsAfter)) {
    rows.push(row);
    if (rows.length >= INPUTS_PAGE) await writeInputs();
  }
  await writeInputs();

  const [sourceCount, targetCount, inputs, targetInputs] = await Promise.all([from.count(), to.count(), countInputs(from), countInputs(to)]);
  if (sourceCount !== targetCount) {
    let again = '';
    if (resumeAfter !== null && options.checkpointFile) {
      // Records the source gained while the copy was stopped, below the checkpoint's id, were skipped, and every
      // later run resumed after that id and failed the same way. Without the checkpoint the next run copies all.
      rmSync(options.checkpointFile, { force: true });
      again = '; this run resumed an earlier copy, and records the source gained in between were skipped: run it again to copy every record';
    }
    throw new StoreError(`db copy: counts differ after copying: source has ${sourceCount} records, target ${targetCount} (the target held other records, or the source changed during the copy)${again}`);
  }
  if (targetInputs < inputs) throw new StoreError(`db copy: acquisition log differs: source ${inputs} rows, target ${targetInputs}`);

  // Whole-record comparison of a sample spread over the id order.
  const sampleSize = Math.min(options.sample ?? 100, sourceCount);
  let sampled = 0;
  if (sampleSize > 0) {
    const step = Math.max(1, Math.floor(sourceCount / sampleSize));
    let i = 0;
    for await (const v of from.iterate()) {
      if (i++ % step !== 0) continue;
      const other = await to.get(v.id);
      // what the target can hold: a NUL a SQLite record kept is not a difference PostgreSQL could avoid
      const expected = to.storedForm ? to.storedForm(v) : v;
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(other)), JSON.parse(JSON.stringify(expected)))) {
        throw new StoreError(`db copy: ${v.id}: the copied record differs from the source`);
      }
      if (++sampled >= sampleSize) break;
    }
  }
  if (options.checkpointFile) rmSync(options.checkpointFile, { force: true });
  return { copied, resumedAfter: skipped, sourceCount, targetCount, inputs, sampled };
}
