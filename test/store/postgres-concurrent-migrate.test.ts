import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { fixtureVideos } from './fixtures.js';

// Workers starting together on a new schema raced to create the trigram index: the losers logged "pg_trgm not
// available; name: searches scan" (and said fuzzyNames false) of a server that had it and an index that was made.
describe('PostgreSQL workers migrating one new schema at once', () => {
  const url = process.env.VIDEODEX_TEST_PG_URL;
  (url ? it : it.skip)('all find pg_trgm and the index, and none says otherwise', async () => {
    for (let round = 0; round < 5; round++) {
      const schema = `vdx_test_${randomBytes(4).toString('hex')}`;
      const lines: string[] = [];
      const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(String(chunk)), done()) });
      const logger = pino({ level: 'info' }, sink);
      const stores = Array.from({ length: 4 }, () => new PostgresStore({ url: url!, schema, poolSize: 2, logger }));
      try {
        await Promise.all(stores.map((s) => s.migrate()));
        expect(stores.map((s) => s.fuzzyNames)).toEqual([true, true, true, true]);
        expect(lines.filter((l) => l.includes('not available'))).toEqual([]);
      } finally {
        await stores[0]!.dropSchema();
        for (const s of stores) await s.close();
      }
    }
  }, 120_000);
});

// After an upgrade that changes the index format, workers started together each rewrote every record (and each
// logged the rebuild): one rebuilds while the others wait for it, then find the columns current.
describe('PostgreSQL workers starting together on a library whose index format is older', () => {
  const url = process.env.VIDEODEX_TEST_PG_URL;
  (url ? it : it.skip)('rebuild its search columns once, and all then see every record', async () => {
    const schema = `vdx_test_${randomBytes(4).toString('hex')}`;
    const first = new PostgresStore({ url: url!, schema, poolSize: 2 });
    await first.migrate();
    const videos = fixtureVideos();
    await first.upsertMany(videos);
    await first.close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    await raw.query(`UPDATE "${schema}".videodex_meta SET value = '1' WHERE key = 'index_version'`);
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(String(chunk)), done()) });
    const logger = pino({ level: 'info' }, sink);
    // pool size 1: the lock must not take the one connection the rewrite needs
    const stores = Array.from({ length: 4 }, () => new PostgresStore({ url: url!, schema, poolSize: 1, logger }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      expect(lines.filter((l) => l.includes('rebuilding search columns'))).toHaveLength(1);
      const version = await raw.query(`SELECT value FROM "${schema}".videodex_meta WHERE key = 'index_version'`);
      expect(Number(version.rows[0].value)).toBeGreaterThan(1);
      for (const s of stores) expect(await s.count()).toBe(videos.length);
    } finally {
      await raw.end();
      await stores[0]!.dropSchema();
      for (const s of stores) await s.close();
    }
  }, 120_000);
});
