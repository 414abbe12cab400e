import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { decodeFtsTotals } from '../../src/store/sqlite/sqlite-text-index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

// Relevance pages of text queries take a shorter path (one MATCH that selects and ranks; for text alone, only
// the page's rows looked up). Wrapping the query as `(q) OR id:none` keeps its matches and terms but forces the
// general path: both must give the same hits, scores, order, totals and pages, ties included. (The store answers
// by SQL only: the in-memory copies, which would answer both after the first search, are tested against SQL in
// sqlite-column-index.test.ts.)
const t = tempDir();
let store: SqliteStore;
const WORDS = ['beach', 'dog', 'ball', 'night', 'city', 'music', 'guitar', 'river'];
beforeAll(async () => {
  store = new SqliteStore(path.join(t.dir, 'rank.db'), { columnIndex: 'off' });
  await store.migrate();
  const records = Array.from({ length: 240 }, (_, i) =>
    makeRecord({
      id: `r${String(i).padStart(4, '0')}`,
      // Few distinct texts, so records tie on score, some across page ends (lengths vary, so not all).
      source: { url: `/v/${i}.mp4`, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z', ...(i % 3 === 0 ? { title: `${WORDS[i % 8]} ${WORDS[(i >> 2) % 8]}` } : {}) },
      tags: [{ name: WORDS[(i * 5) % 8]!, source: 'rule' }],
      ai: i % 4 === 0 ? null : { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description: `a ${WORDS[i % 8]} and a ${WORDS[(i * 3) % 8]} near the ${WORDS[(i >> 1) % 8]}${' filler'.repeat(i % 11)}`, tags: [], actions: [], promptTokens: 1, completionTokens: 1, framesSent: 1, at: 'x' },
      metadata: { durationSec: i % 50, container: 'mp4', bitRate: 1, width: 1280, height: i % 2 ? 720 : 360, fps: 30, rotation: 0, videoCodec: i % 3 ? 'h264' : 'hevc', audio: null, containerTags: {} },
    }),
  );
  await store.upsertMany(records);
  // 150 records with the same text tie on score: more than the rows fetched past a page, so the tie group is
  // collected by the second pass. Inserted in an order unlike their ids, so FTS5's own order among ties (by
  // rowid) is not the id order the page must follow.
  const tied = Array.from({ length: 150 }, (_, i) => (i * 61) % 150).map((k) =>
    makeRecord({
      id: `t${String(k).padStart(4, '0')}`,
      source: { url: `/tied/clip.mp4`, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z' },
      tags: [{ name: 'zebra', source: 'rule' }],
      ai: null,
    }),
  );
  await store.upsertMany(tied);
});
afterAll(async () => {
  await store.close();
  t.cleanup();
});

describe('SQLite relevance pages', () => {
  const queries = ['zebra', 'zeb*', 'zebra OR beach', 'beach', 'beach dog', 'beach OR night', 'beach -dog', 'gui*', '"the ball"', 'ball tag:dog', 'beach OR dog height:>=720', 'night -dog codec:h264', 'dog (city OR river) -tag:beach', 'bea* duration:10..40'];
  it.each(queries)('%s: same hits, scores and totals as the general path, page by page', async (text) => {
    for (const facets of [false, true]) {
      for (const offset of [0, 7, 21, 60, 140]) {
        const fast = await store.search({ text, limit: 7, offset, facets });
        const general = await store.search({ text: `(${text}) OR id:none`, limit: 7, offset, facets });
        expect(fast.hits.map((h) => [h.id, h.score]), `${text} @${offset}`).toEqual(general.hits.map((h) => [h.id, h.score]));
        expect(fast.total).toBe(general.total);
        expect(fast.nextCursor).toEqual(general.nextCursor);
        if (facets) expect(fast.facets).toEqual(general.facets);
      }
    }
    expect((await store.search({ text, limit: 1000, facets: false })).total).toBeGreaterThan(3);
  });
});

describe('SQLite FTS5 totals', () => {
  it('stay true through re-writes and deletions, so ranking matches a library loaded once', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'rewritten.db');
    const s = new SqliteStore(file, { columnIndex: 'off' });
    await s.migrate();
    const version = (k: number) =>
      Array.from({ length: 300 }, (_, i) =>
        makeRecord({ id: `w${i}`, source: { url: `/w/${i}.mp4`, kind: 'local', fetchedAt: 'x', title: `${WORDS[i % 8]} ${WORDS[(i * k) % 8]} take ${k}` } }),
      );
    const totalsOf = (f: string) => {
      const db = new Database(f, { readonly: true });
      try {
        return decodeFtsTotals(db.prepare('SELECT block FROM videos_fts_data WHERE id = 1').pluck().get() as Buffer);
      } finally {
        db.close();
      }
    };
    await s.upsertMany(version(1));
    // each re-write replaces the records' FTS rows; a contentless table counted every one of them again
    await s.upsertMany(version(2));
    await s.upsertMany(version(3));
    await s.upsertMany(version(4));
    expect(totalsOf(file).rows).toBe(300);
    for (let i = 0; i < 20; i++) expect(await s.delete(`w${i}`)).toBe(true);
    // re-tagging's write replaces FTS rows too
    const tagged = version(4).slice(20, 120);
    await s.updateTags!(tagged.map((v) => ({ before: v, after: { ...v, tags: [{ name: 'retagged', source: 'rule' as const }] } })));
    expect(totalsOf(file).rows).toBe(280);
    const integrity = new Database(file);
    integrity.prepare("INSERT INTO videos_fts(videos_fts) VALUES('integrity-check')").run();
    integrity.close();

    const fresh = new SqliteStore(path.join(t.dir, 'fresh.db'), { columnIndex: 'off' });
    await fresh.migrate();
    await fresh.upsertMany([...tagged.map((v) => ({ ...v, tags: [{ name: 'retagged', source: 'rule' as const }] })), ...version(4).slice(120)]);
    expect(totalsOf(file)).toEqual(totalsOf(path.join(t.dir, 'fresh.db')));
    for (const text of ['beach', 'take', 'dog OR night', '"beach dog"', 'gui*', 'retagged']) {
      const a = await s.search({ text, limit: 10, facets: false });
      const b = await fresh.search({ text, limit: 10, facets: false });
      expect(a.hits.map((h) => [h.id, h.score]), text).toEqual(b.hits.map((h) => [h.id, h.score]));
      expect(a.total).toBe(b.total);
    }
    await fresh.close();
    await s.close();
  });
});

