import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, USER_TAGS_KEY, withUserTagsOf, type Video } from '../../core/index.js';
import type { Facets, SearchQuery, SearchResult } from '../search-query.js';
import { emptyFacets } from '../search-query.js';
import { checkedShard, INPUTS_PAGE, type InputRecord, type IterateOptions, type LibraryIdentity, type StagesMove, type PreparedTagUpdate, type TagStateRow, type TagStateVisit, type TagUpdate, type VideoStore, type WriteOptions } from '../video-store.js';
import { FACET_SIZE, hasFailedStage, highlight, INDEX_VERSION, indexFields, labelFields, nextCursor, onlyStagesMoved, sameList, planQuery, tagText, topFacet, type IndexFields, type QueryPlan } from '../query/index.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { refuseNewerLibrary } from '../newer-library.js';
import { FacetCache, type CountedMatch } from '../facet-cache.js';
import { SqliteColumnIndex, type ColumnPage } from './sqlite-column-index.js';
import { BACKSTOP_BYTES, WalCheckpointer, type CheckpointResult } from './wal-checkpointer.js';
import { BM25, sqliteRankedPlan, sqliteTextSplit, sqliteSearch, sqliteWhere, type Param, type SqliteRankedSql } from './sqlite-query.js';

type PageRow = { id: string; score: number; name: string; sort_duration: number; created: string; created_at: string; bytes: number };

/** The log's size past which the checkpoint thread makes it start over (see wal-checkpointer.ts). */
const WAL_LIMIT_BYTES = 128 << 20;

/**
 * Page size of a new library. A record's write touches a dozen B-trees keyed by random ids, and a bulk
 * transaction dirties most of their pages; with 16 KiB pages there are a quarter as many to look up, log and
 * copy back, and a tagged record (about 5 kB of JSON) fits in its page instead of spilling onto overflow pages
 * that every read follows. 100k records loaded at 5.3-5.9k/s against 3.9-4.2k/s with SQLite's 4 KiB (8 KiB:
 * 3.8-3.9k/s, two runs; 32 and 64 KiB no better than 16); see docs/stores.md.
 */
export const PAGE_SIZE = 16384;

/** How long a connection waits for another's lock before it reports "database is locked". */
const BUSY_TIMEOUT_MS = 10_000;
/** How long opening a library waits for another process's upgrade of it (see migrate). */
const MIGRATE_WAIT_MS = 30 * 60_000;

/**
 * Switches the file to WAL, waiting out another process that switches the same new file at that moment.
 * SQLite answers that race with an immediate SQLITE_BUSY and never calls the busy handler: the switch reads
 * page 1, then needs the write lock, and a connection that holds a read must not wait for a writer (the two
 * could wait on each other for ever). Starting over without the read finds the file switched, or gets the lock.
 */
function switchToWal(db: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw err;
    }
    // the constructor is synchronous, as SQLite's own busy wait is
    Atomics.wait(sleeper, 0, 0, pauseMs);
  }
}

/**
 * Refuses a SQLite file that holds tables but is not a videodex library (another program's database, given as
 * `--db` or `db copy --to` by mistake) before anything writes to it: opening it as a library switched it to WAL
 * and added videodex's tables, even for a search. Every library has `schema_migrations` from its first migrate
 * on, and a new file has no tables at all.
 */
function refuseForeignDatabase(db: Database.Database): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  if (tables.length === 0 || tables.includes('schema_migrations')) return;
  const shown = tables.length > 5 ? `${tables.slice(0, 5).join(', ')} and ${tables.length - 5} more` : tables.join(', ');
  throw new Error(`it is a SQLite database but not a videodex library (its tables: ${shown}); nothing was changed: give a videodex library or a new file`);
}

/**
 * What to do about a file whose pages are damaged (a disk fault, a copy taken mid-write without its -wal), which
 * SQLite only calls "database disk image is malformed".
 */
export const DAMAGED_LIBRARY_FIX = 'restore it from a backup; see "A damaged library" in docs/stores.md';
const damagedHint = (code: string): string => (code.startsWith('SQLITE_CORRUPT') ? ` (the library file is damaged: ${DAMAGED_LIBRARY_FIX})` : '');

/** Rows fetched past a text page, so the group of rows tied with its last score is nearly always among them. */
const TIE_SLACK = 64;
/** A row of video_text: the normalised title, tags, description and file name, as the FTS row was made from. */
type IndexedText = [title: string, tags: string, description: string, file: string];
const isSameText = (t: IndexedText, f: IndexFields) => t[0] === f.text.title && t[1] === f.text.tags && t[2] === f.text.description && t[3] === f.text.file;

/** A record's document and, when re-tagging wrote only them since, its stages (see migration 7). */
const DOC_COLUMNS = 'd.doc, s.stages';
const STAGES_JOIN = 'LEFT JOIN video_stages s ON s.id = d.id';
type DocRow = [doc: string, stages: string | null];

/** Label rows to delete and to insert; null when the ordered list is the same. */
interface LabelChange {
  gone: string[];
  added: string[];
}

/** A re-tagged record whose document changed: `tagText` when its labels (so its index text) changed too. */
type RecordWrite = {
  kind: 'record'; id: string; updatedAt: string; failed: 0 | 1; doc: string; stages: string | null; tagState: string | null; readDoc: string | null;
  tags: LabelChange | null; categories: LabelChange | null; actions: LabelChange | null; tagText: string | null;
};

/** What re-tagging writes for one record, worked out outside the write transaction. */
/** `readDoc`: the document as read, when this store handed it out; the write stands only while the document is still that. */
type TagWrite = { kind: 'stages'; id: string; stages: string; tagState: string | null; readDoc: string | null; failed: 0 | 1 | null } | RecordWrite;

function labelChange(was: readonly string[], now: readonly string[]): LabelChange | null {
  if (sameList(was, now)) return null;
  const old = new Set(was);
  const next = new Set(now);
  return { gone: was.filter((x) => !next.has(x)), added: now.filter((x) => !old.has(x)) };
}

function tagWrite({ before, after, tagState: given }: TagUpdate, readDoc: string | undefined): TagWrite {
  const failed = hasFailedStage(after) ? 1 : 0;
  // a tag state says the stages were checked against the document: only for a document this store handed out
  const tagState = given && readDoc !== undefined ? given : null;
  // any write stands only while the document is the one read: another process's write since (the model's new
  // answer, new metadata) must not be replaced by a copy re-tagged from the old one
  const checked = readDoc ?? null;
  if (onlyStagesMoved(before, after)) {
    return { kind: 'stages', id: after.id, stages: JSON.stringify(after.stages), tagState, readDoc: checked, failed: failed === (hasFailedStage(before) ? 1 : 0) ? null : failed };
  }
  // With a tag state the stages row is written too, and a record's stages are read from there while it exists (every
  // write that removes the row writes a whole document): the document leaves out its copy, 8% of its text.
  const write: TagWrite = {
    kind: 'record', id: after.id, updatedAt: after.updatedAt, failed, doc: JSON.stringify(tagState ? { ...after, stages: undefined } : after), stages: tagState ? JSON.stringify(after.stages) : null, tagState, readDoc: checked,
    tags: null, categories: null, actions: null, tagText: null,
  };
  if (before.tags === after.tags && before.categories === after.categories && before.ai === after.ai) return write; // labels untouched
  const was = labelFields(before);
  const now = labelFields(after);
  write.tags = labelChange(was.tags, now.tags);
  write.categories = labelChange(was.categories, now.categories);
  write.actions = labelChange(was.actions, now.actions);
  // the rest of the indexed text (title, description, file name) is what re-tagging does not change
  if (write.tags || write.categories) write.tagText = tagText(after, now);
  return write;
}

/** An update worked out ahead of its write (`prepareTagUpdate`): the strings to write, none of the records. */
class PreparedTagWrite implements PreparedTagUpdate {
  readonly preparedFor = 'sqlite';
  constructor(readonly write: TagWrite) {}
}

function recordOf([doc, stages]: DocRow, parsedStages?: Video['stages']): Video {
  const v = JSON.parse(doc) as Video;
  if (parsedStages) v.stages = parsedStages;
  else if (stages !== null) v.stages = JSON.parse(stages) as Video['stages'];
  return v;
}

/** The videos row of a record, from the named columns `upsertOne` builds. */
const INSERT_VIDEO_ROW = `INSERT INTO videos (id, path, title, source_kind, duration, width, height, fps, codec, bytes, has_audio, scene_count, failed, created_at, updated_at,
                           name, sort_duration, audio_codec, container, resolution, created, has_ai, has_description, has_metadata)
       VALUES (@id, @path, @title, @source_kind, @duration, @width, @height, @fps, @codec, @bytes, @has_audio, @scene_count, @failed, @created_at, @updated_at,
               @name, @sort_duration, @audio_codec, @container, @resolution, @created, @has_ai, @has_description, @has_metadata)`;
/** What an existing record's row takes from the new one (its rowid, which the FTS row is keyed on, stays). */
const UPDATE_VIDEO_ROW = `ON CONFLICT(id) DO UPDATE SET path = excluded.path, title = excluded.title, source_kind = excluded.source_kind,
         duration = excluded.duration, width = excluded.width, height = excluded.height, fps = excluded.fps, codec = excluded.codec,
         bytes = excluded.bytes, has_audio = excluded.has_audio, scene_count = excluded.scene_count, failed = excluded.failed,
         created_at = excluded.created_at, updated_at = excluded.updated_at, name = excluded.name, sort_duration = excluded.sort_duration,
         audio_codec = excluded.audio_codec, container = excluded.container, resolution = excluded.resolution, created = excluded.created,
         has_ai = excluded.has_ai, has_description = excluded.has_description, has_metadata = excluded.has_metadata`;

/**
 * The embedded default store: the record as JSON beside indexed columns, tag/category tables and an FTS5
 * table, all written in one transaction per upsert. WAL lets searches run while a process writes.
 */
export class SqliteStore implements VideoStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly columns: SqliteColumnIndex;
  private readonly columnMode: 'auto' | 'always' | 'off';
  private activeMask: Uint8Array | null = null;
  private collected: number[] | null = null;

  private readonly checkpointMode: 'thread' | 'inline' | 'others';
  /** Made on the first write (a process that only searches starts no thread). */
  private checkpointer: WalCheckpointer | null = null;
  private readonly walLimitBytes: number;

  /**
   * `columnIndex`: when searches without text are answered from the in-memory column copy (see
   * sqlite-column-index.ts). `auto` (default): from the second search on, so a one-shot CLI search never pays
   * for building it; `always`; `off`: always by SQL.
   * `checkpoints`: who copies the write-ahead log back into the database file. `thread` (default for files):
   * the process's checkpoint thread, after each write (see wal-checkpointer.ts); `inline`: SQLite's own, inside
   * the commit that passes 1000 pages; `others`: another connection of this process writing the same file (retag's
   * worker threads: the main thread's store), with SQLite's own at the backstop's size if the log still grows.
   * A worker thread's own checkpoint thread was a third thread copying the same log on two cores.
   * `rebuildEveryMs`: the shortest time between two rebuilds of the column copy after other processes wrote
   * (default 5 s, or ten times the last build's duration when longer).
   */
  constructor(
    readonly file: string,
    options: { columnIndex?: 'auto' | 'always' | 'off'; checkpoints?: 'thread' | 'inline' | 'others'; walLimitBytes?: number; rebuildEveryMs?: number } = {},
  ) {
    this.walLimitBytes = options.walLimitBytes ?? WAL_LIMIT_BYTES;
    this.columnMode = options.columnIndex ?? 'auto';
    this.checkpointMode = file === ':memory:' ? 'inline' : (options.checkpoints ?? 'thread');
    let opened: Database.Database | undefined;
    try {
      if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
      this.db = opened = new Database(file);
      // First: switching a new file to WAL needs a lock that another process opening it may hold.
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (file !== ':memory:') refuseForeignDatabase(this.db);
      // Before the first table and before WAL, the only time SQLite takes it (an existing library keeps its own).
      this.db.pragma(`page_size = ${PAGE_SIZE}`);
      switchToWal(this.db);
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      // The default 2 MB page cache thrashes once the label tables and sort indexes outgrow it (~10k records):
      // every upsert then touches a dozen B-tree pages on disk. 64 MB holds a 100k-record library's indexes.
      this.db.pragma('cache_size = -65536');
      // another connection's thread checkpoints the file: SQLite's own only at the backstop
      if (this.checkpointMode === 'others') this.db.pragma(`wal_autocheckpoint = ${Math.floor(BACKSTOP_BYTES / (this.db.pragma('page_size', { simple: true }) as number))}`);
      this.db.pragma('temp_store = MEMORY');
    } catch (err) {
      // a file refused after it was opened is let go, not held open by a store that was never made
      opened?.close();
      throw new StoreError(`cannot open SQLite database ${file}: ${(err as Error).message}${damagedHint(String((err as { code?: unknown }).code))}`, { cause: err });
    }
    this.columns = new SqliteColumnIndex(this.db, options.rebuildEveryMs);
    // The filters of a text query as a mask from the column copy, tested beside the MATCH (see rankedPage).
    this.db.function('vdx_in_mask', { deterministic: false }, (rowid: unknown) => (this.activeMask?.[rowid as number] ?? 0));
    this.db.function('vdx_collect', { deterministic: false }, (rowid: unknown) => (this.collected?.push(rowid as number), 1));
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** A prepared statement, cached by its SQL (queries are built from a small set of shapes). */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, st);
    }
    return st;
  }

  /** After each committed write: the checkpoint thread copies the log back soon, beside the next write. */
  private wrote(): void {
    if (this.checkpointMode !== 'thread') return;
    if (!this.checkpointer) {
      const pageSize = this.db.pragma('page_size', { simple: true }) as number;
      this.checkpointer = new WalCheckpointer(this.file, Math.max(1, Math.floor(this.walLimitBytes / pageSize)), () => {
        // the thread is gone: this connection checkpoints inside its commits again
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      });
      // A backstop only: the log still stays bounded if the thread falls behind. After a checkpoint has let the
      // log start over, its file is cut back to this size instead of keeping its largest.
      this.db.pragma(`wal_autocheckpoint = ${Math.floor(BACKSTOP_BYTES / pageSize)}`);
      this.db.pragma(`journal_size_limit = ${Math.min(this.walLimitBytes, 64 << 20)}`);
    }
    this.checkpointer.nudge();
  }

  /** Builds the column copy, the text index and the sort orders now (about 5 s at 100k records) instead of on the first searches. */
  async warm(): Promise<void> {
    if (this.columnMode === 'off') return;
    this.guard('warm', () => {
      if (this.columns.sync() && this.columns.syncText()) this.columns.prepare();
    });
  }

  /** The checkpoint thread's work on this file (tests and diagnostics); null before the first write. */
  get checkpoints(): { done: number; restarts: number; parked: number; failures: number; last: CheckpointResult | null } | null {
    const c = this.checkpointer;
    return c ? { done: c.done, restarts: c.restarts, parked: c.parked, failures: c.failures, last: c.last } : null;
  }

  private guard<T>(what: string, fn: () => T): T {
    if (!this.db.open) throw new StoreError(`SQLite ${this.file}: store is closed (${what})`);
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const code = (err as { code?: string }).code ?? '';
      throw new StoreError(`SQLite ${this.file}: ${what} failed: ${(err as Error).message}${damagedHint(code)}`, { cause: err, retryable: code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' });
    }
  }

  async migrate(): Promise<void> {
    this.guard('migrate', () => {
      // A step holds the write lock while it runs (seconds per 100k records; a reindex about a minute): another
      // process opening the library then waits for the upgrade, where the writes' 10 s ran out and it failed with
      // "database is locked". An up-to-date library takes no lock, so this costs nothing on every other start.
      this.db.pragma(`busy_timeout = ${MIGRATE_WAIT_MS}`);
      try {
        this.migrateNow();
      } finally {
        this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    });
  }

  private migrateNow(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    // before any step or reindex, so a library from a newer videodex is left exactly as it was
    const where = `SQLite ${this.file}`;
    refuseNewerLibrary(where, 'schema', (this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v, Math.max(...SQLITE_MIGRATIONS.map((m) => m.version)));
    if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get()) {
      refuseNewerLibrary(where, 'index format', (this.db.prepare("SELECT value FROM meta WHERE key = 'index_version'").get() as { value: string } | undefined)?.value, INDEX_VERSION);
    }
    const missing = () => {
      const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
      return SQLITE_MIGRATIONS.find((m) => !done.has(m.version));
    };
    // An up-to-date library (every start of every command) takes no lock: a search must not wait for a writer.
    if (missing()) {
      // Each step re-reads what is done under the write lock (BEGIN IMMEDIATE): two workers opening a new
      // library at once would otherwise both see a step as missing, and the second would run it again and fail.
      const step = this.db.transaction((): boolean => {
        const next = missing();
        if (!next) return false;
        this.db.exec(next.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(next.version, new Date().toISOString());
        return true;
      });
      while (step.immediate()) {
        // one step a transaction, so a long library upgrade does not hold the lock for all of them at once
      }
    }
    // in this order: the text table is the FTS index's content, and a reindex deletes FTS rows by that content
    this.fillTextIfPending();
    this.rebuildFtsIfPending();
    this.reindexIfStale();
  }

  /**
   * Work a migration left for the store (a marker key in meta): done once, under the write lock, by whichever
   * process gets there first; the others find the marker gone when the lock is theirs.
   */
  private onceIfMarked(key: string, work: () => void): void {
    const marked = () => this.db.prepare('SELECT 1 FROM meta WHERE key = ?').get(key) !== undefined;
    if (!marked()) return;
    this.db.transaction(() => {
      if (!marked()) return;
      work();
      this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
    }).immediate();
  }

  /** After schema 8, for a library older than schema 6: the FTS index built from the text table, once it is filled. */
  private rebuildFtsIfPending(): void {
    this.onceIfMarked('fts_rebuild_pending', () => this.db.prepare("INSERT INTO videos_fts(videos_fts) VALUES('rebuild')").run());
  }

  /** After schema 6: the text table's rows of the records written before it. */
  private fillTextIfPending(): void {
    this.onceIfMarked('video_text_pending', () => {
      const missing = this.db.prepare('SELECT v.rowid, d.doc FROM videos v JOIN video_docs d ON d.id = v.id WHERE NOT EXISTS (SELECT 1 FROM video_text t WHERE t.rowid = v.rowid)').raw().all() as Array<[number, string]>;
      for (const [rowid, doc] of missing) {
        const { text } = indexFields(JSON.parse(doc) as Video);
        this.stmt('INSERT INTO video_text (rowid, title, tags, description, file) VALUES (?, ?, ?, ?, ?)').run(rowid, text.title, text.tags, text.description, text.file);
      }
    });
  }

  /** Rebuilds the derived columns, label tables and FTS rows when the shared index format changed. */
  private reindexIfStale(): void {
    const current = () => (this.db.prepare("SELECT value FROM meta WHERE key = 'index_version'").get() as { value: string } | undefined)?.value === String(INDEX_VERSION);
    if (current()) return;
    this.db.transaction(() => {
      if (current()) return; // another process reindexed while this one waited for the lock
      const ids = (this.db.prepare('SELECT id FROM videos').all() as { id: string }[]).map((r) => r.id);
      const getDoc = this.db.prepare(`SELECT ${DOC_COLUMNS} FROM video_docs d ${STAGES_JOIN} WHERE d.id = ?`).raw();
      // the FTS rows rewritten even where the text is the same: the index itself may be new; the documents are the
      // stored ones, hand edits included (mirror: nothing to read back)
      for (const id of ids) this.upsertOne(recordOf(getDoc.get(id) as DocRow), true, true);
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('index_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(INDEX_VERSION));
    }).immediate();
  }

  async upsert(video: Video, options: WriteOptions = {}): Promise<void> {
    this.guard(`upsert ${video.id}`, () => this.db.transaction((v: Video) => this.upsertOne(v, false, options.mirror)).immediate(video));
    this.wrote();
  }

  /** One transaction for the batch: the fast path for bulk loads and `db copy`. */
  async upsertMany(videos: readonly Video[], options: WriteOptions = {}): Promise<void> {
    this.guard(`upsert ${videos.length} records`, () =>
      this.db.transaction((vs: readonly Video[]) => {
        for (const v of vs) this.upsertOne(v, false, options.mirror);
      }).immediate(videos),
    );
    this.wrote();
  }

  /**
   * Only the edit changes a person's tag edits (see `VideoStore.updateUserTags`): in one transaction, rather than
   * writing a whole copy read earlier, which replaced a stage result `process` stored in between.
   */
  async updateUserTags(id: string, edit: (stored: Video) => unknown, updatedAt: string): Promise<Video | null> {
    const written = this.guard(`edit the hand tags of ${id}`, () =>
      this.db.transaction(() => {
        const row = this.stmt(`SELECT ${DOC_COLUMNS} FROM video_docs d ${STAGES_JOIN} WHERE d.id = ?`).raw().get(id) as DocRow | undefined;
        if (!row) return null;
        const stored = recordOf(row);
        const next = edit(stored);
        const { [USER_TAGS_KEY]: _was, ...others } = stored.extra ?? {};
        const video: Video = { ...stored, extra: next === undefined ? others : { ...others, [USER_TAGS_KEY]: next }, updatedAt };
        const doc = JSON.stringify(video);
        this.writes++;
        this.stmt('UPDATE video_docs SET doc = ? WHERE id = ?').run(doc, id);
        const at = this.stmt('UPDATE videos SET updated_at = ? WHERE id = ? RETURNING rowid').get(updatedAt, id) as { rowid: number } | undefined;
        if (at) this.columns.touch(at.rowid);
        // the document now holds the stages; with the row goes its tag state, which the old edits were part of
        this.stmt('DELETE FROM video_stages WHERE id = ?').run(id);
        return { video, doc };
      }).immediate(),
    );
    if (!written) return null;
    this.wrote();
    this.handedOut.set(written.video, written.doc);
    return written.video;
  }

  /** Writes the record, its columns, label rows and FTS row; the caller holds a transaction. */
  private upsertOne(given: Video, rewriteFts = false, mirror = false): void {
    this.writes++;
    // Only an existing record has label and FTS rows to clear (bulk loads are mostly new records).
    const existed = this.stmt('SELECT rowid FROM videos WHERE id = ?').get(given.id) as { rowid: number } | undefined;
    // the stored hand edits, read in this transaction: an edit made since the writer read its copy stays
    const v = existed && !mirror ? withUserTagsOf(given, this.storedUserTags(given.id)) : given;
    const f = indexFields(v);
    const m = v.metadata;
    const cols = {
      id: v.id,
      path: v.file.path,
      title: v.source.title ?? m?.containerTags.title ?? null,
      source_kind: f.sourceKind,
      duration: f.durationSec,
      width: f.width,
      height: f.height,
      fps: f.fps,
      codec: f.codec,
      bytes: f.bytes,
      has_audio: f.hasAudio ? 1 : 0,
      scene_count: f.scenes,
      failed: f.failed ? 1 : 0,
      created_at: f.added,
      updated_at: v.updatedAt,
      name: f.name,
      sort_duration: f.duration,
      audio_codec: f.audioCodec,
      container: f.container,
      resolution: f.resolution,
      created: f.created,
      has_ai: f.hasAi ? 1 : 0,
      has_description: f.hasDescription ? 1 : 0,
      has_metadata: f.hasMetadata ? 1 : 0,
    };
    // A new record is a plain insert (the common case in bulk loads); an existing one keeps its rowid.
    const row = existed
      ? (this.stmt(`${INSERT_VIDEO_ROW} ${UPDATE_VIDEO_ROW} RETURNING rowid`).get(cols) as { rowid: number })
      : { rowid: Number(this.stmt(INSERT_VIDEO_ROW).run(cols).lastInsertRowid) };
    this.columns.touch(row.rowid);
    // A record written again with the same searchable text (each stage of `process` writes it) keeps its FTS
    // row: replacing it cost more than the rest of the write.
    const indexed = existed ? this.indexedText(existed.rowid) : undefined;
    const sameText = indexed !== undefined && !rewriteFts && isSameText(indexed, f);
    if (existed) {
      this.stmt('DELETE FROM video_stages WHERE id = ?').run(v.id);
      this.stmt('DELETE FROM video_tags WHERE video_id = ?').run(v.id);
      this.stmt('DELETE FROM video_categories WHERE video_id = ?').run(v.id);
      this.stmt('DELETE FROM video_actions WHERE video_id = ?').run(v.id);
      // FTS5 takes the row's tokens out by reading its text row, so this comes before that row is replaced
      if (indexed !== undefined && !sameText) this.stmt('DELETE FROM videos_fts WHERE rowid = ?').run(existed.rowid);
    }
    // One statement per label table rather than one per label.
    if (f.tags.length) this.stmt('INSERT OR IGNORE INTO video_tags (video_id, tag) SELECT ?, value FROM json_each(?)').run(v.id, JSON.stringify(f.tags));
    if (f.categories.length) this.stmt('INSERT OR IGNORE INTO video_categories (video_id, category) SELECT ?, value FROM json_each(?)').run(v.id, JSON.stringify(f.categories));
    if (f.actions.length) this.stmt('INSERT OR IGNORE INTO video_actions (video_id, action) SELECT ?, value FROM json_each(?)').run(v.id, JSON.stringify(f.actions));
    // The FTS row holds the shared normalised text, so every backend tokenises the same way.
    this.stmt(existed ? 'INSERT INTO video_docs (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc' : 'INSERT INTO video_docs (id, doc) VALUES (?, ?)').run(v.id, JSON.stringify(v));
    if (!sameText) this.insertFtsText(row.rowid, f.text);
  }

  /** The stored record's `extra` with only its hand edits, if it has any (null when the record is gone). */
  private storedUserTags(id: string): Pick<Video, 'extra'> | null {
    const row = this.stmt("SELECT json_type(doc, '$.extra._userTags') AS type, json_quote(json_extract(doc, '$.extra._userTags')) AS edits FROM video_docs WHERE id = ?").get(id) as { type: string | null; edits: string | null } | undefined;
    if (!row) return null;
    return { extra: row.type === null ? {} : { [USER_TAGS_KEY]: JSON.parse(row.edits!) as unknown } };
  }

  /** The text a record's FTS row was made from (its row of video_text), if it has one. */
  private indexedText(rowid: number): IndexedText | undefined {
    return this.stmt('SELECT title, tags, description, file FROM video_text WHERE rowid = ?').raw().get(rowid) as IndexedText | undefined;
  }

  /**
   * The record's text row and its FTS row (the normalised text every backend tokenises the same way). The FTS
   * table reads its content from the text row (schema 8), so the two always go together, and a row is deleted
   * from the FTS table before its text row changes.
   */
  private insertFtsText(rowid: number, t: IndexFields['text']): void {
    this.stmt('INSERT INTO videos_fts (rowid, title, tags, description, filename) VALUES (?, ?, ?, ?, ?)').run(rowid, t.title, t.tags, t.description, t.file);
    this.stmt('INSERT OR REPLACE INTO video_text (rowid, title, tags, description, file) VALUES (?, ?, ?, ?, ?)').run(rowid, t.title, t.tags, t.description, t.file);
  }

  /**
   * Re-tagging's write: the record, `updated_at` and `failed`, only the label rows that differ and the FTS row
   * only when the tag text changed. Skips the 20-odd column upsert, its index updates and the full label and
   * FTS rewrite that `upsertOne` does, which dominate when a rule edit rewrites every record. What to write is
   * worked out before the transaction (`tagWrite`): the JSON, the label differences and the index text are half
   * the time of a changed record's write, and parallel retag threads wait for each other's write lock.
   */
  async updateTags(changes: ReadonlyArray<TagUpdate | PreparedTagUpdate>, moves: readonly StagesMove[] = [], options: { wait?: boolean } = {}): Promise<boolean> {
    const writes = changes.map((c) => {
      if (c instanceof PreparedTagWrite) return c.write;
      if (!('before' in c)) throw new StoreError(`an update prepared by another store (${c.preparedFor}) was given to SQLite`);
      // (retag prepares its updates, so one it offers again after finding the lock taken is worked out once)
      return tagWrite(c, this.handedOut.get(c.before));
    });
    const moved = moves.map((m) => [JSON.stringify(m.stages), m.id, m.was] as const);
    if (options.wait === false) {
      // one try for the write lock: a caller with more work to do goes on with it rather than sleep while another
      // thread or process writes (the busy handler's sleeps left a core idle in parallel retag)
      this.db.pragma('busy_timeout = 0');
      try {
        this.writeTags(writes, moved);
      } catch (err) {
        if (String((err as { cause?: { code?: string } }).cause?.code).startsWith('SQLITE_BUSY')) return false;
        throw err;
      } finally {
        if (this.db.open) this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    } else {
      this.writeTags(writes, moved);
    }
    this.wrote();
    return true;
  }

  /**
   * What `updateTags` will write for `update`, worked out now; it keeps none of the records. Retag holds a batch
   * of updates until it is written: holding the records read and re-tagged (tens of kB of objects each) had them
   * outlive the young generation's collections, be copied and promoted, and then collected as old garbage.
   */
  prepareTagUpdate(update: TagUpdate): PreparedTagUpdate {
    return new PreparedTagWrite(tagWrite(update, this.handedOut.get(update.before)));
  }

  /**
   * The document text of each record `iterate`, `get` and `iterateTagStates` read, by the object they gave: an
   * update of that record is written only while the document is still that text (see `updateTagsOne`).
   */
  private readonly handedOut = new WeakMap<Video, string>();

  private writeTags(writes: readonly TagWrite[], moved: ReadonlyArray<readonly [string, string, string]>): void {
    this.guard(`update tags of ${writes.length + moved.length} records`, () =>
      this.db.transaction((ws: readonly TagWrite[]) => {
        // only where the tag state the move was judged on is still there: a full write of the record since removed
        // the row (and with it the tag state), so the record keeps the stages that write gave it
        for (const [stages, id, was] of moved) this.stmt('UPDATE video_stages SET stages = ? WHERE id = ? AND stages = ? AND tag_state IS NOT NULL').run(stages, id, was);
        this.writes += moved.length;
        const fts: Array<{ rowid: number; write: RecordWrite }> = [];
        for (const w of ws) this.updateTagsOne(w, fts);
        // The stored text with the new tag text (re-tagging changes no other); a record without a text row yet
        // gets its whole text. Read before the FTS rows go, which read their text row to take out its tokens.
        const texts = fts.map(({ rowid, write }) => {
          const kept = this.indexedText(rowid);
          return kept ? { title: kept[0], tags: write.tagText!, description: kept[2], file: kept[3] } : indexFields(JSON.parse(write.doc) as Video).text;
        });
        // FTS rows last, together: FTS5 writes out its pending rows before any other statement of the
        // transaction, so replacing them between the other writes made a tiny segment per record (2x slower).
        for (const r of fts) this.stmt('DELETE FROM videos_fts WHERE rowid = ?').run(r.rowid);
        for (let i = 0; i < fts.length; i++) this.insertFtsText(fts[i]!.rowid, texts[i]!);
      }).immediate(writes),
    );
  }

  private updateTagsOne(w: TagWrite, fts: Array<{ rowid: number; write: RecordWrite }>): void {
    this.writes++;
    // A write stands only while the document is the text retag read (when this store handed it out). Written since
    // (by `process`, say), that other write stands, without a tag state (it removed the row), so the next retag
    // reads the record again; kept, this write would replace the other's inputs with the old ones, and restore a
    // tag state of the old document.
    if (w.kind === 'stages') {
      // the document stays; its `stages` are read from video_stages (and the failed flag follows them)
      if (w.failed === null) {
        // no indexed column moves; a record deleted since it was read gets no row
        if (w.readDoc === null) this.stmt('INSERT INTO video_stages (id, stages) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM videos WHERE id = ?) ON CONFLICT(id) DO UPDATE SET stages = excluded.stages').run(w.id, w.stages, w.id);
        else this.stmt('INSERT INTO video_stages (id, stages, tag_state) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM video_docs WHERE id = ? AND doc = ?) ON CONFLICT(id) DO UPDATE SET stages = excluded.stages, tag_state = excluded.tag_state').run(w.id, w.stages, w.tagState, w.id, w.readDoc);
        return;
      }
      if (w.readDoc !== null && this.stmt('SELECT 1 FROM video_docs WHERE id = ? AND doc = ?').get(w.id, w.readDoc) === undefined) return;
      const row = this.stmt('UPDATE videos SET failed = ? WHERE id = ? RETURNING rowid').get(w.failed, w.id) as { rowid: number } | undefined;
      if (!row) return; // deleted since it was read
      this.columns.touch(row.rowid);
      if (w.tagState === null) this.stmt('INSERT INTO video_stages (id, stages) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET stages = excluded.stages').run(w.id, w.stages);
      else this.stmt('INSERT INTO video_stages (id, stages, tag_state) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET stages = excluded.stages, tag_state = excluded.tag_state').run(w.id, w.stages, w.tagState);
      return;
    }
    // the document first: a record deleted (or, with a tag state, written) since it was read is left as it is
    const doc = w.readDoc === null ? this.stmt('UPDATE video_docs SET doc = ? WHERE id = ?').run(w.doc, w.id) : this.stmt('UPDATE video_docs SET doc = ? WHERE id = ? AND doc = ?').run(w.doc, w.id, w.readDoc);
    if (doc.changes === 0) return;
    // with the document: without a tag state it holds the stages (the row goes), with one the row holds them and
    // says retag checked them against this document
    if (w.tagState === null) this.stmt('DELETE FROM video_stages WHERE id = ?').run(w.id);
    else this.stmt('INSERT INTO video_stages (id, stages, tag_state) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET stages = excluded.stages, tag_state = excluded.tag_state').run(w.id, w.stages, w.tagState);
    const row = this.stmt('UPDATE videos SET updated_at = ?, failed = ? WHERE id = ? RETURNING rowid').get(w.updatedAt, w.failed, w.id) as { rowid: number } | undefined;
    if (!row) return;
    this.columns.touch(row.rowid);
    this.syncLabels('video_tags', 'tag', w.id, w.tags);
    this.syncLabels('video_categories', 'category', w.id, w.categories);
    this.syncLabels('video_actions', 'action', w.id, w.actions);
    // FTS5 rows are replaced whole, by the caller (FTS5 has no update of one column).
    if (w.tagText !== null) fts.push({ rowid: row.rowid, write: w });
  }

  /** Deletes and inserts the label rows that differ. */
  private syncLabels(table: 'video_tags' | 'video_categories' | 'video_actions', col: 'tag' | 'category' | 'action', id: string, change: LabelChange | null): void {
    if (!change) return;
    const { gone, added } = change;
    // one statement each way per record (a first re-tag adds some 24 tags to every record: one statement per tag
    // made it the largest cost of the write)
    if (gone.length === 1) this.stmt(`DELETE FROM ${table} WHERE video_id = ? AND ${col} = ?`).run(id, gone[0]);
    else if (gone.length > 1) this.stmt(`DELETE FROM ${table} WHERE video_id = ? AND ${col} IN (SELECT value FROM json_each(?))`).run(id, JSON.stringify(gone));
    if (added.length === 1) this.stmt(`INSERT OR IGNORE INTO ${table} (video_id, ${col}) VALUES (?, ?)`).run(id, added[0]);
    else if (added.length > 1) this.stmt(`INSERT OR IGNORE INTO ${table} (video_id, ${col}) SELECT ?, value FROM json_each(?)`).run(id, JSON.stringify(added));
  }

  async get(id: string): Promise<Video | null> {
    return this.guard('get', () => {
      const row = this.stmt(`SELECT ${DOC_COLUMNS} FROM video_docs d ${STAGES_JOIN} WHERE d.id = ?`).raw().get(id) as DocRow | undefined;
      if (!row) return null;
      const video = recordOf(row);
      this.handedOut.set(video, row[0]);
      return video;
    });
  }

  async findByPath(file: string): Promise<Video[]> {
    return this.guard('findByPath', () =>
      (this.stmt(`SELECT ${DOC_COLUMNS} FROM videos v JOIN video_docs d ON d.id = v.id ${STAGES_JOIN} WHERE v.path = ? ORDER BY v.id`).raw().all(file) as DocRow[]).map((row) => recordOf(row)),
    );
  }

  private whereOf(plan: QueryPlan): { sql: string; params: Param[] } {
    const params: Param[] = [];
    return { sql: plan.where ? sqliteWhere(plan.where, params) : '1', params };
  }

  async search(q: SearchQuery): Promise<SearchResult> {
    const plan = planQuery(q);
    return this.guard('search', () => {
      // A one-shot CLI search never pays for building the column copy: in mode `auto` it is made from the second
      // search on, and the first is answered by SQL.
      const first = this.columnMode === 'auto' && this.searches++ === 0 && !this.columns.built;
      const fromColumns = this.columnPage(plan, first);
      if (fromColumns) {
        const page = fromColumns.rows.slice(0, plan.limit);
        const docs = this.docsByIds(page.map((r) => r.id));
        const last = page.at(-1);
        return {
          hits: page.map((r) => {
            const video = docs.get(r.id)!;
            const hl = plan.terms.length > 0 ? highlight(video, plan.terms) : null;
            return { id: r.id, score: r.score, ...(hl ? { highlight: hl } : {}), video };
          }),
          total: fromColumns.total,
          facets: fromColumns.facets ?? emptyFacets(),
          nextCursor: nextCursor(plan, fromColumns.rows.length > plan.limit, page.length, last && { id: last.id, name: last.name, duration: last.sort_duration, created: last.created, added: last.created_at, bytes: last.bytes }),
        };
      }
      const ranked = sqliteRankedPlan(plan);
      const restMask = ranked?.rest && !first && this.columnMode !== 'off' && this.columns.sync() ? this.columns.maskOf(ranked.rest.node) : null;
      // One snapshot for the ranking passes, the page's rows and the count.
      const fast = ranked ? this.db.transaction(() => this.rankedPage(plan, ranked, restMask))() : null;
      let rows: PageRow[];
      if (fast) rows = fast.rows;
      else {
        const { sql, params } = sqliteSearch(plan);
        rows = this.stmt(sql).all(...params) as PageRow[];
      }
      const docs = this.docsByIds(rows.slice(0, plan.limit).map((r) => r.id));
      const w = this.whereOf(plan);
      const counted = plan.facets ? this.facetsAndTotal(plan, w, first, restMask) : null;
      const total = counted ? counted.total : (fast?.total ?? this.countWhere(w));
      const hasMore = rows.length > plan.limit;
      const page = rows.slice(0, plan.limit);
      const last = page.at(-1);
      return {
        hits: page.map((r) => {
          const video = docs.get(r.id)!;
          const hl = highlight(video, plan.terms);
          return { id: r.id, score: r.score, ...(hl ? { highlight: hl } : {}), video };
        }),
        total,
        facets: counted ? counted.facets : emptyFacets(),
        nextCursor: nextCursor(plan, hasMore, page.length, last && { id: last.id, name: last.name, duration: last.sort_duration, created: last.created, added: last.created_at, bytes: last.bytes }),
      };
    });
  }

  /**
   * The page of a relevance-sorted text query (see sqliteRankedPlan), with its total when known. FTS5 ranks
   * alone and only the page's rows are looked up, when the query is text only or its filters come as a mask from
   * the column copy (`restMask`, read by `vdx_in_mask(rowid)` beside the MATCH, so only matching rows are ranked).
   * The order is score, then id; FTS5 knows only the score, so every row scoring at least the page's last score
   * is fetched and sorted here. Common words give many equal scores (bm25's idf is near zero for them), but the
   * group tied at the page's end is small: a few extra rows fetched with the page hold it nearly always, and a
   * second pass collects it when they do not. (Sorting the whole match by score and id instead cost 5x more for a
   * word in most records.) Otherwise, with filters: one MATCH, joined and counted in the same statement.
   */
  private rankedPage(plan: QueryPlan, ranked: SqliteRankedSql, restMask: Uint8Array | null): { rows: PageRow[]; total: number | null } {
    const need = plan.offset + plan.limit + 1;
    if (!ranked.rest || restMask) {
      this.activeMask = restMask;
      try {
        const filter = restMask ? ' AND vdx_in_mask(rowid)' : '';
        const fetch = need + TIE_SLACK;
        const ranking = `SELECT rowid AS rid, -${BM25} AS score FROM videos_fts WHERE videos_fts MATCH ?${filter}`;
        let top = this.stmt(`${ranking} ORDER BY score DESC LIMIT ?`).all(ranked.match, fetch) as Array<{ rid: number; score: number }>;
        if (top.length >= need) {
          const last = top[need - 1]!.score;
          top = top.at(-1)!.score >= last && top.length === fetch ? (this.stmt(`SELECT rid, score FROM (${ranking}) WHERE score >= ?`).all(ranked.match, last) as typeof top) : top.filter((r) => r.score >= last);
        }
        const score = new Map(top.map((r) => [r.rid, r.score]));
        const rows: PageRow[] = [];
        const ids = top.map((r) => r.rid);
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const got = this.stmt(`SELECT rowid AS rid, id, name, sort_duration, created, created_at, bytes FROM videos WHERE rowid IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as Array<PageRow & { rid: number }>;
          for (const r of got) rows.push({ id: r.id, score: score.get(r.rid)!, name: r.name, sort_duration: r.sort_duration, created: r.created, created_at: r.created_at, bytes: r.bytes });
        }
        rows.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const total = plan.facets ? null : (this.stmt(`SELECT count(*) AS n FROM videos_fts WHERE videos_fts MATCH ?${filter}`).get(ranked.match) as { n: number }).n;
        return { rows: rows.slice(plan.offset, need), total };
      } finally {
        this.activeMask = null;
      }
    }
    const rows = this.stmt(
      `WITH r AS MATERIALIZED (SELECT rowid AS rid, -${BM25} AS rank FROM videos_fts WHERE videos_fts MATCH ?)
       SELECT r.rank AS score, v.id, v.name, v.sort_duration, v.created, v.created_at, v.bytes, count(*) OVER () AS total
       FROM r JOIN videos v ON v.rowid = r.rid WHERE ${ranked.rest.sql} ORDER BY score DESC, v.id ASC LIMIT ? OFFSET ?`,
    ).all(ranked.match, ...ranked.rest.params, plan.limit + 1, plan.offset) as Array<PageRow & { total: number }>;
    return { rows, total: rows[0]?.total ?? (plan.offset === 0 ? 0 : null) };
  }

  /**
   * A search without text answered from the column copy, or null to answer by SQL: text in the query, the
   * first search (`first`), or a copy that is stale and was rebuilt too recently.
   */
  private columnPage(plan: QueryPlan, first: boolean): ColumnPage | null {
    if (this.columnMode === 'off' || first) return null;
    if (!this.columns.sync()) return null;
    return this.columns.search(plan);
  }

  private writes = 0;
  private searches = 0;
  private readonly facetCache = new FacetCache();

  private countWhere(w: { sql: string; params: Param[] }): number {
    return (this.stmt(`SELECT COUNT(*) AS n FROM videos v WHERE ${w.sql}`).get(...w.params) as { n: number }).n;
  }

  /**
   * Total and facets of a match. Results are kept per filter until anything writes, here (`writes`) or in
   * another connection (`PRAGMA data_version`). Counts come from the column copy; by SQL on the first search
   * (`first`), with the copy off, or while it is stale and was rebuilt too recently.
   */
  private facetsAndTotal(plan: QueryPlan, w: { sql: string; params: Param[] }, first: boolean, restMask: Uint8Array | null): CountedMatch {
    const generation = `${this.writes}:${this.db.pragma('data_version', { simple: true }) as number}`;
    const key = `${w.sql}\u0000${JSON.stringify(w.params)}`;
    const hit = this.facetCache.get(generation, key);
    if (hit) return hit;
    let counted: CountedMatch;
    if (first || this.columnMode === 'off' || !this.columns.sync()) counted = { total: this.countWhere(w), facets: this.sqlFacets(w) };
    else if (w.sql === '1') counted = { total: this.countWhere(w), facets: this.columns.count(null) };
    else {
      const rowids = this.textMatchRowids(plan, restMask) ?? (this.stmt(`SELECT v.rowid FROM videos v WHERE ${w.sql}`).pluck().all(...w.params) as number[]);
      counted = { total: rowids.length, facets: this.columns.count(rowids) };
    }
    return this.facetCache.set(generation, key, counted);
  }

  /**
   * The rowids matching a `words filters` query, collected in one pass over the FTS5 match with the filters as
   * a mask from the column copy (joining the match with the table and reading every rowid back cost 5x more);
   * null for another shape. `restMask`: the filters' mask when the page already made it (the same conjuncts).
   * The caller has synced the copy.
   */
  private textMatchRowids(plan: QueryPlan, restMask: Uint8Array | null): Int32Array | null {
    const split = sqliteTextSplit(plan.where);
    const mask = split?.rest ? (restMask ?? this.columns.maskOf(split.rest.node)) : null;
    if (!split || (split.rest && !mask)) return null;
    const out: number[] = [];
    this.activeMask = mask;
    this.collected = out;
    try {
      this.stmt(`SELECT count(*) FROM videos_fts WHERE videos_fts MATCH ?${mask ? ' AND vdx_in_mask(rowid)' : ''} AND vdx_collect(rowid)`).get(split.match);
    } finally {
      this.activeMask = null;
      this.collected = null;
    }
    return Int32Array.from(out);
  }

  /** Records by id, in one statement per chunk. */
  private docsByIds(ids: string[]): Map<string, Video> {
    const out = new Map<string, Video>();
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = this.stmt(`SELECT d.id, ${DOC_COLUMNS} FROM video_docs d ${STAGES_JOIN} WHERE d.id IN (${chunk.map(() => '?').join(',')})`).raw().all(...chunk) as Array<[string, ...DocRow]>;
      for (const [id, doc, stages] of rows) out.set(id, recordOf([doc, stages]));
    }
    return out;
  }

  /** Counts per tag, category, codec, source kind and resolution class over the whole match, by SQL. */
  private sqlFacets(w: { sql: string; params: Param[] }): Facets {
    const all = w.sql === '1';
    const sub = `SELECT v.id FROM videos v WHERE ${w.sql}`;
    type Row = { k: string; n: number };
    const entries = (rows: Row[]): Array<[string, number]> => rows.map((r) => [r.k, r.n]);
    const label = (table: string, col: string): Row[] =>
      this.stmt(`SELECT ${col} AS k, COUNT(*) AS n FROM ${table} ${all ? '' : `WHERE video_id IN (${sub})`} GROUP BY ${col} ORDER BY n DESC, ${col} LIMIT ${FACET_SIZE}`).all(...(all ? [] : w.params)) as Row[];
    // The three column facets in one pass over the match (a few hundred combinations at most).
    const combos = this.stmt(`SELECT v.codec, v.source_kind, v.resolution, COUNT(*) AS n FROM videos v WHERE ${w.sql} GROUP BY 1, 2, 3`).raw().all(...w.params) as Array<[string | null, string | null, string | null, number]>;
    const sums = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
    for (const c of combos) {
      for (let k = 0; k < 3; k++) {
        const key = c[k] as string | null;
        if (key !== null) sums[k]!.set(key, (sums[k]!.get(key) ?? 0) + c[3]);
      }
    }
    return {
      tags: topFacet(entries(label('video_tags', 'tag')), FACET_SIZE),
      categories: topFacet(entries(label('video_categories', 'category')), FACET_SIZE),
      codecs: topFacet([...sums[0]!.entries()], FACET_SIZE),
      sourceKinds: topFacet([...sums[1]!.entries()], FACET_SIZE),
      resolutions: topFacet([...sums[2]!.entries()], FACET_SIZE),
    };
  }

  readonly shards = true;

  async *iterateTagStates<T>(judge: (row: TagStateRow) => T | null, options: IterateOptions = {}): AsyncIterable<TagStateVisit<T>> {
    const shard = checkedShard(options);
    // Walked block by block over the narrow `videos` rows, not the documents: a filter on the shard would read every
    // page of the table in every part, and the documents' pages hold the documents (a record's 5 kB are stored in
    // its leaf), so walking them read 590 MB at 100k records where this reads 120 MB. The document's rowid comes
    // from the id index alone; the documents that must be read are then read by it, the block's in one statement.
    const walk = `SELECT d.rowid, v.id, s.stages, s.tag_state FROM videos v JOIN video_docs d ON d.id = v.id ${STAGES_JOIN} WHERE v.rowid >= ? AND v.rowid < ? ORDER BY v.rowid`;
    const read = `SELECT d.rowid, ${DOC_COLUMNS} FROM video_docs d ${STAGES_JOIN} WHERE d.rowid IN (SELECT value FROM json_each(?))`;
    const last = this.guard('iterate tag states', () => (this.stmt('SELECT max(rowid) AS n FROM videos').get() as { n: number | null }).n ?? -1);
    const step = shard?.count ?? 1;
    // (rowids may pass 2^31: no bit shifts)
    for (let block = shard?.index ?? 0; block <= Math.floor(last / 256); block += step) {
      // one read transaction: the documents read are those the judged rows belong to, whatever writes meanwhile
      const { rows, parsed, judged, docs } = this.guard('iterate tag states', () =>
        this.db.transaction(() => {
          const rows = this.stmt(walk).raw().all(block * 256, (block + 1) * 256) as Array<[number, string, string | null, string | null]>;
          // the stages as parsed for the judge, kept for the records it sends to be read (the same transaction)
          const parsed = rows.map(([, , stages]) => (stages === null ? null : (JSON.parse(stages) as Video['stages'])));
          const judged = rows.map(([, id, stages, tagState], i) => judge({ id, stages: parsed[i]!, storedStages: stages, tagState }));
          const unread = rows.filter((_, i) => judged[i] === null).map(([rowid]) => rowid);
          const docs = new Map<number, DocRow>();
          if (unread.length > 0) for (const [rowid, doc, stages] of this.stmt(read).raw().all(JSON.stringify(unread)) as Array<[number, ...DocRow]>) docs.set(rowid, [doc, stages]);
          return { rows, parsed, judged, docs };
        })(),
      );
      for (let i = 0; i < rows.length; i++) {
        const [rowid, id] = rows[i]!;
        const verdict = judged[i]!;
        if (verdict !== null) {
          yield { id, judged: verdict };
          continue;
        }
        const doc = docs.get(rowid);
        if (!doc) continue; // removed since the walk read it
        const video = recordOf(doc, parsed[i] ?? undefined);
        this.handedOut.set(video, doc[0]);
        yield { id, judged: null, video };
      }
    }
  }


  async *iterate(q: SearchQuery = {}, options: IterateOptions = {}): AsyncIterable<Video> {
    const plan = planQuery({ ...q, facets: false });
    const w = this.whereOf(plan);
    const shard = checkedShard(options);
    // Blocks of 256 consecutive document rowids: a part reads and writes its own pages. Split row by row, two
    // workers each read every page of the table (a 5 kB record leaves three to a 16 KiB page): 25% more system
    // CPU in a two-worker retag of 100k records.
    const part = shard ? ` AND (d.rowid >> 8) % ${shard.count} = ${shard.index}` : '';
    let after = '';
    const page = 500;
    for (;;) {
      // Every record (export, retag, db copy): walk the documents alone, without the join per row.
      const sql = w.sql === '1'
        ? `SELECT d.id, ${DOC_COLUMNS} FROM video_docs d ${STAGES_JOIN} WHERE d.id > ?${part} ORDER BY d.id LIMIT ?`
        : `SELECT v.id, ${DOC_COLUMNS} FROM videos v JOIN video_docs d ON d.id = v.id ${STAGES_JOIN} WHERE ${w.sql} AND v.id > ?${part} ORDER BY v.id LIMIT ?`;
      const rows = this.guard('iterate', () => this.stmt(sql).raw().all(...w.params, after, page) as Array<[string, ...DocRow]>);
      for (const [, doc, stages] of rows) {
        const video = recordOf([doc, stages]);
        // retag writes back what it read here: only over the same document (see `tagWrite`)
        this.handedOut.set(video, doc);
        yield video;
      }
      if (rows.length < page) return;
      after = rows.at(-1)![0];
    }
  }

  async library(): Promise<LibraryIdentity> {
    const where = `SQLite ${this.file === ':memory:' ? ':memory:' : path.resolve(this.file)}`;
    return this.guard('library', () => {
      // made on first use: a library from before this key gets its id the first time a queue needs it
      this.stmt("INSERT INTO meta (key, value) VALUES ('library_id', ?) ON CONFLICT(key) DO NOTHING").run(randomUUID());
      return { id: (this.stmt("SELECT value FROM meta WHERE key = 'library_id'").get() as { value: string }).value, where };
    });
  }

  async checkIntegrity(): Promise<string[]> {
    try {
      const rows = this.db.pragma('quick_check(20)', { simple: false }) as Array<{ quick_check: string }>;
      return rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
    } catch (err) {
      // a page too damaged to walk fails the check itself: that is its finding
      return [err instanceof Error ? err.message : String(err)];
    }
  }

  async count(q: SearchQuery = {}): Promise<number> {
    const plan = planQuery({ ...q, facets: false });
    return this.guard('count', () => {
      const w = this.whereOf(plan);
      return (this.stmt(`SELECT COUNT(*) AS n FROM videos v WHERE ${w.sql}`).get(...w.params) as { n: number }).n;
    });
  }

  async delete(id: string): Promise<boolean> {
    const deleted = this.guard('delete', () =>
      this.db.transaction(() => {
        this.writes++;
        const row = this.db.prepare('SELECT rowid FROM videos WHERE id = ?').get(id) as { rowid: number } | undefined;
        if (!row) return false;
        this.columns.touch(row.rowid);
        this.db.prepare('DELETE FROM videos_fts WHERE rowid = ?').run(row.rowid);
        this.db.prepare('DELETE FROM video_text WHERE rowid = ?').run(row.rowid);
        this.db.prepare('DELETE FROM video_tags WHERE video_id = ?').run(id);
        this.db.prepare('DELETE FROM video_categories WHERE video_id = ?').run(id);
        this.db.prepare('DELETE FROM video_actions WHERE video_id = ?').run(id);
        this.db.prepare('DELETE FROM videos WHERE id = ?').run(id);
        this.db.prepare('DELETE FROM video_docs WHERE id = ?').run(id);
        this.db.prepare('DELETE FROM video_stages WHERE id = ?').run(id);
        return true;
      }).immediate(),
    );
    if (deleted) this.wrote();
    return deleted;
  }

  async getInput(key: string): Promise<InputRecord | null> {
    return this.guard('getInput', () => {
      const r = this.db.prepare('SELECT * FROM inputs WHERE key = ?').get(key) as Record<string, unknown> | undefined;
      return r ? rowToInput(r) : null;
    });
  }

  private static readonly PUT_INPUT = `INSERT INTO inputs (key, status, video_id, attempts, bytes, error, error_code, file_size, file_mtime_ms, list_file, updated_at)
           VALUES (@key, @status, @videoId, @attempts, @bytes, @error, @errorCode, @fileSize, @fileMtimeMs, @listFile, @updatedAt)
           ON CONFLICT(key) DO UPDATE SET status = excluded.status, video_id = excluded.video_id, attempts = excluded.attempts,
             bytes = excluded.bytes, error = excluded.error, error_code = excluded.error_code, file_size = excluded.file_size,
             file_mtime_ms = excluded.file_mtime_ms, list_file = excluded.list_file, updated_at = excluded.updated_at`;

  async putInput(row: InputRecord): Promise<void> {
    this.guard('putInput', () => {
      this.db.prepare(SqliteStore.PUT_INPUT).run(row);
    });
    this.wrote();
  }

  async putInputs(rows: readonly InputRecord[]): Promise<void> {
    if (rows.length === 0) return;
    // one transaction: a commit (and its fsync) per row made a copy of a large log take hours
    this.guard(`put ${rows.length} inputs`, () => {
      const put = this.stmt(SqliteStore.PUT_INPUT);
      this.db.transaction((rs: readonly InputRecord[]) => {
        for (const r of rs) put.run(r);
      }).immediate(rows);
    });
    this.wrote();
  }

  async *iterateInputs(options: { afterKey?: string } = {}): AsyncIterable<InputRecord> {
    let after = options.afterKey ?? null;
    for (;;) {
      const rows = this.guard('iterate inputs', () =>
        (after === null
          ? this.stmt('SELECT * FROM inputs ORDER BY key LIMIT ?').all(INPUTS_PAGE)
          : this.stmt('SELECT * FROM inputs WHERE key > ? ORDER BY key LIMIT ?').all(after, INPUTS_PAGE)) as Record<string, unknown>[],
      );
      for (const r of rows) yield rowToInput(r);
      if (rows.length < INPUTS_PAGE) return;
      after = String(rows.at(-1)!.key);
    }
  }

  async countInputs(): Promise<number> {
    return this.guard('count inputs', () => this.stmt('SELECT count(*) FROM inputs').pluck().get() as number);
  }

  async listInputs(status?: InputRecord['status']): Promise<InputRecord[]> {
    return this.guard('listInputs', () => {
      const rows = (status
        ? this.db.prepare('SELECT * FROM inputs WHERE status = ? ORDER BY key').all(status)
        : this.db.prepare('SELECT * FROM inputs ORDER BY key').all()) as Record<string, unknown>[];
      return rows.map(rowToInput);
    });
  }

  /** A value of the library's own key-value table (stores built on this one keep their state there). */
  readMeta(key: string): string | null {
    return this.guard('read meta', () => (this.stmt('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? null);
  }

  writeMeta(key: string, value: string): void {
    this.guard('write meta', () => this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value));
  }

  async close(): Promise<void> {
    this.statements.clear();
    // The thread's connection first: this one is then the last, and closing it removes the log.
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}

function rowToInput(r: Record<string, unknown>): InputRecord {
  return {
    key: r.key as string,
    status: r.status as InputRecord['status'],
    videoId: (r.video_id as string | null) ?? null,
    attempts: Number(r.attempts ?? 0),
    bytes: (r.bytes as number | null) ?? null,
    error: (r.error as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    fileSize: (r.file_size as number | null) ?? null,
    fileMtimeMs: (r.file_mtime_ms as number | null) ?? null,
    listFile: (r.list_file as string | null) ?? null,
    updatedAt: r.updated_at as string,
  };
}
