import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { replicaFileFor } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runStoreContract } from './contract.js';
import { fixtureVideos } from './fixtures.js';
import { makeRecord } from '../helpers/records.js';
import { runCli } from '../helpers/cli.js';

const url = process.env.VIDEODEX_TEST_PG_URL;
const dir = mkdtempSync(path.join(os.tmpdir(), 'vdx-replica-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const titled = (id: string, title: string) => makeRecord({ id, source: { url: `/v/${id}.mp4`, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z', title } });
const ids = (r: { hits: Array<{ id: string }> }) => r.hits.map((h) => h.id).sort();

describe('replicaFileFor', () => {
  it('names a library by server, database, user and schema, never by the password', () => {
    const a = replicaFileFor('/r', 'postgres://u:secret1@db.example:5432/lib', 'public');
    expect(replicaFileFor('/r', 'postgres://u:other@db.example/lib', 'public')).toBe(a);
    expect(replicaFileFor('/r', 'postgres://u:secret1@db.example:5432/lib', 'team')).not.toBe(a);
    expect(replicaFileFor('/r', 'postgres://u:secret1@db2.example:5432/lib', 'public')).not.toBe(a);
    expect(a).not.toContain('secret1');
    expect(path.dirname(a)).toBe('/r');
  });
});

if (!url) {
  describe('SearchReplica', () => {
    it.skip('needs VIDEODEX_TEST_PG_URL; see docs/stores.md', () => undefined);
  });
} else {
  const schemaName = () => `vdx_repl_${randomBytes(4).toString('hex')}`;
  const open = (schema: string, file = path.join(dir, `${schema}.db`)) => new PostgresStore({ url, schema, poolSize: 3, replicaFile: file });
  /** A migrated store with a replica, in a schema of its own, and a plain connection beside it; all dropped afterwards. */
  const withRawClient = async (fn: (store: PostgresStore, client: pg.Client, schema: string) => Promise<void>): Promise<void> => {
    const schema = schemaName();
    const store = open(schema);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await store.migrate();
      await fn(store, client, schema);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
      await store.dropSchema();
      await store.close();
    }
  };

  runStoreContract('postgres with search replica', async () => {
    const schema = schemaName();
    const store = open(schema);
    return {
      store,
      cleanup: async () => {
        await store.close();
        const admin = new PostgresStore({ url, schema });
        await admin.dropSchema();
        await admin.close();
      },
    };
  });

  describe('SearchReplica over PostgreSQL', () => {
    it('answers like a SQLite library holding the same records: same hits, totals, facets and scores', async () => {
      const schema = schemaName();
      const store = open(schema);
      const lite = new SqliteStore(path.join(dir, `${schema}-plain.db`));
      try {
        await store.migrate();
        await lite.migrate();
        const videos = fixtureVideos();
        await store.upsertMany(videos);
        await lite.upsertMany(videos);
        for (const text of ['beach', 'dancing OR guitar', 'tag:outdoor duration:>5', '"golden hour"', 'bea*']) {
          const [a, b] = [await store.search({ text }), await lite.search({ text })];
          expect(a.hits.map((h) => [h.id, h.score]), text).toEqual(b.hits.map((h) => [h.id, h.score]));
          expect(a.total).toBe(b.total);
          expect(a.facets).toEqual(b.facets);
        }
      } finally {
        await store.dropSchema();
        await store.close();
        await lite.close();
      }
    });

    it("sees every write committed before a search, by this store and by others (another machine's process)", async () => {
      const schema = schemaName();
      const a = open(schema);
      const other = new PostgresStore({ url, schema, poolSize: 2 });
      try {
        await a.migrate();
        await a.upsert(titled('a1', 'zebra crossing'));
        expect(ids(await a.search({ text: 'zebra' }))).toEqual(['a1']);
        await other.upsert(titled('b1', 'zebra stripes'));
        expect(ids(await a.search({ text: 'zebra' }))).toEqual(['a1', 'b1']);
        // written again without the word, then deleted: both reach the copy
        await other.upsert(titled('a1', 'plain crossing'));
        expect(ids(await a.search({ text: 'zebra' }))).toEqual(['b1']);
        expect(await other.delete('b1')).toBe(true);
        expect(ids(await a.search({ text: 'zebra' }))).toEqual([]);
        expect((await a.search({})).total).toBe(1);
        // deleted, then written again: the tombstone does not remove the new record
        await other.upsert(titled('c1', 'zebra again'));
        expect(await other.delete('c1')).toBe(true);
        await other.upsert(titled('c1', 'zebra back'));
        expect(ids(await a.search({ text: 'zebra' }))).toEqual(['c1']);
        // re-tagging's write is seen too
        const c1 = (await other.get('c1'))!;
        await other.updateTags([{ before: c1, after: { ...c1, tags: [{ name: 'striped', source: 'rule' }] } }]);
        expect(ids(await a.search({ text: 'tag:striped' }))).toEqual(['c1']);
        expect(a.searchReplica!.lastPulled).toBe(1);
      } finally {
        await a.dropSchema();
        await a.close();
        await other.close();
      }
    });

    it('misses nothing that commits late: a transaction begun before a pull and committed after it is read by the next', async () => {
      await withRawClient(async (a, client, schema) => {
        await a.upsertMany([titled('l1', 'lion'), titled('l2', 'lynx')]);
        expect((await a.search({})).total).toBe(2);
        // An open transaction takes an id older than the writes after it...
        await client.query('BEGIN');
        await client.query(`UPDATE "${schema}".videos SET doc = jsonb_set(doc, '{source,title}', to_jsonb('late tiger'::text)), xid = pg_current_xact_id() WHERE id = 'l1'`);
        // ...which commit and are pulled first.
        await a.upsert(titled('l3', 'early tiger'));
        expect(ids(await a.search({ text: 'tiger' }))).toEqual(['l3']);
        await client.query('COMMIT');
        expect(ids(await a.search({ text: 'tiger' }))).toEqual(['l1', 'l3']);
      });
    });

    it('keeps its place in the file: a second process pulls only what changed, and a recreated library is copied afresh', async () => {
      const schema = schemaName();
      const file = path.join(dir, `${schema}-shared.db`);
      const first = open(schema, file);
      try {
        await first.migrate();
        await first.upsertMany(Array.from({ length: 30 }, (_, i) => titled(`k${i}`, `koala ${i}`)));
        expect((await first.search({ text: 'koala' })).total).toBe(30);
        expect(first.searchReplica!.lastPulled).toBe(30);
        await first.close();
        expect(existsSync(file)).toBe(true);

        const second = open(schema, file);
        await second.upsert(titled('k99', 'koala late'));
        expect((await second.search({ text: 'koala' })).total).toBe(31);
        expect(second.searchReplica!.lastPulled).toBe(1);
        // the same URL and schema now hold another library: the old copy is dropped, not mixed in
        await second.dropSchema();
        await second.migrate();
        await second.upsert(titled('n1', 'newt'));
        const r = await second.search({});
        expect(r.hits.map((h) => h.id)).toEqual(['n1']);
        await second.dropSchema();
        await second.close();
      } finally {
        await first.close();
      }
    });

    it('upgrades a library made before the change feed: its records get a writer id and reach the copy', async () => {
      await withRawClient(async (store, client, schema) => {
        await store.upsertMany([titled('o1', 'otter'), titled('o2', 'otter pup')]);
        // back to schema step 1, as a library written by an older videodex is
        for (const sql of [
          `ALTER TABLE "${schema}".videos DROP COLUMN xid`,
          `DROP TABLE "${schema}".video_deletions`,
          `DELETE FROM "${schema}".videodex_meta WHERE key = 'library_id'`,
          `DELETE FROM "${schema}".videodex_migrations WHERE version = 2`,
        ])
          await client.query(sql);
        await store.migrate();
        expect(ids(await store.search({ text: 'otter' }))).toEqual(['o1', 'o2']);
        expect(await store.delete('o2')).toBe(true);
        expect(ids(await store.search({ text: 'otter' }))).toEqual(['o1']);
      });
    });

    it('searches in PostgreSQL, with a warning, when the copy cannot be kept (its folder cannot be made)', async () => {
      const schema = schemaName();
      const blocker = path.join(dir, `${schema}-a-file`);
      writeFileSync(blocker, 'not a folder');
      const warnings: string[] = [];
      const logger = { warn: (o: { err?: string }, msg: string) => warnings.push(`${msg}: ${o.err ?? ''}`), info: () => undefined } as unknown as Logger;
      const store = new PostgresStore({ url, schema, poolSize: 2, replicaFile: path.join(blocker, 'replica.db'), logger });
      try {
        await store.migrate();
        await store.upsert(titled('w1', 'walrus'));
        await store.warm();
        expect(store.searchReplica).toBeNull();
        expect(warnings.join('\n')).toMatch(/search replica unavailable: searching in PostgreSQL: search replica .*replica\.db: open failed/);
        const r = await store.search({ text: 'walrus' });
        expect(r.hits.map((h) => h.id)).toEqual(['w1']);
        expect(warnings).toHaveLength(1);
      } finally {
        await store.dropSchema();
        await store.close();
      }
    });

    it('videodex search and doctor use the replica in <CacheDir>/search-replica; SearchReplica = false searches in PostgreSQL', async () => {
      const schema = schemaName();
      const writer = new PostgresStore({ url, schema, poolSize: 2 });
      const data = path.join(dir, `${schema}-data`);
      const env = { ...process.env, VIDEODEX_DATABASE_BACKEND: 'postgres', VIDEODEX_DATABASE_URL: url, VIDEODEX_DATABASE_SCHEMA: schema };
      try {
        await writer.migrate();
        await writer.upsertMany([titled('c1', 'capybara swim'), titled('c2', 'capybara nap'), titled('c3', 'heron')]);
        const found = await runCli(['search', 'capybara', '--json', '--data-dir', data], { env });
        expect(JSON.parse(found.stdout).hits.map((h: { id: string }) => h.id).sort()).toEqual(['c1', 'c2']);
        const file = replicaFileFor(path.join(data, 'cache', 'search-replica'), url, schema);
        expect(existsSync(file)).toBe(true);
        const doctor = JSON.parse((await runCli(['doctor', '--json', '--data-dir', data], { env })).stdout) as { checks: Array<{ what: string; detail: string }> };
        expect(doctor.checks.find((c) => c.what === 'search replica')!.detail).toContain(`${file} (`);
        expect(doctor.checks.find((c) => c.what === 'search replica')!.detail).not.toContain('videodex:videodex');
        // the database line names the server (password masked) and the schema, not the backend a second time
        const dbLine = doctor.checks.find((c) => c.what === 'database')!.detail;
        expect(dbLine).toContain(`postgres (${url.replace(/:[^:@/]+@/, ':***@')}, schema ${schema}), 3 video(s)`);

        const off = { ...env, VIDEODEX_DATABASE_SEARCHREPLICA: 'false' };
        const other = path.join(dir, `${schema}-data-off`);
        const sql = await runCli(['search', 'capybara', '--json', '--data-dir', other], { env: off });
        expect(JSON.parse(sql.stdout).hits.map((h: { id: string }) => h.id).sort()).toEqual(['c1', 'c2']);
        expect(existsSync(path.join(other, 'cache', 'search-replica'))).toBe(false);
        const offDoctor = JSON.parse((await runCli(['doctor', '--json', '--data-dir', other], { env: off })).stdout) as { checks: Array<{ what: string; detail: string }> };
        expect(offDoctor.checks.find((c) => c.what === 'search replica')!.detail).toMatch(/^off: searches run in PostgreSQL/);
      } finally {
        await writer.dropSchema();
        await writer.close();
      }
    });

    it('fails a search with a clear StoreError when the server is gone, and works again once it is back', async () => {
      const schema = schemaName();
      const store = new PostgresStore({ url, schema, poolSize: 2, replicaFile: path.join(dir, `${schema}.db`), pool: { application_name: schema } });
      try {
        await store.migrate();
        await store.upsert(titled('s1', 'seal'));
        expect((await store.search({ text: 'seal' })).total).toBe(1);
        await Promise.all([store.count(), store.count()]); // two pooled connections, one to kill
        expect(await store.terminateConnections()).toBeGreaterThan(0);
        // dropped connections are retried
        expect((await store.search({ text: 'seal' })).total).toBe(1);
        const gone = new PostgresStore({ url: url.replace(/:(\d+)\//, ':1/'), schema, poolSize: 1, replicaFile: path.join(dir, `${schema}.db`), pool: { connectionTimeoutMillis: 2000 } });
        await expect(gone.search({ text: 'seal' })).rejects.toThrow(/postgres .*read changes failed/);
        await gone.close();
      } finally {
        await store.dropSchema();
        await store.close();
      }
    });
  });
}
