/**
 * Words written with marks inside them (index format 3): a Devanagari or Bengali word is one word with its vowel
 * signs, not three words; Hebrew points, Arabic harakat and tatweel are optional like Latin accents; `ß` and final
 * `ς` are case-folded. On every store this machine runs, and on a SQLite library indexed by the previous format.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import type { VideoStore } from '../../src/store/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { highlight, INDEX_VERSION, planQuery, tokenize } from '../../src/store/query/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const t = tempDir();

const described = (id: string, description: string): Video => {
  const v = makeRecord({ id });
  return { ...v, ai: { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description, tags: [], actions: [], promptTokens: 0, completionTokens: 0, framesSent: 0, at: v.createdAt } };
};

const RECORDS = [
  described('hindi', 'एक हिन्दी फ़िल्म'),
  described('letters', 'ह न द'), // the letters of हिन्दी without its vowel signs and virama: another text
  described('hebrew', 'שָׁלוֹם עוֹלָם'),
  described('arabic', 'كَتَبَ الوَلَدُ'),
  described('tatweel', 'كتـــب'),
  described('german', 'Die Straße'),
  described('greek', 'ΟΔΟΣ'),
];

/** What each query must find, whatever the store. */
const EXPECTED: Array<[string, string[]]> = [
  ['हिन्दी', ['hindi']],
  ['न', ['letters']],
  ['हिन*', ['hindi']],
  ['फ़िल्म', ['hindi']],
  ['שלום', ['hebrew']],
  ['שָׁלוֹם', ['hebrew']],
  ['كتب', ['arabic', 'tatweel']],
  ['كَتَبَ', ['arabic', 'tatweel']],
  ['strasse', ['german']],
  ['STRASSE', ['german']],
  ['straße', ['german']],
  ['οδος', ['greek']],
  ['ὁδός', ['greek']],
];

describe('tokenize: marks inside words', () => {
  it('keeps vowel signs, viramas and nuktas in their word and takes optional points out', () => {
    expect(tokenize('एक हिन्दी फ़िल्म')).toEqual(['एक', 'हिन्दी', 'फ़िल्म']);
    expect(tokenize('বাংলা ভাষা')).toEqual(['বাংলা', 'ভাষা']);
    expect(tokenize('שָׁלוֹם')).toEqual(['שלום']);
    expect(tokenize('كَتَبَ كتـــب')).toEqual(['كتب', 'كتب']);
    expect(tokenize('Straße ΟΔΟΣ café')).toEqual(['strasse', 'οδοσ', 'cafe']);
  });

  it('marks the whole word in a snippet', () => {
    expect(highlight(RECORDS[0]!, planQuery({ text: 'हिन्दी' }).terms)).toBe('एक [हिन्दी] फ़िल्म');
  });
});

async function expectAnswers(store: VideoStore): Promise<void> {
  for (const [text, ids] of EXPECTED) expect((await store.search({ text })).hits.map((h) => h.id).sort(), text).toEqual(ids);
}

describe('search: words with marks on every store', () => {
  const stores: VideoStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it('SQLite', async () => {
    const s = new SqliteStore(path.join(t.dir, 'marks.db'));
    stores.push(s);
    await s.migrate();
    await s.upsertMany(RECORDS);
    await expectAnswers(s);
  });

  it.skipIf(!process.env.VIDEODEX_TEST_PG_URL)('PostgreSQL', async () => {
    const schema = `marks_${process.pid}_${Date.now()}`;
    const s = new PostgresStore({ url: process.env.VIDEODEX_TEST_PG_URL!, schema, poolSize: 2 });
    stores.push(s);
    await s.migrate();
    await s.upsertMany!(RECORDS);
    await expectAnswers(s);
    await s.dropSchema();
  });

  it('a SQLite library indexed by the previous format is migrated and reindexed', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(t.dir, 'format2.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsertMany(RECORDS);
    await s.close();
    // as format 2 left it: the old tokenizer, the words split at their marks, schema step 11 not run
    const raw = new Database(file);
    raw.exec(`DROP TABLE videos_fts;
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, content = 'video_text_fts', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
      UPDATE video_text SET description = 'एक ह न द फ ल म' WHERE description = 'एक हिन्दी फ़िल्म';
      INSERT INTO videos_fts(videos_fts) VALUES('rebuild');
      DELETE FROM schema_migrations WHERE version = 11;
      UPDATE meta SET value = '2' WHERE key = 'index_version';`);
    expect(raw.prepare("SELECT rowid FROM videos_fts WHERE videos_fts MATCH '\"न\"'").all()).toHaveLength(2);
    raw.close();

    const upgraded = new SqliteStore(file);
    stores.push(upgraded);
    await upgraded.migrate();
    await expectAnswers(upgraded);
    const check = new Database(file);
    try {
      // the index agrees with its content table row for row
      expect(() => check.prepare("INSERT INTO videos_fts(videos_fts, rank) VALUES('integrity-check', 1)").run()).not.toThrow();
      expect(check.prepare("SELECT value FROM meta WHERE key = 'index_version'").pluck().get()).toBe(String(INDEX_VERSION));
    } finally {
      check.close();
    }
  });
});
