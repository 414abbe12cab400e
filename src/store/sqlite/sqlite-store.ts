import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, type Video } from '../../core/index.js';
import type { Facets, SearchQuery, SearchResult, SortKey } from '../search-query.js';
import { hasFailedStage, resolutionClass, searchFields } from '../search-text.js';
import type { InputRecord, VideoStore } from '../video-store.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

type Param = string | number | null;

interface Where {
  sql: string;
  params: Param[];
  /** The FTS MATCH expression, when the query has text. */
  match: string | null;
}

const SORTS: Record<Exclude<SortKey, 'relevance'>, string> = {
  'created-desc': 'v.created_at DESC, v.id',
  'created-asc': 'v.created_at ASC, v.id',
  'duration-desc': 'v.duration DESC, v.id',
  'duration-asc': 'v.duration ASC, v.id',
  'name-asc': 'v.path ASC, v.id',
  'name-desc': 'v.path DESC, v.id',
  'size-desc': 'v.bytes DESC, v.id',
  'size-asc': 'v.bytes ASC, v.id',
};

/** Turns free text into a safe FTS5 expression: every word quoted, `word*` kept as a prefix, "phrases" kept. */
export function toFtsQuery(text: string): string | null {
  const parts: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] !== undefined) {
      const words = m[1].match(/[\p{L}\p{N}]+/gu);
      if (words?.length) parts.push(`"${words.join(' ')}"`);
    } else {
      const raw = m[2]!;
      const prefix = raw.endsWith('*');
      const words = raw.match(/[\p{L}\p{N}]+/gu);
      if (!words?.length) continue;
      const phrase = `"${words.join(' ')}"`;
      parts.push(prefix ? `${phrase}*` : phrase);
    }
  }
  return parts.length ? parts.join(' ') : null;
}

/**
 * The embedded default store: the record as JSON beside indexed columns, tag/category tables and an FTS5
 * table, all written in one transaction per upsert. WAL lets searches run while a process writes.
 */
export class SqliteStore implements VideoStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 10000');
      this.db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new StoreError(`cannot open SQLite database ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const code = (err as { code?: string }).code ?? '';
      throw new StoreError(`SQLite ${what} failed: ${(err as Error).message}`, { cause: err, retryable: code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' });
    }
  }

  async migrate(): Promise<void> {
    this.guard('migrate', () => {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
      for (const m of SQLITE_MIGRATIONS) {
        if (done.has(m.version)) continue;
        this.db.transaction(() => {
          this.db.exec(m.sql);
          this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
        })();
      }
    });
  }

  async upsert(video: Video): Promise<void> {
    this.guard('upsert', () => this.upsertTx(video));
  }

  private readonly upsertTx = (video: Video) =>
    this.db.transaction((v: Video) => {
      const m = v.metadata;
      const row = this.db
        .prepare(
          `INSERT INTO videos (id, doc, path, title, source_kind, duration, width, height, fps, codec, bytes, has_audio, scene_count, failed, created_at, updated_at)
           VALUES (@id, @doc, @path, @title, @source_kind, @duration, @width, @height, @fps, @codec, @bytes, @has_audio, @scene_count, @failed, @created_at, @updated_at)
           ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, path = excluded.path, title = excluded.title, source_kind = excluded.source_kind,
             duration = excluded.duration, width = excluded.width, height = excluded.height, fps = excluded.fps, codec = excluded.codec,
             bytes = excluded.bytes, has_audio = excluded.has_audio, scene_count = excluded.scene_count, failed = excluded.failed,
             updated_at = excluded.updated_at
           RETURNING rowid`,
        )
        .get({
          id: v.id,
          doc: JSON.stringify(v),
          path: v.file.path,
          title: v.source.title ?? m?.containerTags.title ?? null,
          source_kind: v.source.kind,
          duration: m?.durationSec ?? null,
          width: m?.width ?? null,
          height: m?.height ?? null,
          fps: m?.fps ?? null,
          codec: m?.videoCodec ?? null,
          bytes: v.file.bytes,
          has_audio: m ? (m.audio ? 1 : 0) : null,
          scene_count: v.scenes.length,
          failed: hasFailedStage(v) ? 1 : 0,
          created_at: v.createdAt,
          updated_at: v.updatedAt,
        }) as { rowid: number };
      this.db.prepare('DELETE FROM video_tags WHERE video_id = ?').run(v.id);
      this.db.prepare('DELETE FROM video_categories WHERE video_id = ?').run(v.id);
      const addTag = this.db.prepare('INSERT OR IGNORE INTO video_tags (video_id, tag) VALUES (?, ?)');
      for (const t of v.tags) addTag.run(v.id, t.name.toLowerCase());
      const addCat = this.db.prepare('INSERT OR IGNORE INTO video_categories (video_id, category) VALUES (?, ?)');
      for (const c of v.categories) addCat.run(v.id, c.name.toLowerCase());
      const f = searchFields(v);
      this.db.prepare('DELETE FROM videos_fts WHERE rowid = ?').run(row.rowid);
      this.db.prepare('INSERT INTO videos_fts (rowid, title, tags, description, filename) VALUES (?, ?, ?, ?, ?)').run(row.rowid, f.title, f.tags, f.description, f.filename);
    })(video);

  async get(id: string): Promise<Video | null> {
    return this.guard('get', () => {
      const row = this.db.prepare('SELECT doc FROM videos WHERE id = ?').get(id) as { doc: string } | undefined;
      return row ? (JSON.parse(row.doc) as Video) : null;
    });
  }

  async findByPath(file: string): Promise<Video[]> {
    return this.guard('findByPath', () =>
      (this.db.prepare('SELECT doc FROM videos WHERE path = ?').all(file) as { doc: string }[]).map((r) => JSON.parse(r.doc) as Video),
    );
  }

  private where(q: SearchQuery): Where {
    const clauses: string[] = [];
    const params: Param[] = [];
    const match = q.text ? toFtsQuery(q.text) : null;
    if (q.text && !match) clauses.push('0');
    if (match) {
      clauses.push('v.rowid IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)');
      params.push(match);
    }
    for (const tag of q.tags ?? []) {
      clauses.push('EXISTS (SELECT 1 FROM video_tags t WHERE t.video_id = v.id AND t.tag = ?)');
      params.push(tag.toLowerCase());
    }
    if (q.anyTags?.length) {
      clauses.push(`EXISTS (SELECT 1 FROM video_tags t WHERE t.video_id = v.id AND t.tag IN (${q.anyTags.map(() => '?').join(',')}))`);
      params.push(...q.anyTags.map((t) => t.toLowerCase()));
    }
    for (const tag of q.notTags ?? []) {
      clauses.push('NOT EXISTS (SELECT 1 FROM video_tags t WHERE t.video_id = v.id AND t.tag = ?)');
      params.push(tag.toLowerCase());
    }
    for (const cat of q.categories ?? []) {
      clauses.push('EXISTS (SELECT 1 FROM video_categories c WHERE c.video_id = v.id AND c.category = ?)');
      params.push(cat.toLowerCase());
    }
    const range = (col: string, r: { min?: number; max?: number } | undefined) => {
      if (r?.min !== undefined) {
        clauses.push(`v.${col} >= ?`);
        params.push(r.min);
      }
      if (r?.max !== undefined) {
        clauses.push(`v.${col} <= ?`);
        params.push(r.max);
      }
    };
    range('duration', q.duration);
    range('width', q.width);
    range('height', q.height);
    range('fps', q.fps);
    if (q.codec) {
      clauses.push('v.codec = ?');
      params.push(q.codec.toLowerCase());
    }
    if (q.sourceKind) {
      clauses.push('v.source_kind = ?');
      params.push(q.sourceKind);
    }
    if (q.failed) clauses.push('v.failed = 1');
    return { sql: clauses.length ? clauses.join(' AND ') : '1', params, match };
  }

  async search(q: SearchQuery): Promise<SearchResult> {
    return this.guard('search', () => {
      const w = this.where(q);
      const limit = Math.max(0, Math.min(q.limit ?? 20, 10_000));
      const offset = Math.max(0, q.offset ?? 0);
      const sort = q.sort ?? (w.match ? 'relevance' : 'created-desc');
      let rows: Array<{ doc: string; id: string; score: number; highlight: string | null }>;
      if (w.match) {
        const order = sort === 'relevance' ? 'score DESC, v.id' : SORTS[sort];
        rows = this.db
          .prepare(
            `SELECT v.doc, v.id, -bm25(videos_fts, 10.0, 5.0, 2.0, 1.0) AS score,
                    snippet(videos_fts, 2, '[', ']', '…', 12) AS highlight
             FROM videos_fts JOIN videos v ON v.rowid = videos_fts.rowid
             WHERE videos_fts MATCH ? AND ${w.sql}
             ORDER BY ${order} LIMIT ? OFFSET ?`,
          )
          .all(w.match, ...w.params, limit, offset) as typeof rows;
      } else {
        const order = sort === 'relevance' ? SORTS['created-desc'] : SORTS[sort];
        rows = this.db
          .prepare(`SELECT v.doc, v.id, 0 AS score, NULL AS highlight FROM videos v WHERE ${w.sql} ORDER BY ${order} LIMIT ? OFFSET ?`)
          .all(...w.params, limit, offset) as typeof rows;
      }
      const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM videos v WHERE ${w.sql}`).get(...w.params) as { n: number }).n;
      return {
        hits: rows.map((r) => ({
          id: r.id,
          score: Math.round(r.score * 1000) / 1000,
          ...(r.highlight && r.highlight.includes('[') ? { highlight: r.highlight } : {}),
          video: JSON.parse(r.doc) as Video,
        })),
        total,
        facets: this.facets(w),
      };
    });
  }

  private facets(w: Where): Facets {
    const sub = `SELECT v.id FROM videos v WHERE ${w.sql}`;
    const toMap = (rows: Array<{ k: string | null; n: number }>) => Object.fromEntries(rows.filter((r) => r.k !== null).map((r) => [r.k, r.n]));
    const tags = this.db.prepare(`SELECT tag AS k, COUNT(*) AS n FROM video_tags WHERE video_id IN (${sub}) GROUP BY tag ORDER BY n DESC, tag LIMIT 50`).all(...w.params) as Array<{ k: string; n: number }>;
    const categories = this.db
      .prepare(`SELECT category AS k, COUNT(*) AS n FROM video_categories WHERE video_id IN (${sub}) GROUP BY category ORDER BY n DESC, category LIMIT 50`)
      .all(...w.params) as Array<{ k: string; n: number }>;
    const codecs = this.db.prepare(`SELECT v.codec AS k, COUNT(*) AS n FROM videos v WHERE ${w.sql} GROUP BY v.codec ORDER BY n DESC`).all(...w.params) as Array<{ k: string; n: number }>;
    const kinds = this.db.prepare(`SELECT v.source_kind AS k, COUNT(*) AS n FROM videos v WHERE ${w.sql} GROUP BY v.source_kind ORDER BY n DESC`).all(...w.params) as Array<{ k: string; n: number }>;
    const sizes = this.db.prepare(`SELECT v.width AS w, v.height AS h FROM videos v WHERE ${w.sql} AND v.width IS NOT NULL`).all(...w.params) as Array<{ w: number; h: number }>;
    const resolutions: Record<string, number> = {};
    for (const s of sizes) {
      const c = resolutionClass(s.w, s.h);
      resolutions[c] = (resolutions[c] ?? 0) + 1;
    }
    return { tags: toMap(tags), categories: toMap(categories), codecs: toMap(codecs), sourceKinds: toMap(kinds), resolutions };
  }

  async *iterate(q: SearchQuery = {}): AsyncIterable<Video> {
    const w = this.guard('iterate', () => this.where({ ...q, sort: undefined }));
    let after = '';
    const page = 500;
    for (;;) {
      const rows = this.guard(
        'iterate',
        () => this.db.prepare(`SELECT v.id, v.doc FROM videos v WHERE ${w.sql} AND v.id > ? ORDER BY v.id LIMIT ?`).all(...w.params, after, page) as Array<{ id: string; doc: string }>,
      );
      for (const r of rows) yield JSON.parse(r.doc) as Video;
      if (rows.length < page) return;
      after = rows.at(-1)!.id;
    }
  }

  async count(q: SearchQuery = {}): Promise<number> {
    return this.guard('count', () => {
      const w = this.where(q);
      return (this.db.prepare(`SELECT COUNT(*) AS n FROM videos v WHERE ${w.sql}`).get(...w.params) as { n: number }).n;
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.guard('delete', () =>
      this.db.transaction(() => {
        const row = this.db.prepare('SELECT rowid FROM videos WHERE id = ?').get(id) as { rowid: number } | undefined;
        if (!row) return false;
        this.db.prepare('DELETE FROM videos_fts WHERE rowid = ?').run(row.rowid);
        this.db.prepare('DELETE FROM video_tags WHERE video_id = ?').run(id);
        this.db.prepare('DELETE FROM video_categories WHERE video_id = ?').run(id);
        this.db.prepare('DELETE FROM videos WHERE id = ?').run(id);
        return true;
      })(),
    );
  }

  async getInput(key: string): Promise<InputRecord | null> {
    return this.guard('getInput', () => {
      const r = this.db.prepare('SELECT * FROM inputs WHERE key = ?').get(key) as Record<string, unknown> | undefined;
      return r ? rowToInput(r) : null;
    });
  }

  async putInput(row: InputRecord): Promise<void> {
    this.guard('putInput', () => {
      this.db
        .prepare(
          `INSERT INTO inputs (key, status, video_id, attempts, bytes, error, error_code, file_size, file_mtime_ms, list_file, updated_at)
           VALUES (@key, @status, @videoId, @attempts, @bytes, @error, @errorCode, @fileSize, @fileMtimeMs, @listFile, @updatedAt)
           ON CONFLICT(key) DO UPDATE SET status = excluded.status, video_id = excluded.video_id, attempts = excluded.attempts,
             bytes = excluded.bytes, error = excluded.error, error_code = excluded.error_code, file_size = excluded.file_size,
             file_mtime_ms = excluded.file_mtime_ms, list_file = excluded.list_file, updated_at = excluded.updated_at`,
        )
        .run(row);
    });
  }

  async listInputs(status?: InputRecord['status']): Promise<InputRecord[]> {
    return this.guard('listInputs', () => {
      const rows = (status
        ? this.db.prepare('SELECT * FROM inputs WHERE status = ? ORDER BY key').all(status)
        : this.db.prepare('SELECT * FROM inputs ORDER BY key').all()) as Record<string, unknown>[];
      return rows.map(rowToInput);
    });
  }

  async close(): Promise<void> {
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
