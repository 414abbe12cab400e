import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { planQuery, SORT_KEYS, SqliteStore, type SearchResult } from '../../src/store/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

// Searches without text are answered from an in-memory column copy once it is built. Two stores on one file,
// one with the copy forced on and one with it off (SQL), must give the same pages, totals, facets and cursors
// for every filter, every combination of them, every sort and every page.
const t = tempDir();
let seed = 7;
const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const TAGS = ['beach', 'dog', 'night', 'city', 'music', 'sports', 'food'];
const CATS = ['sports', 'travel', 'music', 'food'];
const ACTIONS = ['playing guitar', 'surfing', 'cooking', 'dancing'];

function record(i: number): Video {
  const hasMeta = rnd() > 0.1;
  const w = pick([640, 1280, 1920, 3840, 1080]);
  const v = makeRecord({
    id: `${(i * 7919) % 1000}`.padStart(6, '0') + `-${i}`,
    source: { url: `/lib/${pick(['Beach', 'dogs', 'Ünïcode', 'city'])}/clip ${i}.mp4`, kind: pick(['local', 'http', 'ytdlp'] as const), fetchedAt: '2024-01-01T00:00:00.000Z', ...(rnd() < 0.3 ? { title: `${pick(['Summer', 'night', 'Ça va', 'DOG park'])} ${i % 13}` } : {}), ...(rnd() < 0.3 ? { uploadedAt: `20${pick(['19', '20', '21', '22', '23'])}-0${1 + Math.floor(rnd() * 9)}-15T10:00:00.000Z` } : {}) },
    metadata: hasMeta
      ? {
          durationSec: pick([0, 3.5, 12, 45, 60, 61, 300, 3600]),
          container: pick(['mov,mp4,m4a', 'matroska,webm', 'avi']),
          bitRate: 1000,
          width: w,
          height: w === 1080 ? 1920 : Math.round((w * 9) / 16),
          fps: pick([24, 25, 29.97, 30, 60]),
          rotation: 0,
          videoCodec: pick(['h264', 'hevc', 'vp9']),
          audio: rnd() < 0.7 ? { codec: pick(['aac', 'opus']), channels: 2, sampleRate: 48000 } : null,
          containerTags: {},
          ...(rnd() < 0.3 ? { creationTime: `20${pick(['18', '20', '22'])}-0${1 + Math.floor(rnd() * 9)}-01T00:00:00.000Z` } : {}),
        }
      : null,
    tags: [...new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => pick(TAGS)))].map((name) => ({ name, source: 'rule' as const })),
    categories: [...new Set(Array.from({ length: Math.floor(rnd() * 3) }, () => pick(CATS)))].map((name) => ({ name, source: 'rule' })),
    ai: rnd() < 0.6 ? { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description: rnd() < 0.8 ? 'a clip' : '', tags: [], actions: rnd() < 0.6 ? [pick(ACTIONS)] : [], promptTokens: 1, completionTokens: 1, framesSent: 1, at: 'x' } : null,
    scenes: Array.from({ length: Math.floor(rnd() * 4) }, (_, k) => ({ index: k, startSec: k, endSec: k + 1, startFrame: k * 25, endFrame: k * 25 + 25, transition: 'cut' as const, score: 0.5 })),
    stages: rnd() < 0.1 ? { probe: { status: 'failed', version: '1', inputHash: 'x', at: 'x', ms: 1, error: 'bad' } } : {},
  });
  // Sizes that tie.
  return { ...v, file: { ...v.file, bytes: 1000 * (1 + Math.floor(rnd() * 30)) } };
}

const LEAVES = [
  'tag:beach', 'tag:dog', 'tag:nothing', 'category:sports', 'category:music', 'action:"playing guitar"', 'action:surfing',
  'codec:h264', 'codec:vp9', 'audio-codec:aac', 'container:mp4', 'container:mkv', 'source:local', 'source:ytdlp',
  'resolution:720p', 'resolution:4k', 'duration:10..60', 'duration:>60', 'duration:<=3.5', 'duration:0', 'height:>=720',
  'width:1280', 'fps:>29.97', 'fps:30', 'scenes:>1', 'scenes:0', 'size:>15000', 'size:1000..5000', 'created:2020-01..2022-06',
  'created:2019', 'added:2024-01-05..2024-01-20', 'has:audio', 'has:ai', 'has:description', 'has:scenes', 'has:tags',
  'has:metadata', 'is:failed', 'is:ok', 'name:clip', 'name:summer', 'name:ca', 'id:000000-0',
];

function query(): string {
  const leaf = (): string => (rnd() < 0.2 ? `-${pick(LEAVES)}` : pick(LEAVES));
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return leaf();
    case 1:
      return `${leaf()} ${leaf()}`;
    case 2:
      return `${leaf()} OR ${leaf()}`;
    case 3:
      return `(${leaf()} OR ${leaf()}) ${leaf()}`;
    default:
      return `-(${leaf()} ${leaf()}) ${rnd() < 0.5 ? leaf() : ''}`.trim();
  }
}

const shape = (r: SearchResult) => ({ ids: r.hits.map((h) => h.id), scores: r.hits.map((h) => h.score), total: r.total, facets: r.facets, nextCursor: r.nextCursor });

let sql: SqliteStore;
let mem: SqliteStore;
/** A library written by `write`, then opened twice: answered by SQL only, and from the in-memory copies. */
async function sqlAndMemory(file: string, write: (writer: SqliteStore) => Promise<void>): Promise<[SqliteStore, SqliteStore]> {
  const writer = new SqliteStore(file);
  await writer.migrate();
  await write(writer);
  await writer.close();
  return [new SqliteStore(file, { columnIndex: 'off' }), new SqliteStore(file, { columnIndex: 'always' })];
}

const records = Array.from({ length: 400 }, (_, i) => record(i));
beforeAll(async () => {
  [sql, mem] = await sqlAndMemory(path.join(t.dir, 'cols.db'), (w) => w.upsertMany(records));
});
afterAll(async () => {
  await sql.close();
  await mem.close();
  t.cleanup();
});

describe('SQLite column copy', () => {
  it('answers 300 random filter queries exactly as SQL: pages, totals, facets, every sort', async () => {
    let nonEmpty = 0;
    for (let i = 0; i < 300; i++) {
      const text = query();
      const sort = pick(SORT_KEYS);
      const q = { text, sort, limit: 7, offset: pick([0, 0, 5, 30]), facets: rnd() < 0.5 };
      const a = await sql.search(q);
      const b = await mem.search(q);
      expect(shape(b), `${text} sort:${sort} offset:${q.offset}`).toEqual(shape(a));
      if (a.total > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(150);
  });

  it('answers words with filters (ranked by FTS5, filtered by the copy) exactly as SQL', async () => {
    const WORDS = ['clip', 'summer', 'dog', 'park', 'night', 'clip OR park', 'cl*', '"dog park"', 'clip -night'];
    let nonEmpty = 0;
    for (let i = 0; i < 150; i++) {
      const text = `${pick(WORDS)} ${query()}`;
      const q = { text, limit: 7, offset: pick([0, 0, 5, 30]), facets: rnd() < 0.5 };
      const a = await sql.search(q);
      const b = await mem.search(q);
      expect(shape(b), `${text} offset:${q.offset}`).toEqual(shape(a));
      if (a.total > 7) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(40);
  });

  it('follows cursors through every page of every sort exactly as SQL', async () => {
    for (const sort of SORT_KEYS) {
      for (const text of ['', 'has:audio', '-tag:dog', 'size:>0 OR is:failed']) {
        let cursorA: string | null = null;
        let cursorB: string | null = null;
        let pages = 0;
        do {
          const a = await sql.search({ text, sort, limit: 9, facets: false, ...(cursorA ? { cursor: cursorA } : {}) });
          const b = await mem.search({ text, sort, limit: 9, facets: false, ...(cursorB ? { cursor: cursorB } : {}) });
          expect(shape(b), `${text} sort:${sort} page ${pages}`).toEqual(shape(a));
          cursorA = a.nextCursor ?? null;
          cursorB = b.nextCursor ?? null;
          pages++;
        } while (cursorA && pages < 100);
        expect(pages, `${text} sort:${sort}`).toBeGreaterThan(text === '' ? 40 : 3);
      }
    }
  });

  it('follows local writes (upsert, update of labels, delete) in the next answer', async () => {
    const file = path.join(t.dir, 'writes.db');
    const store = new SqliteStore(file, { columnIndex: 'always' });
    await store.migrate();
    await store.upsertMany(records.slice(0, 50));
    const reader = new SqliteStore(file, { columnIndex: 'off' });
    const same = async (text: string, sort: (typeof SORT_KEYS)[number] = 'relevance') => {
      const q = { text, sort, limit: 10, facets: true };
      expect(shape(await store.search(q)), text).toEqual(shape(await reader.search(q)));
    };
    await same('tag:beach');
    // facets over the whole library, and over most of it (counted as the whole less the rest): both are then
    // kept up to date row by row through the writes below
    await same('');
    await same('-tag:zebra');
    const before = (await store.get(records[3]!.id))!;
    const after = { ...before, tags: [{ name: 'zebra', source: 'rule' as const }] };
    await store.updateTags([{ before, after }]);
    await same('tag:zebra');
    await same('-tag:zebra');
    await same('');
    expect((await store.search({ text: 'tag:zebra' })).hits.map((h) => h.id)).toEqual([before.id]);
    await store.upsert({ ...records[60]!, id: 'new-one', source: { ...records[60]!.source, title: 'A Brand New Clip' } });
    await same('name:brand', 'name-asc');
    await same('', 'added-desc');
    await same('-tag:zebra');
    await store.delete(records[3]!.id);
    await same('tag:zebra');
    await same('-tag:zebra');
    await same('');
    expect((await store.search({ text: 'tag:zebra' })).total).toBe(0);
    await same('', 'size-desc');
    await reader.close();
    await store.close();
  });

  it('another connection writing: answers stay right (the copy rebuilds, or SQL answers while it may not yet)', async () => {
    const file = path.join(t.dir, 'other.db');
    const store = new SqliteStore(file, { columnIndex: 'always' });
    await store.migrate();
    await store.upsertMany(records.slice(0, 40));
    expect((await store.search({ text: 'id:other-1' })).total).toBe(0);
    const other = new SqliteStore(file);
    for (let k = 1; k <= 3; k++) {
      await other.upsert({ ...records[100 + k]!, id: `other-${k}` });
      const r = await store.search({ text: `id:other-${k}`, facets: true });
      expect(r.total).toBe(1);
      expect(r.hits[0]!.id).toBe(`other-${k}`);
      expect((await store.search({ text: '' })).total).toBe(40 + k);
    }
    await other.close();
    await store.close();
  });

  it('warm() builds the copy up front, so the first search of a serve process is answered from it', async () => {
    const store = new SqliteStore(path.join(t.dir, 'cols.db'));
    const columns = (store as unknown as { columns: { built: boolean } }).columns;
    expect(columns.built).toBe(false);
    await store.warm();
    expect(columns.built).toBe(true);
    const q = { text: 'height:>=720 sort:duration-desc', limit: 9, facets: true };
    expect(shape(await store.search(q))).toEqual(shape(await sql.search(q)));
    const off = new SqliteStore(path.join(t.dir, 'cols.db'), { columnIndex: 'off' });
    await off.warm();
    expect((off as unknown as { columns: { built: boolean } }).columns.built).toBe(false);
    await off.close();
    await store.close();
  });
});

describe('SQLite text index (in memory, beside the column copy)', () => {
  // The bench's realistic records (Zipf words, so common words match most records) and its query mix.
  const answered = (s: SqliteStore) => (s as unknown as { columns: { answered: { text: number; filters: number } } }).columns.answered;
  let tsql: SqliteStore;
  let tmem: SqliteStore;
  let file: string;
  beforeAll(async () => {
    const { makeRecord: benchRecord } = await import('../../bench/search-data.js');
    file = path.join(t.dir, 'text.db');
    const recs = Array.from({ length: 3000 }, (_, i) => benchRecord(i));
    [tsql, tmem] = await sqlAndMemory(file, async (writer) => {
      await writer.upsertMany(recs);
      // deletes and rewrites, so FTS5's row count and average length come from an index that changed
      for (let i = 0; i < 3000; i += 29) await writer.delete(recs[i]!.id);
      await writer.upsertMany(recs.filter((_, i) => i % 17 === 1).map((r) => ({ ...r, ai: r.ai && { ...r.ai, description: `${r.ai.description} person person dog` } })));
    });
  });
  afterAll(async () => {
    await tsql.close();
    await tmem.close();
  });

  it('selects, counts, ranks (bm25, to the last bit) and pages text queries exactly as FTS5', async () => {
    const { makeQueries } = await import('../../bench/search-data.js');
    const extra = ['"person person"', 'pe*', 'ka* dog', '"dog park" OR music', 'person -dog', 'person OR dog OR (car -street)', 'zz*', 'nosuchword', 'dog tag:outdoor OR category:music', '-person', 'sort:duration-desc person', 'sort:name-asc "red car"'];
    const qs = [...makeQueries(400).map((x) => x.q.text!), ...extra];
    const before = answered(tmem).text;
    let withText = 0;
    for (const [i, text] of qs.entries()) {
      const q = { text, limit: 10, offset: i % 7 === 0 ? 20 : 0, facets: i % 3 === 0 };
      const a = await tsql.search(q);
      const b = await tmem.search(q);
      expect(shape(b), text).toEqual(shape(a));
      expect(b.hits.map((h) => h.highlight), text).toEqual(a.hits.map((h) => h.highlight));
      if (JSON.stringify(planQuery({ text }).where ?? {}).includes('"kind":"text"')) withText++;
    }
    // every query with words was answered from memory
    expect(withText).toBeGreaterThan(200);
    expect(answered(tmem).text - before).toBe(withText);
  });

  it('leaves words outside ASCII to FTS5 (its folding of them is its own), with the same answers', async () => {
    const before = answered(tmem).text;
    for (const text of ['søren', 'ørsted OR person', 'łódź*']) {
      const q = { text, limit: 5, facets: true };
      expect(shape(await tmem.search(q)), text).toEqual(shape(await tsql.search(q)));
    }
    expect(answered(tmem).text).toBe(before);
  });

  it('follows local writes to the text, and another connection\'s', async () => {
    const mem = new SqliteStore(file, { columnIndex: 'always' });
    const q = { text: 'quixotic', facets: false };
    expect((await mem.search(q)).total).toBe(0);
    const v = (await mem.search({ text: 'person', limit: 1 })).hits[0]!.video;
    await mem.upsert({ ...v, source: { ...v.source, title: 'a quixotic journey' } });
    const r = await mem.search(q);
    expect(r.hits.map((h) => h.id)).toEqual([v.id]);
    expect(r.hits[0]!.score).toBeGreaterThan(0);
    expect(shape(r)).toEqual(shape(await tsql.search(q)));
    await mem.delete(v.id);
    expect((await mem.search(q)).total).toBe(0);
    const other = new SqliteStore(file);
    await other.upsert({ ...v, id: 'other-text', source: { ...v.source, title: 'quixotic again' } });
    await other.close();
    expect((await mem.search(q)).hits.map((h) => h.id)).toEqual(['other-text']);
    await mem.close();
  });

  it('another process writing: the copy is rebuilt with its text index, in one snapshot, not each search', async () => {
    const mem = new SqliteStore(file, { columnIndex: 'always', rebuildEveryMs: 0 });
    const q = { text: 'zeppelin OR person', limit: 10, facets: true };
    await mem.search(q);
    const other = new SqliteStore(file);
    const v = (await tsql.search({ text: 'dog', limit: 1 })).hits[0]!.video;
    await other.upsert({ ...v, id: 'zeppelin-1', source: { ...v.source, title: 'a zeppelin over the city' } });
    const before = answered(mem).text;
    // answered by SQL until the copy may be rebuilt (ten times its last build), then from the rebuilt copy
    let fromMemory = false;
    for (let i = 0; i < 100 && !fromMemory; i++) {
      const r = await mem.search(q);
      expect(shape(r)).toEqual(shape(await tsql.search(q)));
      expect(r.hits[0]!.id).toBe('zeppelin-1');
      fromMemory = answered(mem).text > before;
      if (!fromMemory) await new Promise((res) => setTimeout(res, 50));
    }
    expect(fromMemory).toBe(true);
    await other.delete('zeppelin-1');
    await other.close();
    await mem.close();
  });
});

