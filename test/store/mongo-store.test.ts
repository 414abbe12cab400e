import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { MongoStore, flavourOf, searchPipeline, textPrefilter } from '../../src/store/mongodb/index.js';
import { planQuery } from '../../src/store/query/index.js';
import type { Video } from '../../src/core/index.js';
import { runStoreContract } from './contract.js';
import { CONTRACT_QUERIES, fixtureVideos } from './fixtures.js';
import { mingoCollections } from './mingo-collection.js';

// The translation, evaluated by mingo: the full contract, with the Cosmos DB flavour (no $text) that mingo can run.
runStoreContract('mongodb translation (mingo)', async () => {
  const c = mingoCollections();
  const store = new MongoStore(c, 'cosmos', 'mongodb mingo', async () => c.close());
  return { store, cleanup: async () => store.close() };
});

describe('MongoStore.hasLibrary', () => {
  it('is false for a database migrate never made, without making one there, and true once migrated', async () => {
    const c = mingoCollections();
    const store = new MongoStore(c, 'cosmos', 'mongodb mingo');
    expect(await store.hasLibrary()).toBe(false);
    expect(await store.hasLibrary()).toBe(false);
    await store.migrate();
    expect(await store.hasLibrary()).toBe(true);
    await store.close();
  });
});

describe('MongoStore: hand tag edits over writes that land between a read and its write', () => {
  it('an upsert keeps an edit made after it read the stored edits; an edit keeps a write made after it read the record', async () => {
    const c = mingoCollections();
    const store = new MongoStore(c, 'cosmos', 'mongodb mingo');
    const other = new MongoStore(c, 'cosmos', 'mongodb mingo');
    await store.migrate();
    const v = fixtureVideos()[0]!;
    await store.upsert(v);
    // the next read of a record is followed by another process's write, before the reader writes
    let between: (() => Promise<unknown>) | null = null;
    const findOne = c.videos.findOne.bind(c.videos);
    c.videos.findOne = async (filter, options) => {
      const d = await findOne(filter, options);
      const go = between;
      between = null;
      await go?.();
      return d;
    };
    between = () => other.updateUserTags(v.id, () => ({ add: ['one'], remove: [] }), 'edited');
    const later: Video = { ...v, tags: [{ name: 'later', source: 'rule' }] };
    await store.upsert(later);
    expect(await store.get(v.id)).toEqual({ ...later, extra: { ...later.extra, _userTags: { add: ['one'], remove: [] } } });

    between = () => other.upsert({ ...later, source: { ...later.source, title: 'Moved meanwhile' } });
    const edited = await store.updateUserTags(v.id, (stored) => ({ add: [...(stored.extra._userTags as { add: string[] }).add, 'two'], remove: [] }), 'edited again');
    const got = await store.get(v.id);
    expect(got).toEqual(edited);
    expect(got!.source.title).toBe('Moved meanwhile');
    expect(got!.extra._userTags).toEqual({ add: ['one', 'two'], remove: [] });
    expect(got!.updatedAt).toBe('edited again');
    await store.close();
  });
});

describe('MongoDB translation agrees with SQLite', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vdx-mongo-'));
  const sqlite = new SqliteStore(path.join(dir, 'v.db'));
  const c = mingoCollections();
  const mongo = new MongoStore(c, 'cosmos', 'mongodb mingo');
  beforeAll(async () => {
    await sqlite.migrate();
    await mongo.migrate();
    const videos = fixtureVideos();
    await sqlite.upsertMany(videos);
    await mongo.upsertMany(videos);
  });
  afterAll(async () => {
    await sqlite.close();
    await mongo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(CONTRACT_QUERIES.filter(Boolean))('%j: same hits, order (non-relevance), total and facets', async (text) => {
    for (const sort of ['added-desc', 'name-asc'] as const) {
      const [a, b] = await Promise.all([sqlite.search({ text, sort, limit: 1000 }), mongo.search({ text, sort, limit: 1000 })]);
      expect(b.hits.map((h) => h.id)).toEqual(a.hits.map((h) => h.id));
      expect(b.total).toBe(a.total);
      expect(b.facets).toEqual(a.facets);
      expect(b.hits.map((h) => h.highlight)).toEqual(a.hits.map((h) => h.highlight));
    }
    const [ra, rb] = await Promise.all([sqlite.search({ text, limit: 1000 }), mongo.search({ text, limit: 1000 })]);
    expect(rb.hits.map((h) => h.id).sort()).toEqual(ra.hits.map((h) => h.id).sort());
  });

  it('creates the filter and sort indexes (and no text index on Cosmos DB)', () => {
    const names = c.videos.indexes.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['s_words', 's_tags', 's_added', 's_created']));
    expect(names).not.toContain('s_text');
  });
});

describe('MongoDB flavours', () => {
  it('detects Cosmos DB from the host name, unless told', () => {
    expect(flavourOf('mongodb://a:b@acct.mongo.cosmos.azure.com:10255/?ssl=true')).toBe('cosmos');
    expect(flavourOf('mongodb+srv://u:p@c.mongocluster.cosmos.azure.com/')).toBe('cosmos');
    expect(flavourOf('mongodb://localhost:27017/videodex')).toBe('mongodb');
    expect(flavourOf('mongodb://localhost:27017/videodex', 'cosmos')).toBe('cosmos');
  });

  it('on MongoDB proper, puts a $text pre-filter for top-level words first; never under OR or NOT', () => {
    expect(textPrefilter(planQuery({ text: 'beach "sandy beach" danc* tag:x' }))).toEqual({ $text: { $search: '"beach" "sandy beach"' } });
    expect(textPrefilter(planQuery({ text: 'beach OR city' }))).toBeNull();
    expect(textPrefilter(planQuery({ text: '-beach' }))).toBeNull();
    const plan = planQuery({ text: 'beach tag:outdoor' });
    const p = searchPipeline(plan, textPrefilter(plan));
    expect(p[0]).toEqual({ $match: { $and: [{ $text: { $search: '"beach"' } }, { $and: [{ '_s.words': 'beach' }, { '_s.tags': 'outdoor' }] }] } });
  });
});

const uri = process.env.VIDEODEX_TEST_MONGODB_URI;
if (uri) {
  runStoreContract('mongodb (server)', async () => {
    const u = new URL(uri);
    u.pathname = `/vdx_test_${randomBytes(4).toString('hex')}`;
    const store = await MongoStore.connect({ url: u.toString(), compat: 'auto' });
    return {
      store,
      cleanup: async () => {
        const { MongoClient } = await import('mongodb');
        const client = new MongoClient(u.toString());
        await client.connect();
        await client.db().dropDatabase();
        await client.close();
        await store.close();
      },
    };
  });
} else {
  describe('MongoStore against a server', () => {
    it.skip('needs VIDEODEX_TEST_MONGODB_URI (e.g. mongodb://127.0.0.1:27017); see docs/stores.md', () => undefined);
  });
}

describe('MongoStore.updateTags after another process wrote the record', () => {
  it("leaves the other write standing (stages, labels, search fields) and writes the records nobody touched", async () => {
    const c = mingoCollections();
    const retagging = new MongoStore(c, 'mongodb', 'mongodb mingo');
    const processing = new MongoStore(c, 'mongodb', 'mongodb mingo');
    await retagging.migrate();
    const [a, b] = fixtureVideos().slice(0, 2) as [Video, Video];
    await retagging.upsertMany([a, b]);
    const readA = (await retagging.get(a.id))!;
    const readB = (await retagging.get(b.id))!;
    // `process` gives A a longer duration and a describe entry after retag read it
    const newer: Video = { ...readA, metadata: { ...readA.metadata!, durationSec: 4321 }, stages: { ...readA.stages, describe: { status: 'done', version: '9', inputHash: 'h', at: '2026-01-01T00:00:00.000Z', ms: 1 } } };
    await processing.upsert(newer);
    const retagged = (v: Video): Video => ({ ...v, tags: [{ name: 'retagged', source: 'rule', rule: 'r' }], updatedAt: '2026-02-02T00:00:00.000Z' });
    await retagging.updateTags([
      { before: readA, after: retagged(readA) },
      { before: readB, after: retagged(readB) },
    ]);
    const nowA = (await retagging.get(a.id))!;
    expect(nowA.stages.describe?.version).toBe('9');
    expect(nowA.tags).toEqual(newer.tags);
    expect((await retagging.search({ text: 'duration:4321' })).hits.map((h) => h.id)).toEqual([a.id]);
    expect((await retagging.search({ text: 'tag:retagged' })).hits.map((h) => h.id)).toEqual([b.id]);
    // the version is the store's own: records read back carry none
    expect(Object.keys(nowA)).not.toContain('_w');
  });
});
