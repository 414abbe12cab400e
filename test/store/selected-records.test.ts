import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryError } from '../../src/core/index.js';
import { MAX_LIMIT, selectedRecords, selectionOf, SqliteStore, type SearchQuery } from '../../src/store/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const t = tempDir('videodex-selected-');
let store: SqliteStore;
// more than two search pages, so a selection must follow cursors
const N = 2 * MAX_LIMIT + 345;

beforeAll(async () => {
  store = new SqliteStore(path.join(t.dir, 'v.db'));
  await store.migrate();
  const records = Array.from({ length: N }, (_, i) =>
    makeRecord({
      id: `sel${String(i).padStart(5, '0')}`,
      source: { url: 'x', kind: 'local', fetchedAt: 'x', title: i % 3 === 0 ? `harbour boats ${i}` : `clip ${i}` },
      // every duration taken by a few records: ties are ordered by id
      metadata: { durationSec: (i * 37) % 997, container: 'mp4', bitRate: 1, width: 640, height: 360, fps: 25, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
    }),
  );
  await store.upsertMany(records);
});
afterAll(async () => {
  await store.close();
  t.cleanup();
});

async function ids(q: SearchQuery): Promise<string[]> {
  const out: string[] = [];
  for await (const v of selectedRecords(store, q)) out.push(v.id);
  return out;
}

/** Every page of a search, as a user paging with cursors sees them. */
async function paged(q: SearchQuery): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const r = await store.search({ ...q, limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...r.hits.map((h) => h.id));
    cursor = r.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

describe('selectedRecords: the records a command over a query acts on', () => {
  it('is every match, streamed, when the query has no sort, limit, offset or cursor', async () => {
    expect(selectionOf({ text: 'harbour', tags: ['x'] })).toBeNull();
    expect(await ids({})).toHaveLength(N);
    expect(await ids({ text: 'harbour' })).toHaveLength(Math.ceil(N / 3));
  });

  it('takes a sort over every page: all matches in the order search pages through them', async () => {
    const got = await ids({ sort: 'duration-desc' });
    expect(got).toHaveLength(N);
    expect(got).toEqual(await paged({ sort: 'duration-desc' }));
    const durations = await Promise.all(got.slice(0, 50).map(async (id) => (await store.get(id))!.metadata!.durationSec));
    expect(durations).toEqual([...durations].sort((a, b) => b - a));
  });

  it('counts a limit over all pages, past the largest page of one search', async () => {
    const all = await paged({ sort: 'duration-asc' });
    const limit = MAX_LIMIT + 250;
    expect(await ids({ sort: 'duration-asc', limit })).toEqual(all.slice(0, limit));
    expect(await ids({ sort: 'duration-asc', limit: 7 })).toEqual(all.slice(0, 7));
  });

  it('starts at an offset and a cursor, and reads sort: and limit: words in the query as the flags', async () => {
    const all = await paged({ sort: 'name-asc' });
    expect(await ids({ sort: 'name-asc', offset: 1500, limit: 600 })).toEqual(all.slice(1500, 2100));
    expect(await ids({ text: 'sort:name-asc limit:5' })).toEqual(all.slice(0, 5));
    expect(selectionOf({ text: 'boats sort:duration-desc limit:3' })).toEqual({ sort: 'duration-desc', limit: 3 });
    // a flag wins over the word, as in search
    expect(await ids({ text: 'limit:5', sort: 'name-asc', limit: 2 })).toEqual(all.slice(0, 2));
    const first = await store.search({ sort: 'name-asc', limit: 30 });
    expect(await ids({ sort: 'name-asc', cursor: first.nextCursor!, limit: 10 })).toEqual(all.slice(30, 40));
  });

  it('with a limit alone, takes the matches search shows first: by relevance for words, newest added otherwise', async () => {
    const top = (await store.search({ text: 'harbour boats', limit: 25 })).hits.map((h) => h.id);
    expect(await ids({ text: 'harbour boats', limit: 25 })).toEqual(top);
    const newest = (await store.search({ limit: 10 })).hits.map((h) => h.id);
    expect(await ids({ limit: 10 })).toEqual(newest);
  });

  it('keeps its selection while the caller removes records, and skips one removed before its turn', async () => {
    const want = (await paged({ sort: 'duration-desc' })).slice(0, 1200);
    const seen: string[] = [];
    for await (const v of selectedRecords(store, { sort: 'duration-desc', limit: 1200 })) {
      seen.push(v.id);
      if (seen.length === 1) {
        // removing as it goes (what `remove` does) neither shifts the selection nor lets others in
        for (const id of want.slice(1, 600)) await store.delete(id);
        await store.delete(want[900]!);
      }
    }
    expect(seen).toEqual([want[0]!, ...want.slice(600, 900), ...want.slice(901)]);
  });

  it('refuses a shard with a selection, and a bad cursor as search does', async () => {
    await expect(async () => {
      for await (const _ of selectedRecords(store, { limit: 5 }, { shard: { index: 0, count: 2 } })) void _;
    }).rejects.toThrow(/cannot be split into shards/);
    await expect(async () => {
      for await (const _ of selectedRecords(store, { cursor: 'nonsense' })) void _;
    }).rejects.toBeInstanceOf(QueryError);
  });
});

