import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { SqliteStore, type SearchQuery, type VideoStore } from '../../src/store/index.js';
import { createTaggingSetup } from '../../src/tagging/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from './records.js';
import { retagWith } from './retag-helpers.js';

/**
 * Another process (`process`, a second retag) writes a record after retag read it and before retag's batch is
 * written: that write must stand, whole, and the next retag takes it. Retag used to write its copy, made from the
 * record as it read it, over the other write, on every path but SQLite's walk over tag states: the model's new
 * answer or the new metadata were lost, and the record's stages said it was up to date.
 */
const rules = (over: number) => createTaggingSetup({ rulesText: `rules:\n  - { name: long, when: "duration > ${over}", add: [long] }\n` });

function library(n: number): Video[] {
  return Array.from({ length: n }, (_, i) =>
    makeRecord({ id: `r${String(i).padStart(4, '0')}`, path: `/v/clip_${i}.mp4`, metadata: { durationSec: 100 + i }, ai: { description: 'a dog on a beach' } }),
  );
}

/** The store; when retag's read reaches `id`, `other` writes that record with `change` applied. */
function racing(store: VideoStore, other: VideoStore, id: string, change: (v: Video) => Video): VideoStore {
  const wrapped = Object.create(store) as VideoStore;
  wrapped.iterate = async function* (q?: SearchQuery, options?: Parameters<VideoStore['iterate']>[1]) {
    for await (const v of store.iterate(q, options)) {
      if (v.id === id) await other.upsert(change(v));
      yield v;
    }
  };
  return wrapped;
}

const names = (v: Video | null) => v!.tags.map((t) => t.name);

function raceSuite(name: string, open: () => Promise<{ store: VideoStore; other: VideoStore; close(): Promise<void> }>, query: SearchQuery) {
  describe(`retag while another process writes (${name})`, () => {
    let lib: Awaited<ReturnType<typeof open>>;
    beforeEach(async () => {
      lib = await open();
      await lib.store.upsertMany!(library(30));
      await retagWith(lib.store, rules(1000));
    });
    afterEach(() => lib.close());

    it('keeps the other write of a record it re-tagged, and re-tags that record next time', async () => {
      const shorter = (v: Video): Video => ({ ...v, ai: { ...v.ai!, description: 'a cat on a sofa' }, metadata: { ...v.metadata!, durationSec: 5 }, updatedAt: new Date().toISOString() });
      const summary = await retagWith(racing(lib.store, lib.other, 'r0012', shorter), rules(50), [], { query });
      expect(summary.changed).toBe(30);
      const after = await lib.store.get('r0012');
      expect(after!.ai!.description).toBe('a cat on a sofa');
      expect(after!.metadata!.durationSec).toBe(5);
      expect(names(await lib.store.get('r0013'))).toContain('long');
      // the next retag sees the record's inputs changed since its stages: 5 s is not long
      await retagWith(lib.store, rules(50), [], { query });
      expect(names(await lib.store.get('r0012'))).not.toContain('long');
      expect(names(await lib.store.get('r0012'))).toContain('has-audio');
    });
  });
}

raceSuite(
  'SQLite, a retag with a query',
  async () => {
    const t = tempDir('videodex-retag-race-');
    const file = path.join(t.dir, 'lib.db');
    const store = new SqliteStore(file);
    await store.migrate();
    const other = new SqliteStore(file);
    return {
      store,
      other,
      async close() {
        await other.close();
        await store.close();
        t.cleanup();
      },
    };
  },
  { text: 'duration:>0' },
);

const pgUrl = process.env.VIDEODEX_TEST_PG_URL;
if (pgUrl) {
  raceSuite(
    'PostgreSQL',
    async () => {
      const { PostgresStore } = await import('../../src/store/postgres/index.js');
      const schema = `vdx_race_${randomBytes(4).toString('hex')}`;
      const store = new PostgresStore({ url: pgUrl, schema, poolSize: 2 });
      await store.migrate();
      const other = new PostgresStore({ url: pgUrl, schema, poolSize: 2 });
      return {
        store,
        other,
        async close() {
          await other.close();
          await store.dropSchema();
          await store.close();
        },
      };
    },
    {},
  );
} else {
  describe('retag while another process writes (PostgreSQL)', () => {
    it.skip('needs VIDEODEX_TEST_PG_URL', () => undefined);
  });
}
