import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { MongoStore } from '../../src/store/mongodb/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import { INDEX_VERSION } from '../../src/store/query/index-fields.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';
import { mingoCollections } from './mingo-collection.js';

// A library a newer videodex upgraded must be refused whole: before, an older one ran none of the schema it did
// not know and "rebuilt" a newer index format back to its own, rewriting every record and the version with it.
const NEWER = /made by a newer videodex \((schema|index format) \d+; this videodex knows up to \d+\)/;
const lastSqliteStep = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

describe('a library from a newer videodex', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  /** A migrated library holding one record, then changed from outside as a newer videodex would leave it. */
  async function sqliteLibrary(name: string, change: (db: Database.Database) => void): Promise<{ file: string; before: unknown[] }> {
    const file = path.join(t.dir, name, 'videodex.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsert(makeRecord({ id: 'r1', tags: [{ name: 'sea', source: 'rule' }] }));
    await s.close();
    const db = new Database(file);
    change(db);
    const before = [db.prepare('SELECT * FROM meta ORDER BY key').all(), db.prepare('SELECT * FROM video_docs').all(), db.prepare('SELECT * FROM video_tags').all()];
    db.close();
    return { file, before };
  }

  function sqliteState(file: string): unknown[] {
    const db = new Database(file, { readonly: true });
    try {
      return [db.prepare('SELECT * FROM meta ORDER BY key').all(), db.prepare('SELECT * FROM video_docs').all(), db.prepare('SELECT * FROM video_tags').all()];
    } finally {
      db.close();
    }
  }

  it('SQLite: a schema step past this version is refused, and nothing is written', async () => {
    const { file, before } = await sqliteLibrary('schema', (db) => db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(lastSqliteStep + 1, 'later'));
    const s = new SqliteStore(file);
    try {
      const e = await s.migrate().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StoreError);
      expect((e as Error).message).toMatch(NEWER);
      expect((e as Error).message).toContain(`schema ${lastSqliteStep + 1}`);
    } finally {
      await s.close();
    }
    expect(sqliteState(file)).toEqual(before);
  });

  it('SQLite: an index format past this version is refused, not rebuilt back to this one', async () => {
    const { file, before } = await sqliteLibrary('index', (db) => db.prepare("UPDATE meta SET value = ? WHERE key = 'index_version'").run(String(INDEX_VERSION + 1)));
    const s = new SqliteStore(file);
    try {
      await expect(s.migrate()).rejects.toThrow(NEWER);
    } finally {
      await s.close();
    }
    expect(sqliteState(file)).toEqual(before);
    expect((before[0] as Array<{ value: string }>)[0]!.value).toBe(String(INDEX_VERSION + 1));
  });

  it('MongoDB (mingo): an index format past this version is refused; documents and indexes stay as they were', async () => {
    const c = mingoCollections();
    const first = new MongoStore(c, 'cosmos', 'mongodb mingo');
    await first.migrate();
    await first.upsert(makeRecord({ id: 'r1' }));
    await c.meta.replaceOne({ _id: 'index_version' }, { _id: 'index_version', value: INDEX_VERSION + 1 }, { upsert: true });
    const docs = JSON.stringify([...(c.videos as unknown as { docs: Map<string, unknown> }).docs]);
    (c.videos as unknown as { indexes: unknown[] }).indexes = [];
    const store = new MongoStore(c, 'cosmos', 'mongodb mingo');
    await expect(store.migrate()).rejects.toThrow(NEWER);
    expect((await c.meta.findOne({ _id: 'index_version' }))?.value).toBe(INDEX_VERSION + 1);
    expect(JSON.stringify([...(c.videos as unknown as { docs: Map<string, unknown> }).docs])).toBe(docs);
    expect((c.videos as unknown as { indexes: unknown[] }).indexes).toEqual([]);
  });

  const url = process.env.VIDEODEX_TEST_PG_URL;
  const pgIt = url ? it : it.skip;
  pgIt('PostgreSQL: a schema step or an index format past this version is refused; nothing is written', async () => {
    const pg = (await import('pg')).default;
    const schema = `vdx_test_${randomBytes(4).toString('hex')}`;
    const store = new PostgresStore({ url: url!, schema, poolSize: 2 });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await store.migrate();
      await store.upsert(makeRecord({ id: 'r1', tags: [{ name: 'sea', source: 'rule' }] }));
      const state = async () => [
        (await client.query(`SELECT key, value FROM "${schema}".videodex_meta ORDER BY key`)).rows,
        (await client.query(`SELECT version FROM "${schema}".videodex_migrations ORDER BY version`)).rows,
        (await client.query(`SELECT id, doc, tags, xid::text FROM "${schema}".videos`)).rows,
      ];
      await client.query(`UPDATE "${schema}".videodex_meta SET value = $1 WHERE key = 'index_version'`, [String(INDEX_VERSION + 1)]);
      const before = await state();
      await expect(store.migrate()).rejects.toThrow(NEWER);
      expect(await state()).toEqual(before);

      await client.query(`UPDATE "${schema}".videodex_meta SET value = $1 WHERE key = 'index_version'`, [String(INDEX_VERSION)]);
      const last = Math.max(...PG_MIGRATIONS.map((m) => m.version));
      await client.query(`INSERT INTO "${schema}".videodex_migrations (version, name) VALUES ($1, 'later')`, [last + 1]);
      const again = await state();
      await expect(store.migrate()).rejects.toThrow(`schema ${last + 1}`);
      expect(await state()).toEqual(again);
    } finally {
      await client.end();
      await store.dropSchema();
      await store.close();
    }
  });
});
