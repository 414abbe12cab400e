/**
 * A differential test of search: one generated library (a few hundred records: tags, categories, actions, metadata,
 * descriptions in several scripts with accents, CJK, emoji, hyphens and apostrophes) loaded into every store this
 * machine can run, and every operator of docs/search.md plus hostile input asked of each. Every store must answer
 * as the reference evaluator does (ids, totals, facets, the order of every field sort), page through every sort by
 * cursor and by offset without repeating or skipping a record, and answer hostile input with a result or a
 * QueryError, never anything else.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryError, type SourceKind, type Video } from '../../src/core/index.js';
import { SORT_KEYS, type SearchQuery, type VideoStore } from '../../src/store/index.js';
import { MongoStore } from '../../src/store/mongodb/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { compareBySort, facetCounts, indexFields, matches, planQuery, FACET_SIZE, type IndexFields } from '../../src/store/query/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeVideo } from './fixtures.js';
import { mingoCollections } from './mingo-collection.js';

const WORDS = ['river', 'mountain', 'city', 'night', 'crowd', 'street', 'sunset', 'kitchen', 'dog', 'rain', 'café', 'crème', 'brûlée', 'naïve', 'Ångström',
  'søren', 'łódź', 'straße', 'İstanbul', 'Ελλάδα', 'Москва', '東京', 'ビデオ', '渋谷', '서울', 'ไทย', '😀', '🎸guitar', 'rock’n’roll', "don't", "o'neil",
  'slow-motion', 'e-mail', 'h.264', 'x_y', '1080p', 'ﬁsh', 'ＡＢＣ', 'cafe\u0301', 'हिन्दी', 'फ़िल्म', 'বাংলা', 'שָׁלוֹם', 'كَتَبَ', 'كتـــب', 'ΟΔΟΣ', 'STRASSE'];
const TAGS = ['outdoor', 'indoor', 'night', 'day', 'people', 'water', 'music', 'slow motion', 'Café', '東京', 'rock & roll', 'c++', 'c#', "kid's", '🎉'];
const CATS = ['sports', 'nature', 'music', 'cooking', 'travel', 'Éducation', '旅行'];
const ACTIONS = ['playing guitar', 'dancing', 'running', 'swimming', 'Tai-Chi'];
const KINDS: SourceKind[] = ['http', 'ytdlp', 'hls', 'local'];
const SIZES: Array<[number, number]> = [[640, 360], [854, 480], [1280, 720], [1920, 1080], [3840, 2160], [1080, 1920]];

/** Deterministic; many ties (equal durations, sizes, dates, names) so that ties must be broken the same way. */
function library(count: number): Video[] {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = <T>(xs: readonly T[], max: number): T[] => [...new Set(Array.from({ length: Math.floor(rand() * (max + 1)) }, () => pick(xs)))];
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const [width, height] = pick(SIZES);
    const r = rand();
    const month = String(1 + Math.floor(rand() * 12)).padStart(2, '0');
    return makeVideo({
      n,
      ...(rand() < 0.7 ? { title: `${pick(WORDS)} ${pick(WORDS)}${rand() < 0.3 ? '' : ` ${n % 7}`}` } : {}),
      file: `${pick(WORDS)}${pick(['_', '-', ' ', ''])}${rand() < 0.5 ? 'Day' : ''}${n % 5}.mp4`,
      kind: pick(KINDS),
      duration: rand() < 0.3 ? pick([10, 30, 60]) : Math.round(rand() * 1200) / 10,
      width,
      height,
      fps: pick([24, 25, 29.97, 30, 60]),
      codec: pick(['h264', 'hevc', 'vp9', 'av1']),
      audio: rand() < 0.7,
      scenes: Math.floor(rand() * 8),
      description: Array.from({ length: 3 + Math.floor(rand() * 10) }, () => pick(WORDS)).join(pick([' ', ', ', ' - ', '. ', '。'])),
      tags: some(TAGS, 4),
      categories: some(CATS, 2),
      actions: some(ACTIONS, 2),
      ...(r < 0.4 ? { creationTime: `2024-${month}-1${Math.floor(rand() * 9)}T12:00:00Z` } : r < 0.6 ? { uploadedAt: `2023${month}15` } : {}),
      ...(rand() < 0.3 ? { createdAt: '2025-02-01T00:00:00.000Z' } : {}),
      bytes: rand() < 0.3 ? 5_000_000 : Math.floor(rand() * 50_000_000),
      failed: rand() < 0.1,
      noMetadata: rand() < 0.03,
      noAi: rand() < 0.05,
    });
  });
}

const PAIRS = [...'abcdefghijklmnopqrstuvwxyz'].flatMap((a) => [...'abcdefghijklmnopqrstuvwxyz'].map((b) => a + b));
/** As many negated words as a query holds: deeper than SQLite and FTS5 parse a chain of operators. */
const NEGATED = PAIRS.slice(0, 1000).map((w) => `-${w}`).join(' ');
const TAGS_OR = [...TAGS.map((t) => `tag:"${t}"`), ...PAIRS.slice(0, 300).map((w) => `tag:${w}`)].join(' OR ');

/** Every operator of docs/search.md, alone and combined, in several scripts. */
const QUERIES = [
  '', 'river', 'river city', 'river -city', 'river OR city', 'river city OR dog', '(river OR city) -night', 'NOT river', 'river AND city', 'river || city',
  '"river city"', '"slow motion"', 'slow-motion', 'h.264', 'cafe', 'CAFÉ', 'creme brulee', 'naive', 'angstrom', 'søren', 'lodz', 'straße', 'istanbul',
  'ελλαδα', 'МОСКВА', '東京', 'ビデオ', '서울', 'ไทย', '😀', 'guitar', 'rock', "don't", "o'neil", 'neil', 'e-mail', 'fish', 'abc', 'x_y',
  'हिन्दी', 'हिन', 'न', 'हि*', 'फिल्म', 'বাংলা', 'שלום', 'كتب', 'ὁδός', 'οδος', 'strasse', 'Straße',
  'riv*', 'r*', 'caf*', 'café*', '東*', 'slow-mo*',
  'tag:outdoor', 'tag:"slow motion"', 'tag:slow-motion', 'tag:cafe', 'tag:東京', 'tag:"rock & roll"', 'tag:c++', 'tag:c#', "tag:kid's", 'tag:🎉', '-tag:outdoor',
  'tag:night OR tag:water', 'category:education', 'category:旅行', 'cat:music OR cat:cooking', 'action:"playing guitar"', 'action:"tai chi"',
  'duration:10..60', 'duration:>30', 'duration:<=10', 'duration:1m..', 'duration:30', 'duration:<1m30s', 'height:>=720', 'height:1080p', 'width:<1280',
  'fps:>30', 'fps:29.97', 'codec:h264', 'vcodec:HEVC', 'source:youtube', 'source:file', 'res:4k', 'resolution:1080p', 'res:sd', 'scenes:>5', 'scenes:0',
  'size:>10M', 'size:5000000', 'created:2024-01..2024-06', 'created:2024-06', 'created:>2024-06', 'created:2023', 'added:2025-02-01', 'added:<2025-01-05',
  'has:audio', '-has:audio', 'has:ai', 'has:description', 'has:scenes', 'has:tags', 'has:metadata', 'is:failed', 'is:ok',
  'name:river', 'name:"river city"', 'name:%', 'name:_', 'name:東京', 'container:mp4', 'acodec:aac',
  'river tag:outdoor duration:>5', 'music (tag:indoor OR category:music) -tag:night', 'NOT (has:audio OR is:failed)', 'river (city OR (dog -rain))',
  // operators and punctuation alone, FTS5 and SQL syntax, regex metacharacters: words or nothing, never syntax
  '-', '--', '*', '**', '^', 'NEAR', 'NEAR(river city)', ':', '"" river', '!', '@#$', '+', 'AND', '.*', '[a-z]+', '\\', '%', '_',
  NEGATED, `river ${NEGATED}`, TAGS_OR, "'; DROP TABLE videos; --", 'river\u0000city', 'tag:"\u0000"', 'name:"river\u0000"', 'river\uD800', '\uDC00', '\uFEFF river', 'q'.repeat(4096), '東'.repeat(1365),
];

/** Must be refused with a QueryError by every store. */
const REFUSED = ['"', 'a:b', '()', '(', ')', 'river)', 'OR', 'NOT', 'river OR', `${'('.repeat(33)}river${')'.repeat(33)}`, 'q'.repeat(4097), 'durtion:10', 'limit:0', 'cursor:xyz'];

interface Backend {
  name: string;
  store: VideoStore;
  close(): Promise<void>;
}

describe('search: every store answers as the reference, on a generated multilingual library', () => {
  const videos = library(300);
  const fields = new Map<string, IndexFields>(videos.map((v) => [v.id, indexFields(v)]));
  const dir = mkdtempSync(path.join(tmpdir(), 'vdx-differential-'));
  const backends: Backend[] = [];

  beforeAll(async () => {
    const sqlite = (name: string, columnIndex: 'off' | 'always') => {
      const store = new SqliteStore(path.join(dir, `${name}.db`), { columnIndex });
      return { name, store, close: () => store.close() };
    };
    // by SQL (FTS5), and from the in-memory column and text copies a long-lived process answers from
    backends.push(sqlite('sqlite', 'off'), sqlite('sqlite-memory', 'always'));
    const mongo = new MongoStore(mingoCollections(), 'cosmos', 'mongodb mingo');
    backends.push({ name: 'mongodb (mingo)', store: mongo, close: () => mongo.close() });
    const url = process.env.VIDEODEX_TEST_PG_URL;
    if (url) {
      const schema = `vdx_diff_${randomBytes(4).toString('hex')}`;
      const pg = new PostgresStore({ url, schema, poolSize: 4 });
      backends.push({ name: 'postgres', store: pg, close: async () => (await pg.dropSchema(), await pg.close()) });
    }
    for (const b of backends) {
      await b.store.migrate();
      if (b.store.upsertMany) await b.store.upsertMany(videos);
      else for (const v of videos) await b.store.upsert(v);
    }
  });
  afterAll(async () => {
    for (const b of backends) await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectedOf = (q: SearchQuery): { ids: string[]; plan: ReturnType<typeof planQuery> } => {
    const plan = planQuery(q);
    return { ids: videos.filter((v) => matches(fields.get(v.id)!, plan.where)).map((v) => v.id), plan };
  };

  it.each(QUERIES.map((q) => [q.length > 40 ? `${q.slice(0, 40)}… (${q.length})` : q, q]))('%j: ids, total, facets and field-sort order as the reference', async (_label, text) => {
    const { ids, plan } = expectedOf({ text, limit: 1000 });
    const f = ids.map((id) => fields.get(id)!);
    const facets = {
      tags: facetCounts(f.flatMap((x) => x.tags), FACET_SIZE),
      categories: facetCounts(f.flatMap((x) => x.categories), FACET_SIZE),
      codecs: facetCounts(f.map((x) => x.codec), FACET_SIZE),
      sourceKinds: facetCounts(f.map((x) => x.sourceKind), FACET_SIZE),
      resolutions: facetCounts(f.map((x) => x.resolution), FACET_SIZE),
    };
    for (const b of backends) {
      const r = await b.store.search({ text, limit: 1000 });
      const got = r.hits.map((h) => h.id);
      expect(r.total, b.name).toBe(ids.length);
      expect([...got].sort(), b.name).toEqual([...ids].sort());
      for (const k of Object.keys(facets) as Array<keyof typeof facets>) expect(Object.entries(r.facets[k]), `${b.name} ${k}`).toEqual(Object.entries(facets[k]));
      if (plan.sort !== 'relevance') expect(got, b.name).toEqual([...ids].sort((x, y) => compareBySort(plan, fields.get(x)!, fields.get(y)!)));
    }
  });

  it.each(REFUSED.map((q) => [q.length > 40 ? `${q.slice(0, 40)}… (${q.length})` : q, q]))('%j: a QueryError from every store', async (_label, text) => {
    for (const b of backends) {
      const err = await b.store.search({ text }).then(() => null, (e: unknown) => e);
      expect(err, b.name).toBeInstanceOf(QueryError);
      expect((err as Error).message, b.name).not.toContain('\n');
    }
  });

  // mingo runs a pipeline over every document per page: it pages one query here (the contract pages it too)
  it.each(['', 'r*', 'tag:outdoor', 'caf* OR 東京 -has:audio'])('%j: every sort pages by cursor and by offset with no record repeated or skipped', async (text) => {
    for (const sort of SORT_KEYS) {
      const { ids, plan } = expectedOf({ text, sort, limit: 1000 });
      for (const b of backends.filter((x) => text === 'tag:outdoor' || !x.name.includes('mingo'))) {
        const whole = (await b.store.search({ text, sort, limit: 1000, facets: false })).hits.map((h) => h.id);
        expect([...whole].sort(), `${b.name} ${sort}`).toEqual([...ids].sort());
        if (sort !== 'relevance') expect(whole, `${b.name} ${sort}`).toEqual([...ids].sort((x, y) => compareBySort(plan, fields.get(x)!, fields.get(y)!)));
        const byCursor: string[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await b.store.search({ text, sort, limit: 37, facets: false, ...(cursor ? { cursor } : {}) });
          byCursor.push(...page.hits.map((h) => h.id));
          cursor = page.nextCursor;
        } while (cursor && byCursor.length <= ids.length);
        expect(byCursor, `${b.name} ${sort} by cursor`).toEqual(whole);
        const byOffset: string[] = [];
        for (let offset = 0; offset < whole.length; offset += 37) byOffset.push(...(await b.store.search({ text, sort, limit: 37, offset, facets: false })).hits.map((h) => h.id));
        expect(byOffset, `${b.name} ${sort} by offset`).toEqual(whole);
      }
    }
  });
});
