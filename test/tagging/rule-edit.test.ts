import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { configWith, createLogger, type Video } from '../../src/core/index.js';
import { SqliteStore, type VideoStore } from '../../src/store/index.js';
import { createTaggingSetup, planRuleEdit, readSetupLedger, recordSetup, SETUP_LEDGER_FILE, SETUP_LEDGER_SIZE, type TaggingSetup } from '../../src/tagging/index.js';
import { createClassifyStage, createTagStage, earlierSetups, retagInParallel } from '../../src/workflow/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from './records.js';
import { allRecords, comparable, counts, retagWith, twoLibraries } from './retag-helpers.js';

const config = configWith();
const logger = createLogger({ file: null, level: 'silent', secrets: [] });
const TAXONOMY = 'categories:\n  - name: sports\n    keywords: [ball, surf]\n  - name: travel\n    keywords: [beach, city]\n';

/** A rules file from rule lines (`- name: ..., ...` flow maps). */
const rulesText = (...rules: string[]) => `rules:\n${rules.map((r) => `  - { ${r} }`).join('\n')}\n`;
const BASE = [
  'name: long, when: "duration > 60", add: [long], categories: [feature]',
  'name: hd-beach, priority: 2, when: { all: ["height >= 720", { filename: "*beach*" }] }, add: [hd-beach]',
  'name: surf-words, when: { description: { any: [surf, wave] } }, add: [surfing], remove: [beach]',
  'name: after-long, priority: -1, when: { tag: long }, add: [long-chain]',
  'name: city-not-boat, when: { not: { path: "**/boat/**" } }, categories: [travel]',
];
const setupOf = (rules: string[], taxonomy = TAXONOMY) => createTaggingSetup({ rulesText: rulesText(...rules), taxonomyText: taxonomy });

function library(n: number): Video[] {
  const words = ['beach', 'boat', 'city', 'snow'];
  return Array.from({ length: n }, (_, i) =>
    makeRecord({
      id: `rec${String(i).padStart(5, '0')}`,
      path: `/videos/${words[i % 4]}/${words[(i * 3) % 4]}_${words[(i * 7) % 4]}-${i}.mp4`,
      metadata: { durationSec: (i * 17) % 300, width: [640, 1280, 1920][i % 3]!, height: [360, 720, 1080][i % 3]! },
      ...(i % 3 ? { ai: { description: ['a surf lesson', 'waves at the pier', 'a quiet street', 'ball game'][i % 4]!, category: ['surf', 'city', 'knitting'][i % 3]!, tags: ['sea'] } } : {}),
    }),
  );
}

const all = allRecords;
const run = retagWith;

describe('planRuleEdit: which records a rule edit can change', () => {
  const rec = (duration: number, file = '/v/clip.mp4') => makeRecord({ path: file, metadata: { durationSec: duration } });
  const plan = (before: string[], after: string[]) => planRuleEdit(setupOf(before).rules, setupOf(after).rules);

  it('a changed condition: only records where the old and new condition disagree', () => {
    const p = plan(BASE, [BASE[0]!.replace('> 60', '> 120'), ...BASE.slice(1)])!;
    expect(p.changed).toBe(2);
    expect(p.unaffected(rec(30))).toBe(true); // false before and after
    expect(p.unaffected(rec(200))).toBe(true); // true before and after: the same actions at the same place
    expect(p.unaffected(rec(90))).toBe(false);
  });

  it('an added or removed rule: only records it fires on', () => {
    const added = plan(BASE, [...BASE, 'name: tiny, when: "duration < 10", add: [tiny]'])!;
    expect(added.unaffected(rec(30))).toBe(true);
    expect(added.unaffected(rec(5))).toBe(false);
    const removed = plan(BASE, BASE.filter((r) => !r.startsWith('name: long')))!;
    expect(removed.unaffected(rec(30))).toBe(true);
    expect(removed.unaffected(rec(90))).toBe(false);
  });

  it('a rule whose actions, name, confidence or place changed: every record it fires on', () => {
    for (const edited of [
      BASE[0]!.replace('add: [long]', 'add: [lengthy]'),
      BASE[0]!.replace('name: long', 'name: long2'),
      `${BASE[0]}, confidence: 0.5`,
      `${BASE[0]}, priority: 9`,
    ]) {
      const p = plan(BASE, [edited, ...BASE.slice(1)])!;
      expect(p.unaffected(rec(30)), edited).toBe(true);
      expect(p.unaffected(rec(90)), edited).toBe(false);
    }
  });

  it('only a description changed: no record', () => {
    const p = plan(BASE, [`${BASE[0]}, description: "long videos"`, ...BASE.slice(1)])!;
    expect(p.unaffected(rec(90))).toBe(true);
    expect(plan(BASE, BASE)!.changed).toBe(0);
  });

  it('no plan when a changed rule reads the tags left by others, a rule reads tagCount, or unchanged rules change order', () => {
    expect(plan(BASE, [...BASE.slice(0, 3), BASE[3]!.replace('long-chain', 'chained'), BASE[4]!])).toBeNull();
    expect(plan(BASE, [...BASE, 'name: c, when: { category: travel }, add: [x]'])).toBeNull();
    expect(plan([...BASE, 'name: many, when: "tagCount > 3", add: [many]'], [...BASE.slice(1), 'name: many, when: "tagCount > 3", add: [many]'])).toBeNull();
    // same text, same priority, another file order: the fold runs them the other way round
    expect(plan(BASE, [BASE[2]!, BASE[0]!, BASE[1]!, BASE[3]!, BASE[4]!])).toBeNull();
  });

  it('earlierSetups keeps the setups that differ in rules alone', () => {
    const now = setupOf(BASE);
    const kept = earlierSetups(now, [
      setupOf([BASE[0]!.replace('> 60', '> 10'), ...BASE.slice(1)]).options,
      setupOf(BASE).options, // the current one
      setupOf(BASE, `${TAXONOMY}  - name: food\n`).options, // another taxonomy: every record's inputs moved
      setupOf([...BASE, 'name: t, when: { tag: long }, add: [x]']).options, // no plan
      { rulesText: 'rules: [' }, // no longer parses
    ]);
    expect(kept).toHaveLength(1);
  });
});

describe('retag after a rule edit skips the records the edit cannot change', () => {
  let libs: Awaited<ReturnType<typeof twoLibraries>>;
  let inc: SqliteStore;
  let full: SqliteStore;
  beforeEach(async () => {
    libs = await twoLibraries('videodex-rule-edit-', library(400));
    ({ inc, full } = libs);
  });
  afterEach(() => libs.close());

  it('writes exactly what recomputing every record writes, edit after edit', async () => {
    const s0 = setupOf(BASE);
    await run(inc, s0);
    await run(full, s0);
    const edits: Array<[string, string[]]> = [
      ['a threshold', [BASE[0]!.replace('> 60', '> 150'), ...BASE.slice(1)]],
      ['a new rule', [BASE[0]!.replace('> 60', '> 150'), ...BASE.slice(1), 'name: short, when: "duration < 40", add: [short], remove: [long-chain]']],
      ['a removed rule', [BASE[0]!.replace('> 60', '> 150'), ...BASE.slice(2), 'name: short, when: "duration < 40", add: [short], remove: [long-chain]']],
      ['a renamed rule with a new priority', [BASE[0]!.replace('> 60', '> 150'), BASE[2]!.replace('surf-words', 'sea-words').replace('when:', 'priority: 3, when:'), ...BASE.slice(3)]],
      ['an edit of a rule that reads tags', [BASE[0]!.replace('> 60', '> 150'), ...BASE.slice(2, 3), BASE[3]!.replace('long-chain', 'chain'), BASE[4]!]],
      ['back to the start', BASE],
    ];
    const history: TaggingSetup[] = [s0];
    let skippedAny = false;
    for (const [what, rules] of edits) {
      const s = setupOf(rules);
      const a = await run(inc, s, [...history].reverse());
      const b = await run(full, s);
      history.push(s);
      expect(counts(a), what).toEqual(counts(b));
      expect(b.unaffected, what).toBe(0);
      expect(a.changed, what).toBeGreaterThan(0);
      if (what.includes('reads tags')) expect(a.unaffected, what).toBe(0);
      else expect(a.unaffected + a.changed, what).toBeLessThanOrEqual(400);
      skippedAny ||= a.unaffected > 0;
      expect((await all(inc)).map(comparable), what).toEqual((await all(full)).map(comparable));
      // and both are up to date with the edit: a second pass has nothing to do
      expect(await run(inc, s, history), what).toMatchObject({ upToDate: 400, unaffected: 0, changed: 0 });
    }
    expect(skippedAny).toBe(true);
    for (const text of ['tag:long', 'tag:short', 'tag:hd-beach', 'category:feature', 'category:travel', 'surf']) {
      expect((await inc.search({ text, limit: 3 })).total, text).toBe((await full.search({ text, limit: 3 })).total);
    }
  });

  it('recomputes a record whose labels or inputs changed since it was tagged', async () => {
    const s0 = setupOf(BASE);
    const s1 = setupOf([BASE[0]!.replace('> 60', '> 250'), ...BASE.slice(1)]);
    for (const s of [inc, full]) await run(s, s0);
    // a short record (unaffected by the edit) whose labels were changed by other means, and one whose duration moved
    for (const s of [inc, full]) {
      const a = (await s.get('rec00001'))!;
      // (a tag's name is part of the classify stage's inputs; a category is not)
      expect(a.categories.length).toBeGreaterThan(0);
      await s.upsert({ ...a, tags: a.tags.map((t, i) => (i === 0 ? { ...t, confidence: 0.01 } : t)), categories: [] });
      const b = (await s.get('rec00002'))!;
      await s.upsert({ ...b, metadata: { ...b.metadata!, durationSec: 10 } });
    }
    const a = await run(inc, s1, [s0]);
    const b = await run(full, s1);
    expect(counts(a)).toEqual(counts(b));
    expect((await all(inc)).map(comparable)).toEqual((await all(full)).map(comparable));
    const back = (await inc.get('rec00001'))!;
    expect(back.categories.length).toBeGreaterThan(0);
    expect(back.tags[0]!.confidence).not.toBe(0.01);
  });

  it('is not used with --force, and the workers use it too', async () => {
    const s0 = setupOf(BASE);
    const s1 = setupOf([BASE[0]!.replace('> 60', '> 250'), ...BASE.slice(1)]);
    await run(inc, s0);
    expect((await run(inc, s1, [s0], { force: true })).unaffected).toBe(0);
    // back to s0 on two workers (enough records for two), against one thread on the other library
    const big = library(4100);
    await inc.upsertMany(big);
    await full.upsertMany(big);
    await run(full, s0);
    await run(full, s1);
    await run(inc, s0);
    await run(inc, s1, [s0]);
    const parallel = await retagInParallel({
      store: inc, config, logger, setup: s0, tagStage: createTagStage(s0), classifyStage: createClassifyStage(s0), earlier: [s1.options],
      workers: 2, storeOptions: { backend: 'sqlite', path: path.join(libs.dir, 'inc.db') },
    });
    const single = await run(full, s0);
    expect(parallel.unaffected).toBeGreaterThan(1000);
    expect(counts(parallel)).toEqual(counts(single));
    expect((await all(inc)).map(comparable)).toEqual((await all(full)).map(comparable));
  });
});

const pgUrl = process.env.VIDEODEX_TEST_PG_URL;

/** The edit sequence on `store` with the ledger's setups, against a full recompute of the same records in SQLite. */
async function againstFullRecompute(store: VideoStore, dir: string): Promise<void> {
  const full = new SqliteStore(path.join(dir, 'full.db'));
  try {
    await store.migrate();
    await full.migrate();
    const records = library(300);
    await store.upsertMany!(records);
    await full.upsertMany(records);
    const steps = [BASE, [BASE[0]!.replace('> 60', '> 150'), ...BASE.slice(1)], [...BASE.slice(0, 4), 'name: short, when: "duration < 40", add: [short]'], BASE];
    const history: TaggingSetup[] = [];
    let skipped = 0;
    for (const rules of steps) {
      const s = setupOf(rules);
      const a = await run(store, s, [...history].reverse());
      const b = await run(full, s);
      history.push(s);
      skipped += a.unaffected;
      expect(counts(a)).toEqual(counts(b));
      expect((await all(store)).map(comparable)).toEqual((await all(full)).map(comparable));
    }
    expect(skipped).toBeGreaterThan(0);
  } finally {
    await full.close();
  }
}

describe('retag after a rule edit on the other stores', () => {
  it('MongoDB (the adapter over mingo) writes what a full recompute writes', async () => {
    const { MongoStore } = await import('../../src/store/mongodb/index.js');
    const { mingoCollections } = await import('../store/mingo-collection.js');
    const t = tempDir('videodex-rule-edit-mongo-');
    const store = new MongoStore(mingoCollections(), 'cosmos', 'mongodb mingo');
    try {
      await againstFullRecompute(store, t.dir);
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  it.skipIf(!pgUrl)('PostgreSQL writes what a full recompute writes', async () => {
    const { PostgresStore } = await import('../../src/store/postgres/index.js');
    const pg = new PostgresStore({ url: pgUrl!, schema: `vdx_test_rule_edit_${Date.now().toString(36)}`, poolSize: 2 });
    const t = tempDir('videodex-rule-edit-pg-');
    try {
      await againstFullRecompute(pg, t.dir);
    } finally {
      t.cleanup();
      await pg.dropSchema();
      await pg.close();
    }
  });
});

describe('the setup ledger', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir('videodex-ledger-');
  });
  afterEach(() => t.cleanup());

  it('keeps the newest setups first, each once, up to its size', () => {
    expect(readSetupLedger(t.dir)).toEqual([]);
    const setups = Array.from({ length: SETUP_LEDGER_SIZE + 2 }, (_, i) => setupOf([BASE[0]!.replace('> 60', `> ${i}`)]));
    setups.forEach((s, i) => recordSetup(t.dir, s, new Date(Date.UTC(2026, 0, 1 + i))));
    recordSetup(t.dir, setups[5]!, new Date(Date.UTC(2026, 1, 1)));
    const ledger = readSetupLedger(t.dir);
    expect(ledger).toHaveLength(SETUP_LEDGER_SIZE);
    expect(ledger[0]!.fingerprint).toBe(setups[5]!.fingerprint);
    expect(ledger[1]!.fingerprint).toBe(setups.at(-1)!.fingerprint);
    expect(new Set(ledger.map((e) => e.fingerprint)).size).toBe(SETUP_LEDGER_SIZE);
    expect(createTaggingSetup(ledger[0]!.options).fingerprint).toBe(setups[5]!.fingerprint);
  });

  it('a damaged or foreign file counts as empty and is replaced on the next record', () => {
    const file = path.join(t.dir, SETUP_LEDGER_FILE);
    for (const text of ['{not json', '{"version": 2, "setups": []}', '[]']) {
      writeFileSync(file, text);
      expect(readSetupLedger(t.dir), text).toEqual([]);
    }
    recordSetup(t.dir, setupOf(BASE));
    expect(JSON.parse(readFileSync(file, 'utf8')).setups).toHaveLength(1);
  });

  it('is what `videodex retag` reads and writes in the data folder, and a ledger it cannot write only costs speed', async () => {
    const rules = path.join(t.dir, 'rules.yaml');
    const dataDir = path.join(t.dir, 'data');
    const db = path.join(dataDir, 'videodex.db');
    const lib = new SqliteStore(db);
    await lib.migrate();
    await lib.upsertMany(library(200));
    await lib.close();
    const app = () => new App({ config: configWith({ Paths: { DataDir: dataDir }, Database: { Path: db }, Tagging: { RulesFile: rules, Taxonomy: '' }, Concurrency: { Cpu: 1 } }), sources: {}, file: null }, { logToFile: false });
    const retag = async (options: { dryRun?: boolean } = {}) => {
      const a = app();
      try {
        return await a.retag({}, options);
      } finally {
        await a.close();
      }
    };
    writeFileSync(rules, rulesText(...BASE));
    expect((await retag()).changed).toBe(200);
    expect(readSetupLedger(dataDir)).toHaveLength(1);
    writeFileSync(rules, rulesText(BASE[0]!.replace('> 60', '> 150'), ...BASE.slice(1)));
    const dry = await retag({ dryRun: true });
    expect(dry.unaffected).toBeGreaterThan(0);
    expect(readSetupLedger(dataDir)).toHaveLength(1); // a dry run writes nothing
    const edited = await retag();
    expect(edited).toMatchObject({ changed: dry.changed, unaffected: dry.unaffected });
    expect(edited.changed + edited.unaffected).toBe(200);
    expect(readSetupLedger(dataDir)).toHaveLength(2);

    // a ledger that cannot be read or written (here a folder in its place): every record is recomputed, no failure
    rmSync(path.join(dataDir, SETUP_LEDGER_FILE));
    mkdirSync(path.join(dataDir, SETUP_LEDGER_FILE, 'x'), { recursive: true });
    writeFileSync(rules, rulesText(...BASE));
    const blind = await retag();
    expect(blind).toMatchObject({ unaffected: 0, failed: [] });
    expect(blind.changed).toBe(edited.changed);
    expect(existsSync(path.join(dataDir, SETUP_LEDGER_FILE, 'x'))).toBe(true);
  });
});
