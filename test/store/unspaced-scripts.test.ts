/**
 * Scripts written without spaces between words (index format 4): Chinese, Japanese, Thai and Korean's particles.
 * A run of such letters was one token, so a word was found only when it was the whole run (`東京` missed
 * *東京タワーの夜景*, `서울` missed *서울에서*). Each character is a token now, and a query word is the phrase of its
 * characters: found wherever it is written, in order, and not when its characters are apart. On every store this
 * machine runs, and on a SQLite library indexed by the previous format.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import type { VideoStore } from '../../src/store/index.js';
import { MongoStore } from '../../src/store/mongodb/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { highlight, INDEX_VERSION, planQuery, tokenize } from '../../src/store/query/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';
import { mingoCollections } from './mingo-collection.js';

const t = tempDir();

const described = (id: string, description: string, title?: string): Video => {
  const v = makeRecord({ id });
  return {
    ...v,
    source: { ...v.source, ...(title ? { title } : {}) },
    ai: { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description, tags: [], actions: [], promptTokens: 0, completionTokens: 0, framesSent: 0, at: v.createdAt },
  };
};

const RECORDS = [
  described('tokyo', '東京タワーの夜景', 'iPhone東京ナイト'),
  described('kyoto', '京都の東山、夕方'), // 東 and 京 both, never 東京
  described('seoul', '서울에서 만나요'),
  described('thai', 'ภาษาไทยง่ายมาก'),
  described('latin', 'Tokyo tower at night'),
];

/** What each query must find, whatever the store. */
const EXPECTED: Array<[string, string[]]> = [
  ['東京', ['tokyo']],
  ['タワー', ['tokyo']],
  ['夜景', ['tokyo']],
  ['東京タワー', ['tokyo']],
  ['"東京 タワー"', ['tokyo']],
  ['東京*', ['tokyo']],
  ['東', ['kyoto', 'tokyo']],
  ['京東', []],
  ['東山', ['kyoto']],
  ['iphone東京', ['tokyo']],
  ['iphone', ['tokyo']],
  ['ナイト', ['tokyo']],
  ['서울', ['seoul']],
  ['만나', ['seoul']],
  ['ไทย', ['thai']],
  ['ง่าย', ['thai']],
  ['tokyo', ['latin']],
  ['東京 OR tokyo', ['latin', 'tokyo']],
  ['-東京 tower', ['latin']],
];

describe('tokenize: scripts written without spaces', () => {
  it('makes each character a token, with its marks, and keeps other words whole', () => {
    expect(tokenize('東京タワーの夜景')).toEqual(['東', '京', 'タ', 'ワ', 'ー', 'の', '夜', '景']);
    expect(tokenize('iPhone東京 3号')).toEqual(['iphone', '東', '京', '3', '号']);
    expect(tokenize('서울에서')).toEqual(['서', '울', '에', '서']);
    // a Thai tone mark stays on its letter; half-width katakana is read as full width
    expect(tokenize('ง่าย')).toEqual(['ง่', 'า', 'ย']);
    expect(tokenize('ｶﾀｶﾅ')).toEqual(['カ', 'タ', 'カ', 'ナ']);
    // scripts written with spaces keep their words
    expect(tokenize('एक हिन्दी café')).toEqual(['एक', 'हिन्दी', 'cafe']);
  });

  it('marks the whole word in a snippet, not each character', () => {
    expect(highlight(RECORDS[0]!, planQuery({ text: 'タワー' }).terms)).toBe('東京[タワー]の夜景');
    expect(highlight(RECORDS[2]!, planQuery({ text: '서울' }).terms)).toBe('[서울]에서 만나요');
  });
});

async function expectAnswers(store: VideoStore): Promise<void> {
  for (const [text, ids] of EXPECTED) expect((await store.search({ text })).hits.map((h) => h.id).sort(), text).toEqual(ids);
}

describe('search: scripts written without spaces, on every store', () => {
  const stores: VideoStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it('SQLite', async () => {
    const s = new SqliteStore(path.join(t.dir, 'unspaced.db'));
    stores.push(s);
    await s.migrate();
    await s.upsertMany(RECORDS);
    await expectAnswers(s);
  });

  it.skipIf(!process.env.VIDEODEX_TEST_PG_URL)('PostgreSQL', async () => {
    const schema = `unspaced_${process.pid}_${Date.now()}`;
    const s = new PostgresStore({ url: process.env.VIDEODEX_TEST_PG_URL!, schema, poolSize: 2 });
    stores.push(s);
    await s.migrate();
    await s.upsertMany!(RECORDS);
    await expectAnswers(s);
    await s.dropSchema();
  });

  it('MongoDB (mingo)', async () => {
    const s = new MongoStore(mingoCollections(), 'cosmos', 'mongodb mingo');
    stores.push(s);
    await s.migrate();
    await s.upsertMany!(RECORDS);
    await expectAnswers(s);
  });

  it('a SQLite library indexed by the previous format is reindexed on open', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'format3.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsertMany(RECORDS);
    await s.close();
    // as format 3 left it: each run of letters one token
    const raw = new Database(file);
    raw.exec(`UPDATE video_text SET description = '東京タワーの夜景' WHERE description = '東 京 タ ワ ー の 夜 景';
      INSERT INTO videos_fts(videos_fts) VALUES('rebuild');
      UPDATE meta SET value = '3' WHERE key = 'index_version';`);
    expect(raw.prepare("SELECT rowid FROM videos_fts WHERE videos_fts MATCH 'description:\"東京タワーの夜景\"'").all()).toHaveLength(1);
    raw.close();

    const upgraded = new SqliteStore(file);
    stores.push(upgraded);
    await upgraded.migrate();
    await expectAnswers(upgraded);
    const check = new Database(file);
    try {
      expect(() => check.prepare("INSERT INTO videos_fts(videos_fts, rank) VALUES('integrity-check', 1)").run()).not.toThrow();
      expect(check.prepare("SELECT value FROM meta WHERE key = 'index_version'").pluck().get()).toBe(String(INDEX_VERSION));
      expect(check.prepare("SELECT count(*) FROM videos_fts WHERE videos_fts MATCH 'description:\"東京タワーの夜景\"'").pluck().get()).toBe(0);
    } finally {
      check.close();
    }
  });
});
