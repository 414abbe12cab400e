import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';

// Step 1's CREATE TABLE IF NOT EXISTS passed another program's videos table by, and the migration then failed on
// "column tsv does not exist": rolled back, but saying nothing of why.
describe('a PostgreSQL schema holding another program\'s tables', () => {
  const url = process.env.VIDEODEX_TEST_PG_URL;
  (url ? it : it.skip)('is refused with their names, and nothing is created or altered', async () => {
    const pg = (await import('pg')).default;
    const schema = `vdx_test_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const store = new PostgresStore({ url: url!, schema, poolSize: 2 });
    try {
      await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(`CREATE TABLE "${schema}".videos (id integer PRIMARY KEY, title text)`);
      await client.query(`INSERT INTO "${schema}".videos VALUES (1, 'mine')`);
      const e = await store.migrate().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StoreError);
      expect((e as Error).message).toMatch(/already holds videos, made by something other than videodex/);
      const tables = await client.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);
      expect(tables.rows.map((r) => r.table_name)).toEqual(['videos']);
      const cols = await client.query('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1', [schema]);
      expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'title']);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      await store.close();
    }
  });
});
