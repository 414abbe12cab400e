import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/index.js';

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
