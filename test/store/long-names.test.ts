import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { indexFields, MAX_NAME_CHARS } from '../../src/store/query/index-fields.js';
import { normalizeText } from '../../src/store/query/text.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

// Names stored before they were cut to MAX_NAME_CHARS (a repetitive title compresses enough to have fitted even
// PostgreSQL's index) are cut by a schema step, so name: and sort:name answer as for a record written now.
const title = `Ünïcode 🎬 ${'la '.repeat(3000)}end`;
const record = makeRecord({ id: 'long1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title } });
const full = normalizeText(title);
const cut = indexFields(record).name;

describe('names stored before the cut', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('sanity: the record written now has the cut name', () => {
    expect(Array.from(cut)).toHaveLength(MAX_NAME_CHARS);
    expect(full.startsWith(cut)).toBe(true);
    expect(full.length).toBeGreaterThan(cut.length);
  });

  it('SQLite schema step 10 cuts them', async () => {
    const file = path.join(t.dir, 'v.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsert(record);
    await s.close();
    const raw = new Database(file);
    raw.prepare('UPDATE videos SET name = ? WHERE id = ?').run(full, record.id);
    raw.prepare('DELETE FROM schema_migrations WHERE version = 10').run();
    raw.close();
    const again = new SqliteStore(file);
    try {
      await again.migrate();
      expect((await again.search({ text: 'name:end' })).total).toBe(0);
      expect((await again.search({ text: `name:"${cut.slice(-20)}"` })).total).toBe(1);
    } finally {
      await again.close();
    }
    const check = new Database(file, { readonly: true });
    expect((check.prepare('SELECT name FROM videos WHERE id = ?').get(record.id) as { name: string }).name).toBe(cut);
    check.close();
  });

  const url = process.env.VIDEODEX_TEST_PG_URL;
  (url ? it : it.skip)('PostgreSQL schema step 4 cuts them', async () => {
    const pg = (await import('pg')).default;
    const schema = `vdx_test_${randomBytes(4).toString('hex')}`;
    const store = new PostgresStore({ url: url!, schema, poolSize: 2 });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await store.migrate();
      await store.upsert(record);
      await client.query(`UPDATE "${schema}".videos SET name = $1 WHERE id = $2`, [full, record.id]);
      await client.query(`DELETE FROM "${schema}".videodex_migrations WHERE version = 4`);
      await store.migrate();
      expect((await client.query(`SELECT name FROM "${schema}".videos WHERE id = $1`, [record.id])).rows[0].name).toBe(cut);
      expect((await store.search({ text: 'name:end' })).total).toBe(0);
    } finally {
      await client.end();
      await store.dropSchema();
      await store.close();
    }
  });
});

describe('labels of a paragraph (a model answering a sentence as a tag)', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  // random words do not compress: PostgreSQL's label index refused the entry (over 2.7 kB), failing the record's write
  const long = Array.from({ length: 700 }, (_, i) => ((i * 7919) % 100000).toString(36)).join(' ');
  const labelled = makeRecord({ id: 'para1', tags: [{ name: long.replace(/ /g, '-'), source: 'ai' }], categories: [{ name: long, source: 'ai', confidence: 1 }] });
  const answers = async (s: SqliteStore | PostgresStore) => {
    expect((await s.search({ text: `tag:"${long}"` })).hits.map((h) => h.id)).toEqual(['para1']);
    expect((await s.search({ text: `category:"${long}"` })).hits.map((h) => h.id)).toEqual(['para1']);
  };

  it('are cut to MAX_NAME_CHARS and still found by the whole label', async () => {
    const f = indexFields(labelled);
    expect(Array.from(f.tags[0]!)).toHaveLength(MAX_NAME_CHARS);
    expect(Array.from(f.categories[0]!)).toHaveLength(MAX_NAME_CHARS);
    const s = new SqliteStore(path.join(t.dir, 'labels.db'));
    try {
      await s.migrate();
      await s.upsert(labelled);
      await answers(s);
    } finally {
      await s.close();
    }
  });

  const url = process.env.VIDEODEX_TEST_PG_URL;
  (url ? it : it.skip)('are stored and found on PostgreSQL', async () => {
    const store = new PostgresStore({ url: url!, schema: `vdx_test_${randomBytes(4).toString('hex')}`, poolSize: 2 });
    try {
      await store.migrate();
      await store.upsert(labelled);
      await answers(store);
    } finally {
      await store.dropSchema();
      await store.close();
    }
  });
});
