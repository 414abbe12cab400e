import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { runStoreContract } from './contract.js';
import { makeRecord } from '../helpers/records.js';

const url = process.env.VIDEODEX_TEST_PG_URL;

if (!url) {
  describe('PostgresStore', () => {
    it.skip('needs VIDEODEX_TEST_PG_URL (e.g. postgres://videodex:videodex@127.0.0.1:5432/videodex); see docs/stores.md', () => undefined);
  });
} else {
  const make = (): PostgresStore => {
    const tag = randomBytes(4).toString('hex');
    return new PostgresStore({ url, schema: `vdx_test_${tag}`, poolSize: 4, pool: { application_name: `vdx_test_${tag}` } });
  };
  /** A migrated store in a schema of its own, dropped afterwards. */
  const withStore = async (fn: (store: PostgresStore) => Promise<void>): Promise<void> => {
    const store = make();
    try {
      await store.migrate();
      await fn(store);
    } finally {
      await store.dropSchema();
      await store.close();
    }
  };
  runStoreContract(
    'postgres',
    async () => {
      const store = make();
      return {
        store,
        cleanup: async () => {
          const admin = new PostgresStore({ url, schema: (store as unknown as { schema: string }).schema });
          await admin.dropSchema();
          await admin.close();
        },
      };
    },
    {
      breakConnection: async (s) => {
        // Fill the pool with several connections first, then kill them all server-side.
        await Promise.all(Array.from({ length: 4 }, () => s.count({ text: 'beach' })));
        expect(await (s as PostgresStore).terminateConnections()).toBeGreaterThan(0);
      },
    },
  );

  describe('PostgresStore facet cache', () => {
    it('answers from the cache only while no one (this store or another connection) wrote', async () => {
      const a = make();
      const schema = (a as unknown as { schema: string }).schema;
      const b = new PostgresStore({ url, schema });
      const tagged = (id: string, tag: string) => makeRecord({ id, tags: [{ name: tag, source: 'rule' }] });
      try {
        await a.migrate();
        await a.upsert(tagged('p1', 'first'));
        const facets = async (text = '') => {
          const r = await a.search({ text });
          return { total: r.total, tags: r.facets.tags };
        };
        expect(await facets()).toEqual({ total: 1, tags: { first: 1 } });
        expect(await facets()).toEqual({ total: 1, tags: { first: 1 } }); // cached
        await a.upsert(tagged('p2', 'second'));
        expect(await facets()).toEqual({ total: 2, tags: { first: 1, second: 1 } });
        expect(await facets('tag:second')).toEqual({ total: 1, tags: { second: 1 } });
        await b.upsert(tagged('p3', 'second'));
        expect(await facets('tag:second')).toEqual({ total: 2, tags: { second: 2 } });
        await b.delete('p1');
        expect(await facets()).toEqual({ total: 2, tags: { second: 2 } });
        const r = await a.search({});
        r.facets.tags.second = 99; // callers get copies
        expect(await facets()).toEqual({ total: 2, tags: { second: 2 } });
      } finally {
        await b.dropSchema();
        await b.close();
        await a.close();
      }
    });
  });

  describe('PostgresStore specifics', () => {
    it('records versioned migrations, uses the GIN indexes and pg_trgm', async () => {
      const store = make();
      try {
        await store.migrate();
        await store.migrate();
        expect(store.fuzzyNames).toBe(true);
        const pg = (await import('pg')).default;
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const schema = (store as unknown as { schema: string }).schema;
          const m = await client.query(`SELECT version FROM "${schema}".videodex_migrations`);
          expect(m.rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
          const idx = await client.query('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [schema]);
          const names = idx.rows.map((r) => r.indexname);
          expect(names).toEqual(expect.arrayContaining(['videos_tsv', 'videos_tags', 'videos_name_trgm', 'videos_xid', 'video_deletions_xid']));
          expect(names).not.toContain('videos_codec');
          const compression = await client.query(`SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'doc'`, [`"${schema}".videos`]);
          expect(compression.rows[0].c).toBe('l');
        } finally {
          await client.end();
        }
      } finally {
        await store.dropSchema();
        await store.close();
      }
    });

    it('writes a bulk upsert in statements of 500, two at a time: every distinct record, the last copy of an id', async () => {
      await withStore(async (store) => {
        const records = Array.from({ length: 1600 }, (_, i) => makeRecord({ id: `bulk${String(i).padStart(4, '0')}`, source: { url: 'x', kind: 'local', fetchedAt: 'x', title: `first copy ${i}` } }));
        // the same ids again, later in the batch and in other statements: the later copy is the one kept
        const again = records.slice(0, 100).map((r) => ({ ...r, source: { ...r.source, title: 'second copy' } }));
        await store.upsertMany([...records, ...again]);
        expect(await store.count()).toBe(1600);
        expect((await store.get('bulk0042'))?.source.title).toBe('second copy');
        expect((await store.get('bulk1599'))?.source.title).toBe('first copy 1599');
        expect((await store.search({ text: '"second copy"', limit: 1 })).total).toBe(100);
      });
    });

    it('a bulk statement that fails fails the upsert with a StoreError; the statements beside it are written', async () => {
      await withStore(async (store) => {
        const internals = store as unknown as { copyUpsert: (c: unknown, rows: string) => Promise<void> };
        const copyUpsert = internals.copyUpsert.bind(store);
        // the second chunk's COPY data is cut short, so the server rejects it while the first (500 rows) is still
        // being written and awaited: its rejection must not go unhandled (vitest fails the run on one). Told by its
        // rows, not by call order: chunks start when a pool connection is free, so a slow new connection can let
        // the third chunk start before the second.
        internals.copyUpsert = (c, rows) => copyUpsert(c, rows.includes('part0500') ? `${rows}cut\tshort\n` : rows);
        const records = Array.from({ length: 1200 }, (_, i) => makeRecord({ id: `part${String(i).padStart(4, '0')}` }));
        const err = await store.upsertMany(records).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(StoreError);
        expect((err as Error).message).toMatch(/upsert 500 records failed: .*(missing data|invalid input)/);
        expect(await store.count()).toBe(700);
        expect(await store.get('part0499')).not.toBeNull();
        expect(await store.get('part0500')).toBeNull();
        expect(await store.get('part1199')).not.toBeNull();
      });
    });

    it('a bulk upsert (COPY) carries tabs, newlines, backslashes, quotes, braces and NULL-looking text through unchanged', async () => {
      await withStore(async (store) => {
        const nasty = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\N', 'quote " and \' ', '{brace},comma', 'NULL', '', 'émoji 🎬 ünïcode', '\\.'];
        const records = nasty.map((text, i) =>
          makeRecord({
            id: `esc${i}`,
            source: { url: `/v/${i}`, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z', title: `${text} title${i}` },
            tags: [{ name: text, source: 'rule' }, { name: `plain${i}`, source: 'rule' }],
            extra: { [`key ${text}`]: text },
          }),
        );
        await store.upsertMany(records);
        for (const r of records) expect(await store.get(r.id)).toEqual(r);
        for (let i = 0; i < nasty.length; i++) {
          expect((await store.search({ text: `title${i}` })).hits.map((h) => h.id)).toEqual([`esc${i}`]);
          if (nasty[i]) expect((await store.search({ tags: [nasty[i]!] })).hits.map((h) => h.id)).toEqual([`esc${i}`]);
        }
      });
    });

    it('stores a record holding NUL characters (which PostgreSQL cannot) without them, by every write path', async () => {
      await withStore(async (store) => {
        const nul = (id: string) =>
          makeRecord({ id, source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'Night\u0000 ride' }, tags: [{ name: 'neon\u0000', source: 'rule' }], extra: { 'odd\u0000key': 'v\u0000' } });
        await store.upsert(nul('n1'));
        await store.upsertMany([nul('n2'), makeRecord({ id: 'n3' })]);
        const n1 = await store.get('n1');
        expect(n1?.source.title).toBe('Night ride');
        expect(n1?.tags.map((t) => t.name)).toEqual(['neon']);
        expect(n1?.extra).toEqual({ oddkey: 'v' });
        expect((await store.get('n2'))?.source.title).toBe('Night ride');
        expect((await store.search({ text: 'night tag:neon' })).hits.map((h) => h.id).sort()).toEqual(['n1', 'n2']);
        const before = (await store.get('n3'))!;
        await store.updateTags([{ before, after: { ...before, tags: [{ name: 'late\u0000show', source: 'rule' }] } }]);
        expect((await store.get('n3'))?.tags.map((t) => t.name)).toEqual(['lateshow']);
        expect((await store.search({ text: 'tag:lateshow' })).hits.map((h) => h.id)).toEqual(['n3']);
      });
    });

    it('stores and finds words longer than a tsvector lexeme holds (2,046 bytes), by every write path, as SQLite does', async () => {
      await withStore(async (store) => {
        // 2,100 bytes of UTF-8, a CJK sentence with no punctuation: one token a character (index format 4), so no long
        // lexeme, and found by any word in it
        const cjk = '東'.repeat(700);
        const ascii = 'x'.repeat(2100);
        const emoji = `${'𐐨'.repeat(600)}`; // astral letters (Deseret, a script written with spaces): 4 bytes each
        const titled = (id: string, title: string) => makeRecord({ id, source: { url: 'x', kind: 'local', fetchedAt: 'x', title: `${title} tail` } });
        await store.upsert(titled('w1', cjk));
        await store.upsertMany([titled('w2', ascii), titled('w3', emoji)]);
        const before = (await store.get('w1'))!;
        await store.updateTags([{ before, after: { ...before, tags: [{ name: 'long', source: 'rule' }] } }]);
        expect((await store.search({ text: 'tail' })).total).toBe(3);
        expect((await store.search({ text: '東東東' })).hits.map((h) => h.id)).toEqual(['w1']);
        expect((await store.search({ text: `"${ascii} tail"` })).hits.map((h) => h.id)).toEqual(['w2']);
        expect((await store.search({ text: emoji })).hits.map((h) => h.id)).toEqual(['w3']);
        expect((await store.search({ text: '東*' })).hits.map((h) => h.id)).toEqual(['w1']);
        // the longest query there is, one word: an answer, not "word is too long in tsquery"
        expect((await store.search({ text: 'q'.repeat(4096) })).total).toBe(0);
      });
    });

    it('answers a query value holding NUL (which no stored text can) with no match, not a store error', async () => {
      await withStore(async (store) => {
        await store.upsert(makeRecord({ id: 'z1', tags: [{ name: 'neon', source: 'rule' }] }));
        for (const text of ['tag:"\u0000"', 'tag:"ne\u0000on"', 'category:"a\u0000b"', 'name:"clip\u0000"', 'action:"\u0000"']) {
          expect((await store.search({ text })).total, text).toBe(0);
        }
        expect((await store.search({ text: '-tag:"\u0000" tag:neon' })).hits.map((h) => h.id)).toEqual(['z1']);
      });
    });

    it('names a bad URL without its password', async () => {
      const store = new PostgresStore({ url: 'postgres://u:hunter2@127.0.0.1:1/db', schema: 'x', pool: { connectionTimeoutMillis: 2000 } });
      const err = await store.get('x').catch((e: Error) => e);
      expect(String((err as Error).message)).toMatch(/postgres postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: get x failed/);
      expect(String((err as Error).message)).not.toContain('hunter2');
      await store.close();
    });
  });
}
