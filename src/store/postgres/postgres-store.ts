/**
 * PostgreSQL adapter: the record as jsonb, search columns beside it (generated from the jsonb where the value
 * is read straight off the record, written from the shared IndexFields where it is derived), a weighted
 * tsvector with a GIN index, GIN indexes on tag/category/action arrays, pg_trgm for `name:` when available.
 * `pg` is loaded only when this store is opened.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { maskSecret, parseJsonMappingStrings, StoreError, USER_TAGS_KEY, type Logger, type Video } from '../../core/index.js';
import type { Facets, SearchQuery, SearchResult } from '../search-query.js';
import { emptyFacets } from '../search-query.js';
import { checkedShard, INPUTS_PAGE, type InputRecord, type IterateOptions, type LibraryIdentity, type TagUpdate, type VideoStore, type WriteOptions } from '../video-store.js';
import { FacetCache } from '../facet-cache.js';
import { rewriteAll } from '../rewrite-all.js';
import { refuseNewerLibrary } from '../newer-library.js';
import { PG_SCHEMA_NAME } from '../open-store.js';
import { REPLICA_ERROR_CODE, SearchReplica, type ChangeBatch, type ChangeFeed, type FeedPosition } from '../search-replica.js';
import {
  FACET_SIZE,
  hasFailedStage,
  highlight,
  INDEX_VERSION,
  indexFields,
  labelsMoved,
  nextCursor,
  planQuery,
  topFacet,
  type IndexFields,
  type QueryPlan,
} from '../query/index.js';
import { PG_LZ4_DOCS, PG_MIGRATIONS, PG_TRGM_INDEX } from './postgres-migrations.js';
import { Params, pgSearch, pgWhere } from './postgres-query.js';
import { tsvectorLiteral } from './postgres-text.js';
import { copyRow } from './postgres-copy.js';

export interface PostgresStoreOptions {
  url: string;
  /** Schema for the tables (created if missing). */
  schema?: string;
  poolSize?: number;
  logger?: Logger;
  /** Extra pool settings (tests). */
  pool?: Partial<PoolConfig>;
  /**
   * A SQLite file for the local search replica (search-replica.ts) that then answers `search`; absent: searches
   * run in PostgreSQL.
   */
  replicaFile?: string;
}

/** Records per batch of the change feed: what one `upsertMany` of the replica takes. */
const FEED_BATCH = 2000;

const COLUMNS = [
  'id',
  'doc',
  'name',
  'sort_duration',
  'codec',
  'audio_codec',
  'container',
  'resolution',
  'created',
  'added',
  'has_audio',
  'has_ai',
  'has_description',
  'has_metadata',
  'failed',
  'tags',
  'categories',
  'actions',
  'tsv',
] as const;

/** A UTF-16 surrogate without its other half: not a character, so not text UTF-8 (or jsonb) can hold. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** How JSON.stringify writes one (a pair is written as it is); a `\\ud8..` in the text only costs the slow path. */
const ESCAPED_SURROGATE = /\\ud[89a-f]/i;
const holdable = (s: string): string => s.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');

/**
 * A value as PostgreSQL can hold it, and its JSON. Text and jsonb cannot contain U+0000 at all, so a record
 * with one (outside text loses it on the way in, but a record written through the library API, or kept by an
 * older SQLite library, may still have one) is stored without it rather than failing. jsonb refuses a lone
 * surrogate's `\udXXX` escape as well (JSON.parse of a Python-written info.json can give one): it becomes U+FFFD,
 * as any UTF-8 writer makes it. Both are found in the JSON: the common case costs one scan of a string made anyway.
 */
function storableJson<T>(value: T): { value: T; json: string } {
  const json = JSON.stringify(value);
  if (!json.includes('\\u0000') && !ESCAPED_SURROGATE.test(json)) return { value, json };
  const clean = parseJsonMappingStrings(json, holdable) as T;
  return { value: clean, json: JSON.stringify(clean) };
}

function storable(video: Video): { video: Video; json: string } {
  const { value, json } = storableJson(video);
  return { video: value, json };
}

function rowValues({ video, json }: { video: Video; json: string }): unknown[] {
  const f = indexFields(video);
  return [
    video.id,
    json,
    f.name,
    f.duration,
    f.codec,
    f.audioCodec,
    f.container,
    f.resolution,
    f.created,
    f.added,
    f.hasAudio,
    f.hasAi,
    f.hasDescription,
    f.hasMetadata,
    f.failed,
    f.tags,
    f.categories,
    f.actions,
    tsvectorLiteral(f),
  ];
}

const CASTS: Partial<Record<(typeof COLUMNS)[number], string>> = { doc: '::jsonb', tags: '::text[]', categories: '::text[]', actions: '::text[]', tsv: '::tsvector' };

/**
 * Chunks of a bulk upsert sent at once, each on its own pooled connection. The server works on a statement in one
 * backend process, on one core: a second connection puts a second backend on the other core (40k records:
 * 2.4-2.6k/s with one, 3.8-4.0k/s with two, no better with three or four on two cores; building the next chunk
 * while one statement ran, on one connection, gained nothing).
 */
const UPSERT_CHUNKS_IN_FLIGHT = 2;

/** Codes worth one more try: connection loss, admin shutdown, serialization failure, deadlock. */
const RETRYABLE_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '40001', '40P01', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

function isRetryablePg(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  if (code && RETRYABLE_CODES.has(code)) return true;
  const msg = err instanceof Error ? err.message : String(err);
  return /Connection terminated|connection .*(closed|ended)|terminating connection|Client has encountered a connection error/i.test(msg);
}

/** `fn` inside BEGIN (with `begin`'s options) and COMMIT, rolled back when it throws. */
async function inTransaction<T>(c: PoolClient, begin: string, fn: () => Promise<T>): Promise<T> {
  await c.query(begin);
  try {
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * `doc` (a document to write over the stored row `cur`) with the hand edits `cur` holds, or without any when it holds
 * none: only `updateUserTags` changes them (see `VideoStore.upsert`), and the row lock of the write makes the two
 * one step. `doc` is a SQL expression.
 */
const keepingUserTags = (doc: string, cur: string) =>
  `CASE WHEN ${cur}.doc -> 'extra' ? '${USER_TAGS_KEY}'
     THEN jsonb_set(${doc}, '{extra}', coalesce(${doc} -> 'extra', '{}'::jsonb) || jsonb_build_object('${USER_TAGS_KEY}', ${cur}.doc -> 'extra' -> '${USER_TAGS_KEY}'))
     ELSE ${doc} #- '{extra,${USER_TAGS_KEY}}' END`;

/**
 * What an upsert of an existing id (the stored row is `cur`) sets: every column, the document keeping the stored
 * hand edits unless `mirror`, and the change feed's writer id (see migration 2).
 */
const onConflictUpdate = (mirror: boolean) => `ON CONFLICT (id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'id')
  .map((c) => (c === 'doc' && !mirror ? `doc = ${keepingUserTags('EXCLUDED.doc', 'cur')}` : `${c} = EXCLUDED.${c}`))
  .join(', ')}, xid = pg_current_xact_id()`;
const ON_CONFLICT_UPDATE = onConflictUpdate(false);
const ON_CONFLICT_MIRROR = onConflictUpdate(true);

export class PostgresStore implements VideoStore, ChangeFeed {
  readonly kind = 'postgres';
  private replica: SearchReplica | null;
  /** Pooled connections that have made their COPY staging table (a temporary table lives as long as its session). */
  private readonly staged = new WeakSet<PoolClient>();
  private pool: Pool | null = null;
  private opening: Promise<Pool> | null = null;
  private closed = false;
  private readonly schema: string;
  private readonly S: string;
  private trgm = false;

  constructor(private readonly options: PostgresStoreOptions) {
    const schema = options.schema ?? 'public';
    if (!PG_SCHEMA_NAME.test(schema)) throw new StoreError(`postgres: schema '${schema}' is not a plain identifier`);
    this.schema = schema;
    this.S = `"${schema}"`;
    this.replica = options.replicaFile ? new SearchReplica(options.replicaFile, this, options.logger) : null;
  }

  /** The local search replica, when configured (tests, doctor). */
  get searchReplica(): SearchReplica | null {
    return this.replica;
  }

  private get where(): string {
    return `postgres ${maskSecret(this.options.url)}`;
  }

  private async getPool(): Promise<Pool> {
    if (this.closed) throw new StoreError(`${this.where}: store is closed`);
    if (this.pool) return this.pool;
    this.opening ??= (async () => {
      const pg = (await import('pg')).default;
      const pool = new pg.Pool({
        connectionString: this.options.url,
        max: this.options.poolSize ?? 10,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: 10_000,
        ...this.options.pool,
      });
      // An idle client dropped by the server must not crash the process; the pool replaces it.
      pool.on('error', (err) => this.options.logger?.warn({ err: err.message }, 'postgres: idle connection dropped'));
      this.pool = pool;
      return pool;
    })();
    return this.opening;
  }

  private wrap(op: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new StoreError(`${this.where}: ${op} failed: ${msg.split('\n')[0]}`, { cause: err, retryable: isRetryablePg(err) });
  }

  /**
   * Runs `fn` with a pooled client; retries on a dropped connection (every caller is idempotent). When the server
   * dropped them all, each idle client in the pool may be dead before the pool has noticed: each retry discards
   * one, so the pool's size plus one attempts always reach a fresh connection.
   */
  private async run<T>(op: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const pool = await this.getPool();
      let client: PoolClient | null = null;
      try {
        client = await pool.connect();
        const out = await fn(client);
        client.release();
        return out;
      } catch (err) {
        client?.release(isRetryablePg(err) ? (err as Error) : undefined);
        if (this.closed) throw new StoreError(`${this.where}: store is closed`, { cause: err });
        if (attempt <= (this.options.poolSize ?? 10) && isRetryablePg(err)) {
          this.options.logger?.warn({ op, err: (err as Error).message }, 'postgres: retrying after a dropped connection');
          continue;
        }
        throw this.wrap(op, err);
      }
    }
  }

  async migrate(): Promise<void> {
    await this.run('migrate', async (c) => {
      await inTransaction(c, 'BEGIN', async () => {
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`videodex:${this.schema}`]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.S}`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.S}.videodex_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        const done = new Set((await c.query<{ version: number }>(`SELECT version FROM ${this.S}.videodex_migrations`)).rows.map((r) => r.version));
        const shown = this.schema === 'public' ? this.where : `${this.where} schema ${this.schema}`;
        if (done.size === 0) {
          // Another program's tables of these names: step 1's IF NOT EXISTS would pass them by and fail later on
          // a missing column ("column tsv does not exist"), or worse, alter them. The transaction undoes the rest.
          const taken = await c.query<{ name: string }>(
            `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2) ORDER BY 1`,
            [this.schema, ['videos', 'inputs', 'videodex_meta', 'video_deletions']],
          );
          if (taken.rows.length) {
            throw new StoreError(`${shown} already holds ${taken.rows.map((r) => r.name).join(', ')}, made by something other than videodex (it has no migrations recorded); nothing was changed: give videodex a schema of its own ([Database] Schema, --schema)`);
          }
        }
        refuseNewerLibrary(shown, 'schema', Math.max(0, ...done), Math.max(...PG_MIGRATIONS.map((m) => m.version)));
        // the meta table is there from schema step 1 on; checked before any step runs, as the schema is
        if (done.size > 0) {
          const index = await c.query<{ value: string }>(`SELECT value FROM ${this.S}.videodex_meta WHERE key = 'index_version'`);
          refuseNewerLibrary(shown, 'index format', index.rows[0]?.value, INDEX_VERSION);
        }
        for (const m of PG_MIGRATIONS) {
          if (done.has(m.version)) continue;
          for (const sql of m.sql) await c.query(sql.replaceAll('$S', this.S));
          await c.query(`INSERT INTO ${this.S}.videodex_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
          this.options.logger?.info({ version: m.version, name: m.name }, 'postgres: migrated');
        }
      });
      // One worker at a time, database-wide (the extension is the database's): workers starting together raced to
      // create the trigram index, and the losers logged "pg_trgm not available" of a server that had it.
      await c.query('SELECT pg_advisory_lock(hashtext($1))', ['videodex:optional-steps']);
      try {
        try {
          // ALTER takes the table's strongest lock, so only once, not on every start of every worker
          const current = await c.query<{ c: string }>(`SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'doc'`, [`${this.S}.videos`]);
          if (current.rows[0]?.c !== 'l') await c.query(PG_LZ4_DOCS.replaceAll('$S', this.S));
        } catch (err) {
          this.options.logger?.info({ err: (err as Error).message }, 'postgres: lz4 not available; records are compressed with pglz');
        }
        // pg_trgm is optional: a trusted extension the database owner can usually create.
        try {
          await c.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
          await c.query(PG_TRGM_INDEX.replaceAll('$S', this.S));
          this.trgm = true;
        } catch (err) {
          this.options.logger?.info({ err: (err as Error).message }, 'postgres: pg_trgm not available; name: searches scan');
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', ['videodex:optional-steps']);
      }
    });
    await this.reindexIfStale();
  }

  /**
   * Rebuilds derived columns when the shared index format changed since they were written. One process at a time:
   * workers started together after an upgrade each rewrote every record, N times the work, and each said so. The
   * lock is held on a connection of its own, outside the pool the rewrite writes through (which may have one).
   */
  private async reindexIfStale(): Promise<void> {
    const versionSql = `SELECT value FROM ${this.S}.videodex_meta WHERE key = 'index_version'`;
    const current = await this.run('migrate', async (c) => (await c.query<{ value: string }>(versionSql)).rows[0]?.value);
    if (current === String(INDEX_VERSION)) return;
    const pg = (await import('pg')).default;
    const lock = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 10_000, ...this.options.pool });
    // a connection dropped while waiting must not crash the process: the query fails instead
    lock.on('error', () => undefined);
    try {
      await lock.connect();
      await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`videodex:reindex:${this.schema}`]);
      // read again under the lock: another process may have rebuilt them while this one waited
      const now = (await lock.query<{ value: string }>(versionSql)).rows[0]?.value;
      if (now === String(INDEX_VERSION)) return;
      if (now !== undefined) {
        this.options.logger?.info({ from: now, to: INDEX_VERSION }, 'postgres: rebuilding search columns');
        await rewriteAll(this);
      }
      await lock.query(`INSERT INTO ${this.S}.videodex_meta (key, value) VALUES ('index_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [String(INDEX_VERSION)]);
    } catch (err) {
      throw this.wrap('migrate', err);
    } finally {
      // ending the session releases the lock
      await lock.end().catch(() => undefined);
    }
  }

  /** Whether `name:` is backed by a trigram index (after migrate). */
  get fuzzyNames(): boolean {
    return this.trgm;
  }

  private insertSql(rows: number, mirror = false): string {
    const cols = COLUMNS.join(', ');
    const values: string[] = [];
    let n = 1;
    for (let r = 0; r < rows; r++) values.push(`(${COLUMNS.map((c) => `$${n++}${CASTS[c] ?? ''}`).join(', ')})`);
    return `INSERT INTO ${this.S}.videos AS cur (${cols}) VALUES ${values.join(', ')} ${mirror ? ON_CONFLICT_MIRROR : ON_CONFLICT_UPDATE}`;
  }

  storedForm(video: Video): Video {
    return storable(video).video;
  }

  async upsert(video: Video, options: WriteOptions = {}): Promise<void> {
    const values = rowValues(storable(video));
    // One statement: atomic on its own; ON CONFLICT makes concurrent upserts of one id last-writer-wins.
    await this.run(`upsert ${video.id}`, (c) => c.query(this.insertSql(1, options.mirror), values));
  }

  /**
   * Only the edit changes a person's tag edits (see `VideoStore.updateUserTags`): the row read under its lock and
   * written back in one transaction, rather than a whole copy read earlier written over a stage result.
   */
  async updateUserTags(id: string, edit: (stored: Video) => unknown, updatedAt: string): Promise<Video | null> {
    return this.run(`edit the hand tags of ${id}`, (c) =>
      inTransaction(c, 'BEGIN', async () => {
        const row = (await c.query<{ doc: Video }>(`SELECT doc FROM ${this.S}.videos WHERE id = $1 FOR UPDATE`, [id])).rows[0];
        if (!row) return null;
        const next = edit(row.doc);
        const { [USER_TAGS_KEY]: _was, ...others } = row.doc.extra ?? {};
        const { video, json } = storable({ ...row.doc, extra: next === undefined ? others : { ...others, [USER_TAGS_KEY]: next }, updatedAt });
        // the search columns come from the rest of the document, which stays
        const r = await c.query<{ xid: string }>(`UPDATE ${this.S}.videos SET doc = $2::jsonb, xid = pg_current_xact_id() WHERE id = $1 RETURNING xid::text AS xid`, [id, json]);
        this.handedOut.set(video, r.rows[0]!.xid);
        return video;
      }),
    );
  }

  /**
   * In chunks of 500 records, each atomic on its own (a failure leaves the others written), two at a time;
   * the ids are made distinct first, so two chunks never write the same row. A chunk is streamed with COPY into
   * a session-local staging table and moved with one INSERT ... SELECT ... ON CONFLICT (see postgres-copy.ts).
   */
  async upsertMany(videos: readonly Video[], options: WriteOptions = {}): Promise<void> {
    const byId = new Map<string, Video>();
    for (const v of videos) byId.set(v.id, v);
    const all = [...byId.values()];
    const inFlight: Array<Promise<unknown>> = [];
    try {
      for (let i = 0; i < all.length; i += 500) {
        const chunk = all.slice(i, i + 500);
        // joined flat, in one write: a string built by += was flattened before encoding, and a write per row
        // cost a socket write each
        const rows = chunk.map((v) => copyRow(rowValues(storable(v)))).join('');
        if (inFlight.length >= UPSERT_CHUNKS_IN_FLIGHT) await inFlight.shift();
        const sent = this.run(`upsert ${chunk.length} records`, (c) => this.copyUpsert(c, rows, Boolean(options.mirror)));
        // handled now, awaited below: a failure while an earlier chunk is awaited must not go unhandled
        sent.catch(() => undefined);
        inFlight.push(sent);
      }
      while (inFlight.length > 0) await inFlight.shift();
    } finally {
      await Promise.allSettled(inFlight);
    }
  }

  /** One chunk of `upsertMany`, in one transaction: COPY into the staging table, then upsert from it. */
  private async copyUpsert(c: PoolClient, rows: string, mirror: boolean): Promise<void> {
    const { from: copyFrom } = (await import('pg-copy-streams')).default;
    const cols = COLUMNS.join(', ');
    // Per connection, made once and outside the chunk's transaction (a failed chunk must not roll it back): the
    // search columns' types, no constraints, emptied by each commit. A row is compressed only past the largest
    // target: a record staged compressed was decompressed to be moved and compressed again (a tenth of the
    // server's time).
    if (!this.staged.has(c)) {
      await c.query(`CREATE TEMP TABLE IF NOT EXISTS vdx_upsert_stage WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS AS SELECT ${cols} FROM ${this.S}.videos WITH NO DATA`);
      this.staged.add(c);
    }
    await inTransaction(c, 'BEGIN', async () => {
      await pipeline(Readable.from([rows]), c.query(copyFrom(`COPY vdx_upsert_stage (${cols}) FROM STDIN`)));
      await c.query(`INSERT INTO ${this.S}.videos AS cur (${cols}) SELECT ${cols} FROM vdx_upsert_stage ${mirror ? ON_CONFLICT_MIRROR : ON_CONFLICT_UPDATE}`);
    });
  }

  /**
   * The row version (`xid`, set by every write) of each record `iterate` and `get` handed out, by the object they
   * gave: `updateTags` writes a record back only while its row is still that version.
   */
  private readonly handedOut = new WeakMap<Video, string>();

  /**
   * Re-tagging's write: one UPDATE per 500 records (a missing id updates nothing), setting the record, the
   * failed flag and, only for records whose labels changed, the label arrays and the tsvector; the other
   * derived columns are left alone, so no IndexFields is computed for the rest. A record written by anyone else
   * since this store handed it out is left as that write left it: re-tagged from the old record, this write
   * would have replaced the other's new inputs (a model answer, metadata) with the old ones. A record this store
   * did not hand out keeps its stored hand edits, as `upsert` does.
   */
  async updateTags(changes: readonly TagUpdate[]): Promise<void> {
    for (let i = 0; i < changes.length; i += 500) {
      const chunk = changes.slice(i, i + 500);
      const ids: string[] = [];
      const read: Array<string | null> = [];
      const docs: string[] = [];
      const failed: boolean[] = [];
      const labels: Array<string | null> = [];
      const tsvs: Array<string | null> = [];
      for (const { before, after: given } of chunk) {
        const { video: after, json } = storable(given);
        ids.push(after.id);
        read.push(this.handedOut.get(before) ?? null);
        docs.push(json);
        failed.push(hasFailedStage(after));
        const f = labelsMoved(before, after) ? indexFields(after) : null;
        labels.push(f ? JSON.stringify({ tags: f.tags, categories: f.categories, actions: f.actions }) : null);
        tsvs.push(f ? tsvectorLiteral(f) : null);
      }
      await this.run(`update tags of ${chunk.length} records`, (c) =>
        c.query(
          `UPDATE ${this.S}.videos v SET doc = CASE WHEN u.xid IS NULL THEN ${keepingUserTags('u.doc::jsonb', 'v')} ELSE u.doc::jsonb END, failed = u.failed,
             tags = CASE WHEN u.labels IS NULL THEN v.tags ELSE ARRAY(SELECT x FROM jsonb_array_elements_text(u.labels::jsonb -> 'tags') WITH ORDINALITY AS l(x, n) ORDER BY n) END,
             categories = CASE WHEN u.labels IS NULL THEN v.categories ELSE ARRAY(SELECT x FROM jsonb_array_elements_text(u.labels::jsonb -> 'categories') WITH ORDINALITY AS l(x, n) ORDER BY n) END,
             actions = CASE WHEN u.labels IS NULL THEN v.actions ELSE ARRAY(SELECT x FROM jsonb_array_elements_text(u.labels::jsonb -> 'actions') WITH ORDINALITY AS l(x, n) ORDER BY n) END,
             tsv = coalesce(u.tsv::tsvector, v.tsv), xid = pg_current_xact_id()
           FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::text[], $6::text[]) AS u(id, doc, failed, labels, tsv, xid)
           WHERE v.id = u.id AND (u.xid IS NULL OR v.xid = u.xid::xid8)`,
          [ids, docs, failed, labels, tsvs, read],
        ),
      );
    }
  }

  async get(id: string): Promise<Video | null> {
    return this.run(`get ${id}`, async (c) => {
      const r = await c.query<{ doc: Video; xid: string }>(`SELECT doc, xid::text AS xid FROM ${this.S}.videos WHERE id = $1`, [id]);
      const row = r.rows[0];
      if (!row) return null;
      this.handedOut.set(row.doc, row.xid);
      return row.doc;
    });
  }

  async findByPath(path: string): Promise<Video[]> {
    return this.run('find by path', async (c) => (await c.query<{ doc: Video }>(`SELECT doc FROM ${this.S}.videos WHERE file_path = $1 ORDER BY id`, [path])).rows.map((r) => r.doc));
  }

  async delete(id: string): Promise<boolean> {
    // the tombstone tells search replicas elsewhere that the record is gone
    return this.run(`delete ${id}`, async (c) =>
      ((await c.query(`WITH gone AS (DELETE FROM ${this.S}.videos WHERE id = $1 RETURNING id) INSERT INTO ${this.S}.video_deletions (id) SELECT id FROM gone`, [id])).rowCount ?? 0) > 0,
    );
  }

  async hasLibrary(): Promise<boolean> {
    // the migrations table is the first thing migrate makes in the schema
    return this.run('open', async (c) => (await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${this.S}.videodex_migrations`])).rows[0]?.t != null);
  }

  async library(): Promise<LibraryIdentity> {
    // the id schema 1 made with the meta table
    const id = await this.run('library', async (c) => (await c.query<{ value: string }>(`SELECT value FROM ${this.S}.videodex_meta WHERE key = 'library_id'`)).rows[0]?.value);
    if (!id) throw new StoreError(`${this.where}: the library has no id (videodex_meta.library_id); run videodex db migrate`);
    return { id, where: this.schema === 'public' ? this.where : `${this.where} schema ${this.schema}` };
  }

  async count(query: SearchQuery = {}): Promise<number> {
    const plan = planQuery({ ...query, facets: false });
    return this.countPlan(plan);
  }

  private async countPlan(plan: QueryPlan): Promise<number> {
    const p = new Params();
    const where = plan.where ? pgWhere(plan.where, p) : 'true';
    return this.run('count', async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.S}.videos v WHERE ${where}`, p.values)).rows[0]!.n));
  }

  /**
   * The change feed (see ChangeFeed): in one repeatable-read snapshot, the tombstones and rows written by
   * transactions from the oldest one the previous snapshot could not see (its xmin) on, so a transaction that
   * committed late, after a later one was read, is still read next time.
   */
  async changesSince(from: FeedPosition | null, apply: (batch: ChangeBatch) => Promise<void>): Promise<FeedPosition> {
    return this.run('read changes', async (c) => {
      if (from) {
        // The common case, nothing written since: one statement, whose snapshot gives the next position as the
        // transaction's would. ORDER BY ... LIMIT 1 makes the planner read the xid indexes, whatever its estimates.
        const quick = (
          await c.query<{ xmin: string; library: string | null; changed: boolean }>(
            `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
               (SELECT value FROM ${this.S}.videodex_meta WHERE key = 'library_id') AS library,
               (SELECT xid FROM ${this.S}.videos WHERE xid >= $1::xid8 ORDER BY xid LIMIT 1) IS NOT NULL
                 OR (SELECT xid FROM ${this.S}.video_deletions WHERE xid >= $1::xid8 ORDER BY xid LIMIT 1) IS NOT NULL AS changed`,
            [from.position],
          )
        ).rows[0]!;
        if ((quick.library ?? '') === from.library && !quick.changed) return { library: from.library, position: quick.xmin };
      }
      return inTransaction(c, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async () => {
        const head = (await c.query<{ xmin: string; library: string | null }>(
          `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, (SELECT value FROM ${this.S}.videodex_meta WHERE key = 'library_id') AS library`,
        )).rows[0]!;
        const library = head.library ?? '';
        const since = from && from.library === library ? from.position : null;
        if (since === null) await apply({ reset: true, upserts: [], deletes: [] });
        else {
          // a tombstone of a record written again since is no deletion
          const gone = await c.query<{ id: string }>(
            `SELECT DISTINCT d.id FROM ${this.S}.video_deletions d WHERE d.xid >= $1::xid8 AND NOT EXISTS (SELECT 1 FROM ${this.S}.videos v WHERE v.id = d.id)`,
            [since],
          );
          if (gone.rows.length > 0) await apply({ upserts: [], deletes: gone.rows.map((r) => r.id) });
        }
        // Keyset pages in (xid, id) order, which the xid index gives without sorting: the planner takes it
        // whatever its estimates (by id, on a column not analysed yet, it walked the primary key: 0.5 s at 100k).
        let after: [string, string] = [since ?? '0', ''];
        for (;;) {
          const rows = (
            await c.query<{ at: string; id: string; doc: Video }>(
              `SELECT xid::text AS at, id, doc FROM ${this.S}.videos WHERE (xid, id) > ($1::xid8, $2) ORDER BY xid, id LIMIT $3`,
              [after[0], after[1], FEED_BATCH],
            )
          ).rows;
          if (rows.length > 0) await apply({ upserts: rows.map((r) => r.doc), deletes: [] });
          if (rows.length < FEED_BATCH) break;
          const last = rows.at(-1)!;
          after = [last.at, last.id];
        }
        return { library, position: head.xmin };
      });
    });
  }

  async warm(): Promise<void> {
    await this.onReplica((r) => r.warm());
  }

  async search(query: SearchQuery): Promise<SearchResult> {
    return (await this.onReplica((r) => r.search(query))) ?? this.searchInPostgres(query);
  }

  /** `fn` on the search replica; undefined without one, or when the copy's own file or disk fails. */
  private async onReplica<T>(fn: (replica: SearchReplica) => Promise<T>): Promise<T | undefined> {
    if (!this.replica) return undefined;
    try {
      return await fn(this.replica);
    } catch (err) {
      // Answers still come, from the server, rather than errors; the server's own failures are thrown.
      if ((err as StoreError).code !== REPLICA_ERROR_CODE) throw err;
      this.options.logger?.warn({ replica: this.replica.file, err: (err as Error).message }, 'search replica unavailable: searching in PostgreSQL');
      const broken = this.replica;
      this.replica = null;
      await broken.close().catch(() => undefined);
      return undefined;
    }
  }

  /** The search in SQL: exact ts_rank relevance, totals and facets by scanning the match. */
  async searchInPostgres(query: SearchQuery): Promise<SearchResult> {
    const plan = planQuery(query);
    const p = new Params();
    const s = pgSearch(plan, p);
    const cond = s.after ? `${s.where} AND ${s.after}` : s.where;
    const limit = p.add(plan.limit + 1);
    const offset = p.add(plan.offset);
    const sql = `SELECT v.doc, ${s.score} AS score, v.name, v.sort_duration, v.created, v.added, v.bytes
      FROM ${this.S}.videos v WHERE ${cond} ORDER BY ${s.orderBy} LIMIT ${limit} OFFSET ${offset}`;
    const [rows, { total, facets }] = await Promise.all([
      this.run('search', async (c) => (await c.query<{ doc: Video; score: number; name: string; sort_duration: number; created: string; added: string; bytes: number }>(sql, p.values)).rows),
      plan.facets ? this.facetsAndTotal(plan) : this.countPlan(plan).then((n) => ({ total: n, facets: emptyFacets() })),
    ]);
    const hasMore = rows.length > plan.limit;
    const page = rows.slice(0, plan.limit);
    const last = page.at(-1);
    return {
      hits: page.map((r) => {
        const hl = highlight(r.doc, plan.terms);
        return { id: r.doc.id, score: Number(r.score), ...(hl ? { highlight: hl } : {}), video: r.doc };
      }),
      total,
      facets,
      nextCursor: nextCursor(plan, hasMore, page.length, last && { id: last.doc.id, name: last.name, duration: last.sort_duration, created: last.created, added: last.added, bytes: Number(last.bytes) }),
    };
  }

  private readonly facetCache = new FacetCache();

  /**
   * Total and facets of a match, kept per filter while the database shows the same snapshot
   * (`pg_current_snapshot()`: equal snapshots see the same committed data, whoever wrote). A miss computes
   * them in a repeatable-read transaction, so the snapshot it is filed under is the one it counted.
   */
  private async facetsAndTotal(plan: QueryPlan): Promise<{ total: number; facets: Facets }> {
    const p = new Params();
    const where = plan.where ? pgWhere(plan.where, p) : 'true';
    const key = `${where}\u0000${JSON.stringify(p.values)}`;
    return this.run('facets', async (c) => {
      const now = (await c.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0]!.s;
      const hit = this.facetCache.get(now, key);
      if (hit) return hit;
      const { snapshot, out } = await inTransaction(c, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async () => ({
        snapshot: (await c.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0]!.s,
        out: await this.facetQuery(c, where, p.values),
      }));
      return this.facetCache.set(snapshot, key, out);
    });
  }

  /** Every facet and the total in one statement: one pass over the match. */
  private async facetQuery(c: PoolClient, where: string, values: unknown[]): Promise<{ total: number; facets: Facets }> {
    const sql = `WITH m AS MATERIALIZED (SELECT v.tags, v.categories, v.codec, v.source_kind, v.resolution FROM ${this.S}.videos v WHERE ${where})
      SELECT 'tags' AS f, x AS k, count(*) AS n FROM m, unnest(m.tags) x GROUP BY x
      UNION ALL SELECT 'categories', x, count(*) FROM m, unnest(m.categories) x GROUP BY x
      UNION ALL SELECT 'codecs', codec, count(*) FROM m WHERE codec IS NOT NULL GROUP BY codec
      UNION ALL SELECT 'sourceKinds', source_kind, count(*) FROM m WHERE source_kind IS NOT NULL GROUP BY source_kind
      UNION ALL SELECT 'resolutions', resolution, count(*) FROM m WHERE resolution IS NOT NULL GROUP BY resolution
      UNION ALL SELECT 'total', NULL, count(*) FROM m`;
    const rows = (await c.query<{ f: keyof Facets | 'total'; k: string; n: string }>(sql, values)).rows;
    const grouped: Record<keyof Facets, Array<[string, number]>> = { tags: [], categories: [], codecs: [], sourceKinds: [], resolutions: [] };
    let total = 0;
    for (const r of rows) {
      if (r.f === 'total') total = Number(r.n);
      else grouped[r.f].push([r.k, Number(r.n)]);
    }
    return {
      total,
      facets: {
        tags: topFacet(grouped.tags, FACET_SIZE),
        categories: topFacet(grouped.categories, FACET_SIZE),
        codecs: topFacet(grouped.codecs, FACET_SIZE),
        sourceKinds: topFacet(grouped.sourceKinds, FACET_SIZE),
        resolutions: topFacet(grouped.resolutions, FACET_SIZE),
      },
    };
  }

  readonly shards = true;

  async *iterate(query: SearchQuery = {}, options: IterateOptions = {}): AsyncIterable<Video> {
    // Keyset pages by id: stable, constant memory, no long-lived cursor holding a connection.
    const plan = planQuery({ ...query, facets: false });
    const shard = checkedShard(options);
    let afterId: string | null = null;
    for (;;) {
      const p = new Params();
      let where = plan.where ? pgWhere(plan.where, p) : 'true';
      // ids are spread evenly by their hash, whatever their form
      if (shard) where = `${where} AND (hashtext(v.id) & 2147483647) % ${p.add(shard.count)} = ${p.add(shard.index)}`;
      const cond: string = afterId === null ? where : `${where} AND v.id > ${p.add(afterId)}`;
      const rows: Array<{ doc: Video; xid: string }> = await this.run('iterate', async (c): Promise<Array<{ doc: Video; xid: string }>> => (await c.query<{ doc: Video; xid: string }>(`SELECT v.doc, v.xid::text AS xid FROM ${this.S}.videos v WHERE ${cond} ORDER BY v.id LIMIT 200`, p.values)).rows);
      for (const r of rows) {
        // retag writes back what it read here: only over the same row version (see `updateTags`)
        this.handedOut.set(r.doc, r.xid);
        yield r.doc;
      }
      if (rows.length < 200) return;
      afterId = rows.at(-1)!.doc.id;
    }
  }

  async getInput(key: string): Promise<InputRecord | null> {
    return this.run('get input', async (c) => (await c.query<{ row: InputRecord }>(`SELECT row FROM ${this.S}.inputs WHERE key = $1`, [key])).rows[0]?.row ?? null);
  }

  async putInput(row: InputRecord): Promise<void> {
    await this.run('put input', (c) =>
      c.query(`INSERT INTO ${this.S}.inputs (key, status, row) VALUES ($1, $2, $3::jsonb) ON CONFLICT (key) DO UPDATE SET status = EXCLUDED.status, row = EXCLUDED.row`, [holdable(row.key), row.status, storableJson(row).json]),
    );
  }

  async putInputs(rows: readonly InputRecord[]): Promise<void> {
    // the last row of a key wins, as one putInput after another: ON CONFLICT cannot touch a row twice in a statement
    const byKey = new Map<string, InputRecord>();
    for (const r of rows) byKey.set(holdable(r.key), r);
    if (byKey.size === 0) return;
    await this.run(`put ${byKey.size} inputs`, (c) =>
      c.query(
        `INSERT INTO ${this.S}.inputs (key, status, row) SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
         ON CONFLICT (key) DO UPDATE SET status = EXCLUDED.status, row = EXCLUDED.row`,
        [[...byKey.keys()], [...byKey.values()].map((r) => r.status), [...byKey.values()].map((r) => storableJson(r).json)],
      ),
    );
  }

  async *iterateInputs(options: { afterKey?: string } = {}): AsyncIterable<InputRecord> {
    let after = options.afterKey ?? null;
    for (;;) {
      // keyed on the column (COLLATE "C": byte order, as SQLite's), so each page is an index range, not a sort
      const rows = await this.run('iterate inputs', async (c) =>
        after === null
          ? (await c.query<{ key: string; row: InputRecord }>(`SELECT key, row FROM ${this.S}.inputs ORDER BY key LIMIT $1`, [INPUTS_PAGE])).rows
          : (await c.query<{ key: string; row: InputRecord }>(`SELECT key, row FROM ${this.S}.inputs WHERE key > $1 ORDER BY key LIMIT $2`, [after, INPUTS_PAGE])).rows,
      );
      for (const r of rows) yield r.row;
      if (rows.length < INPUTS_PAGE) return;
      after = rows.at(-1)!.key;
    }
  }

  async countInputs(): Promise<number> {
    return this.run('count inputs', async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.S}.inputs`)).rows[0]?.n ?? 0));
  }

  async listInputs(status?: InputRecord['status']): Promise<InputRecord[]> {
    return this.run('list inputs', async (c) => {
      const r = status
        ? await c.query<{ row: InputRecord }>(`SELECT row FROM ${this.S}.inputs WHERE status = $1 ORDER BY key`, [status])
        : await c.query<{ row: InputRecord }>(`SELECT row FROM ${this.S}.inputs ORDER BY key`);
      return r.rows.map((x) => x.row);
    });
  }

  /** Drops the schema and everything in it (tests, `db copy` rollback). */
  async dropSchema(): Promise<void> {
    await this.run('drop schema', (c) => c.query(`DROP SCHEMA IF EXISTS ${this.S} CASCADE`));
  }

  /** Test hook: terminates this pool's server connections, as a server restart would. */
  async terminateConnections(): Promise<number> {
    const pool = await this.getPool();
    const c = await pool.connect();
    try {
      const r = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = current_user AND application_name = $1', [
        this.options.pool?.application_name ?? '',
      ]);
      // Keep this client out of the pool too: every pooled connection is now dead or discarded.
      c.release(new Error('terminated by test hook'));
      return r.rowCount ?? 0;
    } catch (err) {
      c.release();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.replica?.close();
    const pool = this.pool ?? (this.opening ? await this.opening.catch(() => null) : null);
    this.pool = null;
    await pool?.end();
  }
}
