import { StoreError, type Video } from '../core/index.js';
import type { SearchQuery, SearchResult } from './search-query.js';

/**
 * Records per transaction for bulk writes (`db copy`, a store's own rewrite). Every record touches a dozen
 * B-tree indexes keyed by random ids; a bigger transaction shares their pages between more records and writes
 * each once. Loading 100k records into SQLite: 2.0k/s in 500s, 3.5k/s in 2000s, 4.2k/s in 5000s (with the
 * checkpoint thread). A batch of 5000 records holds about 50 MB of JavaScript objects.
 */
export const BULK_WRITE_BATCH = 5000;

/** Acquisition log rows per page of `iterateInputs` and per write of `db copy` (a row is a few hundred bytes). */
export const INPUTS_PAGE = 1000;

/** One row of the acquisition log: what happened to one input. */
export interface InputRecord {
  key: string;
  status: 'done' | 'failed';
  videoId: string | null;
  attempts: number;
  bytes: number | null;
  error: string | null;
  errorCode: string | null;
  /** For local inputs: size and mtime when hashed, so an unchanged file is not read again. */
  fileSize: number | null;
  fileMtimeMs: number | null;
  /** The list file the input came from, if any. */
  listFile: string | null;
  updatedAt: string;
}

/** How `upsert` and `upsertMany` write. */
export interface WriteOptions {
  /** The records' hand edits as given, not as stored: for a copy of another library (`db copy`, the search replica). */
  mirror?: boolean;
}

export interface IterateOptions {
  /** Part `index` (from 0) of `count`. */
  shard?: { index: number; count: number };
}

/** The shard asked of `iterate`, checked: a bad one would silently skip or repeat records. */
export function checkedShard(options: IterateOptions): IterateOptions['shard'] {
  const shard = options.shard;
  if (shard && !(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
    throw new StoreError(`iterate: no shard ${shard.index} of ${shard.count}`);
  }
  return shard;
}

/** A `TagUpdate` a store worked out ahead of its write (`VideoStore.prepareTagUpdate`). */
export interface PreparedTagUpdate {
  /** The store kind that prepared it: only that store's `updateTags` takes it. */
  readonly preparedFor: string;
}

/** One record as `retag` read it and the same record after re-tagging (see `VideoStore.updateTags`). */
export interface TagUpdate {
  before: Video;
  after: Video;
  /**
   * Tagging's view of `after` (`ruleSubjectView`, as JSON), for a store that keeps tag states (see
   * `VideoStore.iterateTagStates`): given when retag computed or checked `after`'s tag and classify entries
   * against the record itself.
   */
  tagState?: string;
}

/** A record's stages moved without reading it (its tag state said they may; see `iterateTagStates`). */
export interface StagesMove {
  id: string;
  stages: Video['stages'];
  /** The stages as stored when judged (`TagStateRow.storedStages`): the move applies only to that version. */
  was: string;
}

/**
 * A record's stages and tag state, as `iterateTagStates` shows them to its judge: `tagState` is null unless retag
 * checked the stored stages against the record and nothing else wrote the record since.
 */
export interface TagStateRow {
  id: string;
  stages: Video['stages'] | null;
  /** `stages` as stored, for a move to name the version it was judged on. */
  storedStages: string | null;
  tagState: string | null;
}

/** A record `iterateTagStates` visited: what the judge said of it, or, when it said nothing (null), the record read. */
export type TagStateVisit<T> = { id: string; judged: T; video?: undefined } | { id: string; judged: null; video: Video };

/**
 * Where records live. Every method throws StoreError on database failure (`retryable` for dropped
 * connections). Records are stored and returned whole; adapters keep their own indexes in step.
 */
/** Which library a store holds: an id made once with its database, and where that is (no secret), for messages. */
export interface LibraryIdentity {
  id: string;
  where: string;
}

export interface VideoStore {
  /** The backend's name, for doctor and logs. */
  readonly kind: string;
  /**
   * The library's identity: the same for every process and machine that opens this database, another for any
   * other database (a copy made by `db copy` too). Queue jobs carry it, so a worker never files a video into a
   * library other than the one it was queued for.
   */
  library(): Promise<LibraryIdentity>;
  /**
   * Optional: whether a videodex library is there (a schema or database `migrate` made), found without making
   * one, so a command that only reads stops on a mistyped schema instead of creating an empty library there.
   * Absent (SQLite): the caller checks the file.
   */
  hasLibrary?(): Promise<boolean>;
  /**
   * Optional: reads the whole database to find damage (SQLite's `PRAGMA quick_check`): the problems found, none
   * when it is sound. Slow on a large library (it reads every page), so only `doctor --check-db` asks.
   */
  checkIntegrity?(): Promise<string[]>;
  /** Creates or upgrades the schema; idempotent. */
  migrate(): Promise<void>;
  /**
   * Inserts or replaces the record, with its search index, atomically. A record already stored keeps its hand
   * edits (`extra[USER_TAGS_KEY]`, or their absence) whatever the copy holds, in the same write: only
   * `updateUserTags` changes them, so a writer holding an older copy (a `process` waiting on the model) cannot undo
   * an edit made meanwhile. With `mirror`, the copy's edits are written as given (`db copy`, the search replica: a
   * copy of another library, where the edits were made).
   */
  upsert(video: Video, options?: WriteOptions): Promise<void>;
  /**
   * Inserts or replaces many records in few round trips (bulk loads, `db copy`), keeping the stored hand edits as
   * `upsert` does. Each record is atomic; the batch need not be. Optional: callers fall back to `upsert` one by one.
   */
  upsertMany?(videos: readonly Video[], options?: WriteOptions): Promise<void>;
  /**
   * Changes a person's tag edits of one record (`extra[USER_TAGS_KEY]`) and its `updatedAt`, and nothing else of it,
   * atomically: `edit` is given the record as stored inside the write and answers the new edits (undefined: none).
   * A stage result another process stored since the caller read the record stays. The record's tag state (see
   * `iterateTagStates`) goes, so the next retag reads it. `edit` may be called more than once (a store that
   * retries on a concurrent write) and must not throw. Returns the record as written, null when there is none.
   */
  updateUserTags(id: string, edit: (stored: Video) => unknown, updatedAt: string): Promise<Video | null>;
  /**
   * The record as this store gives it back once written, when that is not the record itself: PostgreSQL holds
   * no U+0000 and no lone UTF-16 surrogate (see postgres-store.ts). `db copy` compares copied records with this.
   * Optional: the record as it is.
   */
  storedForm?(video: Video): Video;
  /**
   * Writes records that differ from what was read (`before`) only in `tags`, `categories`, `extra`, `stages`
   * and `updatedAt` (what `retag` changes): the record, and of the search index only what those fields feed
   * (tag and category labels, the tag text, the failed flag), in one transaction or round trip per call where
   * the backend allows. Far cheaper than `upsert` when a rule edit rewrites every record. A record deleted
   * since it was read is skipped, not re-created. With `wait: false`, a store whose writers take turns (SQLite)
   * writes nothing and answers false when another holds the write lock, so the caller can go on and try again
   * later. Optional: callers fall back to `upsertMany`.
   */
  updateTags?(changes: ReadonlyArray<TagUpdate | PreparedTagUpdate>, moves?: readonly StagesMove[], options?: { wait?: boolean }): Promise<boolean | void>;
  /**
   * What `updateTags` will write for `update`, worked out at once (the JSON, the label changes), keeping none of
   * its records: a caller holding a batch of updates until they are written then holds strings, not records.
   * Only this store's `updateTags` takes the result. Optional.
   */
  prepareTagUpdate?(update: TagUpdate): PreparedTagUpdate;
  /**
   * Every record (in the parts `shard` splits them into, `iterate`'s split) by its stages and tag state alone:
   * `judge` sees each, and only the records it says nothing of (null) are read. A store that has it keeps the
   * `tagState` given with an update beside the stages written with it, drops it whenever the record is written
   * otherwise, writes `moves` (given to `updateTags`) only to records whose stages are still as judged, and an
   * update's tag state only while the record's document is still the one it handed out. Retag
   * then checks a record that nothing else wrote since it last re-tagged it without reading it. Optional.
   */
  iterateTagStates?<T>(judge: (row: TagStateRow) => T | null, options?: IterateOptions): AsyncIterable<TagStateVisit<T>>;
  /**
   * Prepares what a long-lived process searches with (SQLite: the in-memory column copy), so its first users do
   * not wait for it. `serve` calls it before listening. Optional: a store without such state has nothing to do.
   */
  warm?(): Promise<void>;
  /** The record, or null. */
  get(id: string): Promise<Video | null>;
  /** Records whose file path is this path. */
  findByPath(path: string): Promise<Video[]>;
  /** Matching records, ranked, with facets over the whole match. */
  search(query: SearchQuery): Promise<SearchResult>;
  /**
   * Streams every matching record in a stable order, holding only a page in memory. With `shard`, only the
   * records of that part of a split into `count` parts (stores with `shards`), so processes can share a pass.
   */
  iterate(query?: SearchQuery, options?: IterateOptions): AsyncIterable<Video>;
  /** Whether `iterate` takes a shard: the parts of a split never overlap and together hold every record. */
  readonly shards?: boolean;
  /** Number of matching records. */
  count(query?: SearchQuery): Promise<number>;
  /** Removes the record; true when it existed. */
  delete(id: string): Promise<boolean>;
  /** The acquisition log row of an input, or null. */
  getInput(key: string): Promise<InputRecord | null>;
  /** Inserts or replaces an acquisition log row. */
  putInput(row: InputRecord): Promise<void>;
  /** Acquisition log rows, optionally only one status. */
  listInputs(status?: InputRecord['status']): Promise<InputRecord[]>;
  /**
   * Every acquisition log row in key order (this store's order), after `afterKey` when given, holding only a page
   * in memory: what `db copy` reads a log of millions of rows with. Optional: callers fall back to `listInputs`.
   */
  iterateInputs?(options?: { afterKey?: string }): AsyncIterable<InputRecord>;
  /** Inserts or replaces many acquisition log rows in few round trips. Optional: callers fall back to `putInput`. */
  putInputs?(rows: readonly InputRecord[]): Promise<void>;
  /** Number of acquisition log rows. Optional: callers count `iterateInputs`. */
  countInputs?(): Promise<number>;
  close(): Promise<void>;
}
