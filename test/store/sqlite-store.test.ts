import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryError } from '../../src/core/index.js';
import { copyStore, SqliteStore } from '../../src/store/index.js';
import { PAGE_SIZE } from '../../src/store/sqlite/sqlite-store.js';
import { INDEX_VERSION } from '../../src/store/query/index-fields.js';
import { runStoreContract } from './contract.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const t = tempDir();
let store: SqliteStore;
beforeAll(async () => {
  store = new SqliteStore(path.join(t.dir, 'db', 'v.db'));
  await store.migrate();
  await store.migrate(); // idempotent
  const meta = (w: number, h: number, d: number, codec = 'h264', audio = false) => ({ durationSec: d, container: 'mp4', bitRate: 1, width: w, height: h, fps: 30, rotation: 0, videoCodec: codec, audio: audio ? { codec: 'aac', channels: 2, sampleRate: 48000 } : null, containerTags: {} });
  await store.upsert(makeRecord({ id: 'a1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'Surfing at the beach' }, metadata: meta(1920, 1080, 30), tags: [{ name: 'Outdoor', source: 'filename' }, { name: 'sea', source: 'ai' }] }));
  await store.upsert(makeRecord({ id: 'b2', metadata: meta(640, 360, 5, 'mpeg4'), tags: [{ name: 'outdoor', source: 'rule' }], ai: { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description: 'A dog runs along the beach chasing a ball', tags: [], actions: [], promptTokens: 1, completionTokens: 1, framesSent: 1, at: 'x' } }));
  await store.upsert(makeRecord({ id: 'c3', metadata: meta(1280, 720, 120), tags: [{ name: 'night', source: 'rule' }], categories: [{ name: 'Sports', source: 'rule' }], stages: { probe: { status: 'failed', version: '1', inputHash: 'h', at: 'x', ms: 1, error: 'boom' } } }));
});
afterAll(async () => {
  await store.close();
  t.cleanup();
});

describe('SqliteStore', () => {
  it('gets what it upserted, whole', async () => {
    const v = await store.get('a1');
    expect(v?.source.title).toBe('Surfing at the beach');
    expect(v?.tags).toHaveLength(2);
    expect(await store.get('nope')).toBeNull();
  });

  it('ranks text matches with bm25 and highlights the description', async () => {
    const r = await store.search({ text: 'beach' });
    expect(r.total).toBe(2);
    expect(r.hits[0]!.id).toBe('a1'); // title outweighs description
    const dog = r.hits.find((h) => h.id === 'b2')!;
    expect(dog.highlight).toContain('[beach]');
    expect((await store.search({ text: 'bea*' })).total).toBe(2);
    expect((await store.search({ text: '"dog runs"' })).total).toBe(1);
    expect((await store.search({ text: '"runs dog"' })).total).toBe(0);
  });

  it('treats FTS operators in user text as words, never as syntax; query syntax errors are QueryErrors', async () => {
    expect((await store.search({ text: '+beach AND * ^' })).total).toBe(2);
    expect((await store.search({ text: 'beach^ {dog}' })).total).toBe(1);
    await expect(store.search({ text: 'beach) OR (' })).rejects.toBeInstanceOf(QueryError);
    expect((await store.search({ text: '***' })).total).toBe(3); // no words: no text condition
  });

  it('name: with a NUL in it matches names holding it, not every name ending in what comes before', async () => {
    // by SQL, as a one-shot CLI search or a library whose column copy is stale answers
    const bySql = new SqliteStore(path.join(t.dir, 'db', 'nul.db'), { columnIndex: 'off' });
    try {
      await bySql.migrate();
      await bySql.upsert(makeRecord({ id: 'n1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'Big river' } }));
      await bySql.upsert(makeRecord({ id: 'n2', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'river\u0000side' } }));
      const ids = async (text: string) => (await bySql.search({ text })).hits.map((h) => h.id).sort();
      expect(await ids('name:"river\u0000"')).toEqual(['n2']);
      expect(await ids('name:"g river\u0000"')).toEqual([]);
      expect(await ids('name:river')).toEqual(['n1', 'n2']);
    } finally {
      await bySql.close();
    }
  });

  it('answers a thousand negated words or tag flags by SQL (SQLite refuses expressions deeper than 1000)', async () => {
    const bySql = new SqliteStore(path.join(t.dir, 'db', 'many.db'), { columnIndex: 'off' });
    try {
      await bySql.migrate();
      await bySql.upsert(makeRecord({ id: 'm1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'river aa' }, tags: [{ name: 't1', source: 'rule' }] }));
      await bySql.upsert(makeRecord({ id: 'm2', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'river' }, tags: [{ name: 't2', source: 'rule' }] }));
      const words: string[] = [];
      for (const a of 'abcdefghijklmnopqrstuvwxyz') for (const b of 'abcdefghijklmnopqrstuvwxyz') words.push(a + b);
      const ids = async (q: Parameters<SqliteStore['search']>[0]) => (await bySql.search({ ...q, limit: 10 })).hits.map((h) => h.id).sort();
      // a one-shot search: every -word its own NOT, and with a positive word, one FTS5 expression
      expect(await ids({ text: words.slice(0, 1000).map((w) => `-${w}`).join(' ') })).toEqual(['m2']);
      expect(await ids({ text: `river ${words.slice(0, 990).map((w) => `-${w}`).join(' ')}` })).toEqual(['m2']);
      expect(await ids({ text: words.slice(0, 500).map((w) => `-tag:${w}`).join(' ') })).toEqual(['m1', 'm2']);
      const tags = Array.from({ length: 5000 }, (_, i) => `t${i}`);
      expect(await ids({ anyTags: tags })).toEqual(['m1', 'm2']);
      expect(await ids({ notTags: tags.slice(3) })).toEqual(['m1', 'm2']);
      expect(await ids({ text: 'river', notTags: tags.slice(2) })).toEqual(['m1']);
    } finally {
      await bySql.close();
    }
  });

  it('filters by tags (all, any, not), categories, ranges, codec and failures', async () => {
    const ids = async (q: Parameters<SqliteStore['search']>[0]) => (await store.search(q)).hits.map((h) => h.id).sort();
    expect(await ids({ tags: ['outdoor'] })).toEqual(['a1', 'b2']);
    expect(await ids({ tags: ['outdoor', 'sea'] })).toEqual(['a1']);
    expect(await ids({ anyTags: ['sea', 'night'] })).toEqual(['a1', 'c3']);
    expect(await ids({ notTags: ['outdoor'] })).toEqual(['c3']);
    expect(await ids({ categories: ['sports'] })).toEqual(['c3']);
    expect(await ids({ duration: { min: 10, max: 60 } })).toEqual(['a1']);
    expect(await ids({ height: { min: 720 } })).toEqual(['a1', 'c3']);
    expect(await ids({ codec: 'MPEG4' })).toEqual(['b2']);
    expect(await ids({ failed: true })).toEqual(['c3']);
  });

  it('computes facets over the whole match and pages stably', async () => {
    const r = await store.search({ limit: 1 });
    expect(r.hits).toHaveLength(1);
    expect(r.total).toBe(3);
    expect(r.facets.tags).toMatchObject({ outdoor: 2, sea: 1, night: 1 });
    expect(r.facets.codecs).toEqual({ h264: 2, mpeg4: 1 });
    expect(r.facets.resolutions).toEqual({ '1080p': 1, '720p': 1, sd: 1 });
    const pages = [];
    for (let o = 0; o < 3; o++) pages.push((await store.search({ sort: 'duration-asc', limit: 1, offset: o })).hits[0]!.id);
    expect(pages).toEqual(['b2', 'a1', 'c3']);
  });

  it('iterates everything in pages and keeps FTS in step on update and delete', async () => {
    const seen = [];
    for await (const v of store.iterate()) seen.push(v.id);
    expect(seen).toEqual(['a1', 'b2', 'c3']);
    const a = (await store.get('a1'))!;
    await store.upsert({ ...a, source: { ...a.source, title: 'Skiing in the mountains' } });
    expect((await store.search({ text: 'surfing' })).total).toBe(0);
    expect((await store.search({ text: 'skiing' })).total).toBe(1);
    expect(await store.delete('a1')).toBe(true);
    expect(await store.delete('a1')).toBe(false);
    expect((await store.search({ text: 'skiing' })).total).toBe(0);
    expect(await store.count()).toBe(2);
  });

  it('keeps the acquisition log', async () => {
    await store.putInput({ key: 'http://x/y.mp4', status: 'failed', videoId: null, attempts: 1, bytes: null, error: 'HTTP 404', errorCode: 'E_HTTP', fileSize: null, fileMtimeMs: null, listFile: null, updatedAt: 'now' });
    await store.putInput({ key: '/a.mp4', status: 'done', videoId: 'a1', attempts: 2, bytes: 5, error: null, errorCode: null, fileSize: 5, fileMtimeMs: 1.5, listFile: null, updatedAt: 'now' });
    expect((await store.getInput('/a.mp4'))?.fileMtimeMs).toBe(1.5);
    expect((await store.listInputs('failed')).map((r) => r.key)).toEqual(['http://x/y.mp4']);
    expect(await store.listInputs()).toHaveLength(2);
  });
});

runStoreContract('sqlite', async () => {
  const dir = tempDir();
  const store = new SqliteStore(path.join(dir.dir, 'contract.db'));
  return { store, cleanup: async () => { await store.close(); dir.cleanup(); } };
});
// Without the in-memory column index, text queries are answered by FTS5 itself: its rows, as the write paths
// left them, are checked too.
runStoreContract('sqlite (FTS5 queries)', async () => {
  const dir = tempDir();
  const store = new SqliteStore(path.join(dir.dir, 'contract.db'), { columnIndex: 'off' });
  return { store, cleanup: async () => { await store.close(); dir.cleanup(); } };
});

/** A raw connection to `file` with the schema as a release at `version` left it (the steps up to it applied). */
async function libraryAtSchema(file: string, version: number) {
  const Database = (await import('better-sqlite3')).default;
  const { SQLITE_MIGRATIONS } = await import('../../src/store/sqlite/migrations.js');
  const db = new Database(file);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= version)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, 'x');
  }
  return db;
}

describe('SqliteStore documents re-tagged with a tag state', () => {
  it('leave their stages to the stages row, and every read and full write gives them back whole', async () => {
    const file = path.join(t.dir, 'retagged-doc.db');
    const s = new SqliteStore(file);
    await s.migrate();
    const stages = { probe: { status: 'done' as const, version: '1', inputHash: 'p', at: 'x', ms: 1 } };
    await s.upsert(makeRecord({ id: 'd1', source: { url: '/v/heron.mp4', kind: 'local', fetchedAt: 'x', title: 'Heron' }, tags: [{ name: 'bird', source: 'rule' }], stages }));
    const read = (await s.get('d1'))!;
    const retagged = { ...read, tags: [{ name: 'heron', source: 'rule' as const }], stages: { ...read.stages, tag: { status: 'done' as const, version: '2', inputHash: 't', at: 'y', ms: 0 } }, updatedAt: '2026-02-01T00:00:00.000Z' };
    await s.updateTags!([{ before: read, after: retagged, tagState: '{"checked":true}' }]);
    const raw = () => {
      const db = new Database(file, { readonly: true });
      try {
        return { doc: JSON.parse((db.prepare('SELECT doc FROM video_docs WHERE id = ?').get('d1') as { doc: string }).doc) as Record<string, unknown>, row: db.prepare('SELECT stages FROM video_stages WHERE id = ?').get('d1') as { stages: string } | undefined };
      } finally {
        db.close();
      }
    };
    expect('stages' in raw().doc).toBe(false);
    expect(JSON.parse(raw().row!.stages)).toEqual(retagged.stages);
    // every read has them, from the row
    expect(await s.get('d1')).toEqual(retagged);
    expect(await s.findByPath(read.file!.path)).toEqual([retagged]);
    const all: unknown[] = [];
    for await (const v of s.iterate()) all.push(v);
    expect(all).toEqual([retagged]);
    expect((await s.search({ text: 'heron' })).hits.map((h) => h.video)).toEqual([retagged]);
    // a write that removes the row writes a whole document: a hand edit, then a full write
    const edited = (await s.updateUserTags('d1', () => ({ add: ['wader'], remove: [] }), '2026-02-02T00:00:00.000Z'))!;
    expect(edited.stages).toEqual(retagged.stages);
    expect(raw().row).toBeUndefined();
    expect(raw().doc.stages).toEqual(retagged.stages);
    expect(await s.get('d1')).toEqual(edited);
    const again = (await s.get('d1'))!;
    await s.updateTags!([{ before: again, after: { ...again, tags: [{ name: 'egret', source: 'rule' }], updatedAt: '2026-02-03T00:00:00.000Z' }, tagState: '{"checked":true}' }]);
    expect('stages' in raw().doc).toBe(false);
    const full = { ...(await s.get('d1'))!, title: undefined };
    await s.upsert(full);
    expect(raw().row).toBeUndefined();
    expect(raw().doc.stages).toEqual(retagged.stages);
    expect((await s.get('d1'))!.stages).toEqual(retagged.stages);
    await s.close();
  });
});

describe('SqliteStore page size', () => {
  const pageSize = async (file: string) => {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true }) as number;
    } finally {
      db.close();
    }
  };
  // a record past 4 KiB of JSON, the size of a tagged record: it overflows a 4 KiB page, not a 16 KiB one
  const big = (id: string) => makeRecord({ id, tags: Array.from({ length: 60 }, (_, i) => ({ name: `tag-number-${i}`, source: 'rule' as const, confidence: 0.9, rule: `rule-${i}` })) });

  it('is PAGE_SIZE (16 KiB) for a new library', async () => {
    const file = path.join(t.dir, 'pages-new.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsert(big('p1'));
    await s.close();
    expect(PAGE_SIZE).toBe(16384);
    expect(JSON.stringify(big('p1')).length).toBeGreaterThan(4096);
    expect(await pageSize(file)).toBe(PAGE_SIZE);
  });

  it('stays as it was for an existing library, which keeps working', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'pages-old.db');
    const raw = new Database(file);
    raw.pragma('page_size = 4096');
    // a library made with 4 KiB pages (every library has this table from its first migrate on)
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    raw.pragma('journal_mode = WAL');
    raw.close();
    const s = new SqliteStore(file);
    await s.migrate();
    const record = big('p2');
    await s.upsert(record);
    expect(await s.get('p2')).toEqual(record);
    expect((await s.search({ text: 'tag:tag-number-59' })).hits.map((h) => h.id)).toEqual(['p2']);
    // what docs/stores.md tells its owner to do: `db copy` into a new file, which gets the new page size
    const copy = path.join(t.dir, 'pages-copied.db');
    const to = new SqliteStore(copy);
    expect((await copyStore(s, to)).copied).toBe(1);
    expect(await to.get('p2')).toEqual(record);
    await to.close();
    await s.close();
    expect(await pageSize(file)).toBe(4096);
    expect(await pageSize(copy)).toBe(PAGE_SIZE);
  });
});

describe('SqliteStore migration from schema 1', () => {
  it('moves records out of the videos table and rebuilds the search index', async () => {
    const file = path.join(t.dir, 'v1.db');
    const db = await libraryAtSchema(file, 1);
    const v = makeRecord({ id: 'old1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'Legacy gondola ride' }, tags: [{ name: 'Boat', source: 'rule' }] });
    db.prepare("INSERT INTO videos (id, doc, path, source_kind, created_at, updated_at) VALUES (?, ?, ?, 'local', ?, ?)").run(v.id, JSON.stringify(v), v.file.path, v.createdAt, v.updatedAt);
    db.close();
    const s = new SqliteStore(file);
    await s.migrate();
    expect(await s.get('old1')).toEqual(v);
    expect((await s.search({ text: 'gondola tag:boat' })).hits.map((h) => h.id)).toEqual(['old1']);
    // Schema 3 rebuilt the text index with prefix indexes: 2- and 3-letter prefixes, and longer ones, still match.
    for (const text of ['go*', 'gon*', 'gond*', 'leg* codec:h264']) expect((await s.search({ text })).hits.map((h) => h.id), text).toEqual(['old1']);
    await s.close();
  });
});

describe('SqliteStore migration 4: the rowid the search index is keyed on is a declared column', () => {
  it('keeps every rowid, so search answers as before the migration, without a reindex', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'v3.db');
    // A library at schema 3 with gaps in its rowids (deleted records), as an old release left it.
    const old = new SqliteStore(file);
    const raw = await libraryAtSchema(file, 3);
    // Marked current, so the reindex cannot hide a migration that loses the FTS rows' keys.
    raw.prepare("INSERT INTO meta (key, value) VALUES ('index_version', ?)").run(String(INDEX_VERSION));
    // This release's writer also keeps the text table of schema 6 and the stages table of schema 7, which a
    // schema-3 library lacks.
    raw.exec('CREATE TABLE video_text (rowid INTEGER PRIMARY KEY, title TEXT NOT NULL, tags TEXT NOT NULL, description TEXT NOT NULL, file TEXT NOT NULL)');
    raw.exec('CREATE TABLE video_stages (id TEXT PRIMARY KEY, stages TEXT NOT NULL) WITHOUT ROWID');
    raw.close();
    const words = ['gondola', 'tram', 'ferry', 'cable car', 'rickshaw', 'monorail'];
    await old.upsertMany(words.map((w, i) => makeRecord({ id: `r${i}`, source: { url: 'x', kind: 'local', fetchedAt: 'x', title: `a ${w} ride` } })));
    await old.delete('r0');
    await old.delete('r3');
    await old.close();
    const before = new Database(file);
    const rowidsBefore = before.prepare('SELECT rowid, id FROM videos ORDER BY id').all();
    expect(before.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual([1, 2, 3].map((version) => ({ version })));
    before.close();

    const s = new SqliteStore(file);
    await s.migrate();
    const db = new Database(file);
    const { SQLITE_MIGRATIONS } = await import('../../src/store/sqlite/migrations.js');
    expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: SQLITE_MIGRATIONS.at(-1)!.version });
    // Schema 8: the FTS index reads its content from the text table, built from it once: every record counted once.
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'videos_fts'").get() as { sql: string }).sql).toContain("content = 'video_text_fts'");
    const { decodeFtsTotals } = await import('../../src/store/sqlite/sqlite-text-index.js');
    expect(decodeFtsTotals(db.prepare('SELECT block FROM videos_fts_data WHERE id = 1').pluck().get() as Buffer).rows).toBe(rowidsBefore.length);
    expect(db.prepare("SELECT count(*) AS n FROM meta WHERE key = 'fts_rebuild_pending'").get()).toEqual({ n: 0 });
    db.prepare("INSERT INTO videos_fts(videos_fts) VALUES('integrity-check')").run();
    const cols = db.prepare('PRAGMA table_info(videos)').all() as Array<{ name: string; pk: number; type: string }>;
    expect(cols.find((c) => c.pk === 1)).toMatchObject({ name: 'rowid', type: 'INTEGER' });
    expect(db.prepare('SELECT rowid, id FROM videos ORDER BY id').all()).toEqual(rowidsBefore);
    // Every index survived the table's rebuild.
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'videos' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((r) => r.name).sort();
    expect(indexes).toEqual(['videos_duration', 'videos_failed', 'videos_height', 'videos_path', 'videos_sort_added', 'videos_sort_bytes', 'videos_sort_created', 'videos_sort_duration', 'videos_sort_name']);
    db.close();
    for (const [i, w] of words.entries()) {
      const want = i === 0 || i === 3 ? [] : [`r${i}`];
      expect((await s.search({ text: `"${w}"` })).hits.map((h) => h.id), w).toEqual(want);
    }
    // The store goes on working on the new table: upserts keep a record's rowid, new ones get fresh ones.
    await s.upsert(makeRecord({ id: 'r1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'a funicular ride' } }));
    await s.upsert(makeRecord({ id: 'r9', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'a hovercraft ride' } }));
    expect((await s.search({ text: 'funicular' })).hits.map((h) => h.id)).toEqual(['r1']);
    expect((await s.search({ text: 'tram' })).hits.map((h) => h.id)).toEqual([]);
    expect((await s.search({ text: 'hovercraft' })).hits.map((h) => h.id)).toEqual(['r9']);
    await s.close();
  });

  it('search survives a copy of the tables that numbers rows afresh (what a dump and restore does)', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'copied.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsertMany(['alpha', 'bravo', 'charlie', 'delta'].map((w, i) => makeRecord({ id: `c${i}`, source: { url: 'x', kind: 'local', fetchedAt: 'x', title: `${w} clip` } })));
    await s.delete('c0');
    await s.close();
    // Rebuild videos the way a restore does: the table's columns copied in another order into a fresh table.
    const db = new Database(file);
    const create = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'videos'").get() as { sql: string }).sql;
    db.exec('ALTER TABLE videos RENAME TO videos_old');
    db.exec(create);
    db.exec('INSERT INTO videos SELECT * FROM videos_old ORDER BY id DESC');
    db.exec('DROP TABLE videos_old');
    db.close();
    const again = new SqliteStore(file);
    await again.migrate();
    for (const [w, id] of [['bravo', 'c1'], ['charlie', 'c2'], ['delta', 'c3']] as const) expect((await again.search({ text: w })).hits.map((h) => h.id), w).toEqual([id]);
    expect((await again.search({ text: 'alpha' })).hits).toEqual([]);
    await again.close();
  });
});

const RIDES = ['gondola', 'tram', 'ferry', 'rickshaw'];
/** A library of four records titled `a <ride> ride`, ids `<prefix>0`..`<prefix>3`, at the current schema. */
async function writeRides(file: string, prefix: string): Promise<void> {
  const s = new SqliteStore(file);
  await s.migrate();
  await s.upsertMany(RIDES.map((w, i) => makeRecord({ id: `${prefix}${i}`, source: { url: 'x', kind: 'local', fetchedAt: 'x', title: `a ${w} ride` } })));
  await s.close();
}

describe('SqliteStore migration 6: the text the in-memory text index is built from', () => {
  it('fills the text table from the records once, without a reindex, and text search answers from it', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'v5.db');
    await writeRides(file, 't');
    // Back to schema 5, as the release before left it: no text table.
    const raw = new Database(file);
    raw.exec('DROP TABLE video_text');
    raw.prepare('DELETE FROM schema_migrations WHERE version = 6').run();
    const ftsBefore = raw.prepare('SELECT count(*) AS n FROM videos_fts_data').get();
    raw.close();

    const s = new SqliteStore(file, { columnIndex: 'always' });
    await s.migrate();
    const db = new Database(file);
    expect(db.prepare('SELECT rowid, title FROM video_text ORDER BY rowid').all()).toEqual(RIDES.map((w, i) => ({ rowid: i + 1, title: `a ${w} ride` })));
    expect(db.prepare("SELECT count(*) AS n FROM meta WHERE key = 'video_text_pending'").get()).toEqual({ n: 0 });
    // no reindex: the FTS index was not rewritten
    expect(db.prepare('SELECT count(*) AS n FROM videos_fts_data').get()).toEqual(ftsBefore);
    db.close();
    for (const [i, w] of RIDES.entries()) expect((await s.search({ text: w })).hits.map((h) => h.id), w).toEqual([`t${i}`]);
    expect((await s.search({ text: 'ride' })).total).toBe(4);
    await s.close();
  });
});

describe('SqliteStore migration 8: the FTS index reads its content from the text table', () => {
  it('rebuilds a schema 7 library\'s contentless index in the migration, with totals counting each record once', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { decodeFtsTotals } = await import('../../src/store/sqlite/sqlite-text-index.js');
    const file = path.join(t.dir, 'v7.db');
    await writeRides(file, 'm');
    // Back to schema 7, as the release before left it: a contentless index whose totals count replaced rows again.
    const raw = new Database(file);
    raw.exec(`
      DROP TABLE videos_fts;
      DROP VIEW video_text_fts;
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
      INSERT INTO videos_fts (rowid, title, tags, description, filename) SELECT rowid, title, tags, description, file FROM video_text;
      DELETE FROM videos_fts WHERE rowid = 1;
      INSERT INTO videos_fts (rowid, title, tags, description, filename) SELECT rowid, title, tags, description, file FROM video_text WHERE rowid = 1;
    `);
    raw.prepare('DELETE FROM schema_migrations WHERE version = 8').run();
    const totals = (db: InstanceType<typeof Database>) => decodeFtsTotals(db.prepare('SELECT block FROM videos_fts_data WHERE id = 1').pluck().get() as Buffer);
    expect(totals(raw).rows).toBe(5); // the replaced row counted twice
    raw.close();

    const s = new SqliteStore(file, { columnIndex: 'off' });
    await s.migrate();
    const db = new Database(file);
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'videos_fts'").get() as { sql: string }).sql).toContain("content = 'video_text_fts'");
    expect(totals(db).rows).toBe(4);
    expect(db.prepare("SELECT count(*) AS n FROM meta WHERE key IN ('fts_rebuild_pending', 'video_text_pending')").get()).toEqual({ n: 0 });
    db.prepare("INSERT INTO videos_fts(videos_fts) VALUES('integrity-check')").run();
    db.close();
    for (const [i, w] of RIDES.entries()) expect((await s.search({ text: w })).hits.map((h) => h.id), w).toEqual([`m${i}`]);
    expect((await s.search({ text: 'ride' })).total).toBe(4);
    // a replaced and a deleted record leave the totals true
    await s.upsert(makeRecord({ id: 'm0', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'a canoe ride' } }));
    expect(await s.delete('m1')).toBe(true);
    const after = new Database(file, { readonly: true });
    expect(totals(after).rows).toBe(3);
    after.close();
    expect((await s.search({ text: 'gondola' })).total).toBe(0);
    expect((await s.search({ text: 'canoe' })).hits.map((h) => h.id)).toEqual(['m0']);
    await s.close();
  });
});

describe('SqliteStore FTS rows', () => {
  it('are kept when a record is written again with the same text, and replaced when its text changed', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { decodeFtsTotals } = await import('../../src/store/sqlite/sqlite-text-index.js');
    const file = path.join(t.dir, 'fts-rows.db');
    const s = new SqliteStore(file, { columnIndex: 'off' });
    await s.migrate();
    const v = makeRecord({ id: 'same1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'a gondola ride' } });
    await s.upsert(v);
    const counted = () => {
      const db = new Database(file, { readonly: true });
      try {
        return decodeFtsTotals(db.prepare('SELECT block FROM videos_fts_data WHERE id = 1').pluck().get() as Buffer).rows;
      } finally {
        db.close();
      }
    };
    expect(counted()).toBe(1);
    // what each stage of `process` does: the record again, its searchable text unchanged
    await s.upsert({ ...v, updatedAt: '2030-01-01T00:00:00.000Z', stages: { probe: { status: 'done', version: '1', inputHash: 'h', at: 'x', ms: 1 } } });
    await s.upsertMany([{ ...v, updatedAt: '2030-01-02T00:00:00.000Z' }]);
    expect(counted()).toBe(1);
    expect((await s.search({ text: 'gondola' })).hits.map((h) => h.id)).toEqual(['same1']);
    await s.upsert({ ...v, source: { ...v.source, title: 'a ferry ride' } });
    expect(counted()).toBe(1); // replaced: the old row's tokens were taken out (schema 8)
    expect((await s.search({ text: 'gondola' })).total).toBe(0);
    expect((await s.search({ text: 'ferry' })).hits.map((h) => h.id)).toEqual(['same1']);
    await s.close();
  });
});

describe('SqliteStore opened by several processes at once', () => {
  it('a new library is migrated exactly once when four workers open it at the same moment', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const file = path.join(t.dir, 'shared.db');
    const script = path.join(t.dir, 'open-and-migrate.mts');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(root, 'src/store/index.ts')).href)};
       const startAt = Number(process.argv[2]);
       while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
       const s = new SqliteStore(process.argv[3]);
       await s.migrate();
       await s.upsert(JSON.parse(process.argv[4]));
       await s.close();`,
    );
    const loader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
    // Far enough ahead that every child has loaded and waits when the moment comes.
    const startAt = Date.now() + 4000;
    const runs = await Promise.all(
      [0, 1, 2, 3].map(
        (i) =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', loader, script, String(startAt), file, JSON.stringify(makeRecord({ id: `w${i}` }))], { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
            child.on('close', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const r of runs) expect(r, r.stderr).toMatchObject({ code: 0 });
    const s = new SqliteStore(file);
    await s.migrate();
    expect((await s.search({})).hits.map((h) => h.id).sort()).toEqual(['w0', 'w1', 'w2', 'w3']);
    await s.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file);
    const { SQLITE_MIGRATIONS } = await import('../../src/store/sqlite/migrations.js');
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(SQLITE_MIGRATIONS.map((m) => ({ version: m.version })));
    db.close();
  }, 60_000);

  it('a new file opens while another process holds its write lock mid-switch to WAL, where SQLite itself does not wait', async () => {
    // The other process has created the file and holds its write lock, as one opening it a moment earlier does
    // while it switches the file to WAL (and makes the first table a library has). Switching reads page 1 first, and a reader is not let wait for a writer.
    const file = path.join(t.dir, 'switching.db');
    const script = path.join(t.dir, 'hold-new-file.mjs');
    const sqlite = pathToFileURL(path.resolve(import.meta.dirname, '../../node_modules/better-sqlite3/lib/index.js')).href;
    writeFileSync(
      script,
      `import Database from ${JSON.stringify(sqlite)};
       const db = new Database(process.argv[2]);
       db.exec('BEGIN IMMEDIATE; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
       process.stdout.write('holding\\n');
       setTimeout(() => { db.exec('COMMIT'); db.close(); }, 400);`,
    );
    const holder = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => holder.on('close', resolve));
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsert(makeRecord({ id: 'after-switch' }));
    expect((await s.search({})).hits.map((h) => h.id)).toEqual(['after-switch']);
    await s.close();
    expect(await exited).toBe(0);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  }, 30_000);
});

describe('SqliteStore opened while another process writes', () => {
  it('an up-to-date library opens and searches while another connection holds the write lock', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'busy.db');
    const first = new SqliteStore(file);
    await first.migrate();
    await first.upsert(makeRecord({ id: 'busy1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'harbour at dusk' } }));
    await first.close();
    const writer = new Database(file);
    writer.exec('BEGIN IMMEDIATE');
    try {
      // Taking the write lock to check the schema would wait out the busy timeout and fail with "database is locked".
      const reader = new SqliteStore(file);
      await reader.migrate();
      expect((await reader.search({ text: 'harbour' })).hits.map((h) => h.id)).toEqual(['busy1']);
      await reader.close();
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  }, 30_000);
});

describe('SqliteStore library-wide facets', () => {
  it('are cached until this or another connection writes', async () => {
    const file = path.join(t.dir, 'facets.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    await a.migrate();
    await b.migrate();
    await a.upsert(makeRecord({ id: 'f1', tags: [{ name: 'first', source: 'rule' }] }));
    expect((await a.search({})).facets.tags).toEqual({ first: 1 });
    await a.upsert(makeRecord({ id: 'f2', tags: [{ name: 'second', source: 'rule' }] }));
    expect((await a.search({})).facets.tags).toEqual({ first: 1, second: 1 });
    await b.upsert(makeRecord({ id: 'f3', tags: [{ name: 'third', source: 'rule' }] }));
    expect((await a.search({})).facets.tags).toEqual({ first: 1, second: 1, third: 1 });
    await b.delete('f1');
    expect((await a.search({})).facets.tags).toEqual({ second: 1, third: 1 });
    await a.close();
    await b.close();
  });
});
