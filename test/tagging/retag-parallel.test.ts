import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { configWith, createLogger, type Video } from '../../src/core/index.js';
import { SqliteStore, type VideoStore } from '../../src/store/index.js';
import { createTaggingSetup, type TaggingSetup } from '../../src/tagging/index.js';
import { createClassifyStage, createTagStage, MIN_RECORDS_PER_WORKER, retagInParallel, retagRecords } from '../../src/workflow/index.js';
import { partClaimer } from '../../src/workflow/retag-parallel.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';
import { allRecords, comparable } from './retag-helpers.js';

const config = configWith();
const logger = createLogger({ file: null, level: 'silent', secrets: [] });
// two workers need two workers' worth of records
const N = 2 * MIN_RECORDS_PER_WORKER + 37;
const rules = (min: number) =>
  `rules:\n  - name: long\n    when: "duration > ${min}"\n    add: [long]\n    categories: [feature]\n  - name: boats\n    when: { filename: "*boat*" }\n    add: [boat]\n  - name: not-long\n    when: { not: { tag: long } }\n    add: [short-ish]\n`;

function library(): Video[] {
  const words = ['boat', 'train', 'dog', 'snow'];
  return Array.from({ length: N }, (_, i) =>
    makeRecord({
      id: `rec${String(i).padStart(6, '0')}`,
      file: { path: `/videos/${words[i % 4]}/${words[(i * 7) % 4]}-clip-${i}.mp4`, bytes: 1000 + i, sha256: String(i).padEnd(64, '0') },
      metadata: { durationSec: (i * 13) % 400, container: 'mp4', bitRate: 1, width: 1280, height: 720, fps: 30, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
    }),
  );
}

const all = allRecords;

describe('the parts a parallel retag shares out', () => {
  it('hands out each part once, across threads, and none once the pass stops', () => {
    const shared = new Int32Array(new SharedArrayBuffer(16));
    const [a, b] = [partClaimer(shared, 5), partClaimer(shared, 5)];
    const taken = [a(), b(), b(), a(), a(), b(), a()];
    expect(taken.map((s) => s?.index ?? null)).toEqual([0, 1, 2, 3, 4, null, null]);
    expect(taken.every((s) => s === null || s.count === 5)).toBe(true);
    const stopped = new Int32Array(new SharedArrayBuffer(16));
    const c = partClaimer(stopped, 5);
    expect(c()).toEqual({ index: 0, count: 5 });
    Atomics.store(stopped, 0, 1);
    expect(c()).toBeNull();
  });
});

describe('retag on worker threads', () => {
  let t: ReturnType<typeof tempDir>;
  let one: SqliteStore;
  let many: SqliteStore;
  let manyFile: string;
  beforeEach(async () => {
    t = tempDir('videodex-retag-parallel-');
    one = new SqliteStore(path.join(t.dir, 'one.db'));
    manyFile = path.join(t.dir, 'many.db');
    many = new SqliteStore(manyFile);
    const records = library();
    for (const s of [one, many]) {
      await s.migrate();
      await s.upsertMany(records);
    }
  });
  afterEach(async () => {
    await one.close();
    await many.close();
    t.cleanup();
  });

  const stagesOf = (setup: TaggingSetup) => ({ setup, tagStage: createTagStage(setup), classifyStage: createClassifyStage(setup) });

  it('writes what one thread writes, and counts the same, through a first run, a rule edit and a run with nothing to do', async () => {
    for (const [step, text] of [[0, rules(100)], [1, rules(250)], [2, rules(250)]] as const) {
      const setup = createTaggingSetup({ rulesText: text });
      const single = await retagRecords({ store: one, config, logger, ...stagesOf(setup) });
      const progress: number[] = [];
      const parallel = await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions: { backend: 'sqlite', path: manyFile }, onProgress: (n) => progress.push(n) });
      const { ms: _a, ...a } = single;
      const { ms: _b, ...b } = parallel;
      expect(b, `step ${step}`).toEqual(a);
      expect(parallel.seen).toBe(N);
      expect(progress.at(-1)).toBe(N);
      if (step === 1) expect(parallel.changed).toBeGreaterThan(N / 5);
      if (step === 2) expect(parallel).toMatchObject({ upToDate: N, changed: 0 });
      const [x, y] = [await all(one), await all(many)];
      expect(y.map(comparable)).toEqual(x.map(comparable));
    }
    // the index followed: the same searches answer the same
    for (const text of ['tag:long', 'tag:short-ish', 'tag:boat', 'category:feature', 'boat']) {
      expect((await many.search({ text, limit: 5 })).total, text).toBe((await one.search({ text, limit: 5 })).total);
    }
    expect((await many.search({ text: 'tag:long' })).total).toBeGreaterThan(0);
  });

  it('re-tags only a sorted, limited selection, in this thread, when the query asks for one', async () => {
    const setup = createTaggingSetup({ rulesText: rules(100) });
    // options that would fail in a worker: a selection is a search's pages, which do not split into shards
    const nowhere = { backend: 'sqlite' as const, path: '/dev/null/x.db' };
    const limit = MIN_RECORDS_PER_WORKER + 500;
    const r = await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions: nowhere, query: { sort: 'duration-desc', limit } });
    expect(r.seen).toBe(limit);
    const records = await all(many);
    const done = records.filter((v) => v.stages.tag);
    const rest = records.filter((v) => !v.stages.tag);
    expect(done).toHaveLength(limit);
    // the longest ones, as `search --sort duration-desc` lists them
    expect(Math.min(...done.map((v) => v.metadata!.durationSec))).toBeGreaterThanOrEqual(Math.max(...rest.map((v) => v.metadata!.durationSec)));
  });

  it('stays in this thread when the store cannot shard, the match is small, or one worker is asked for', async () => {
    const setup = createTaggingSetup({ rulesText: rules(100) });
    // options that would fail in a worker: none may start
    const nowhere = { backend: 'sqlite' as const, path: path.join(t.dir, 'missing-dir', 'no.db') };
    const noShards: VideoStore = { ...bound(many), shards: false };
    const r1 = await retagInParallel({ store: noShards, config, logger, ...stagesOf(setup), workers: 2, storeOptions: { ...nowhere, path: '/dev/null/x.db' } });
    expect(r1.seen).toBe(N);
    const r2 = await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions: { ...nowhere, path: '/dev/null/x.db' }, query: { text: 'tag:long' } });
    expect(r2.seen).toBeLessThan(2 * MIN_RECORDS_PER_WORKER);
    const r3 = await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 1, storeOptions: { ...nowhere, path: '/dev/null/x.db' }, force: true });
    expect(r3.seen).toBe(N);
  });

  it('fails with the worker\'s cause when a worker cannot open the library, and the library stays usable', async () => {
    const setup = createTaggingSetup({ rulesText: rules(100) });
    // this thread is one of the two: it starts at once, and the worker that fails stops it
    let counted = 0;
    const failing = retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions: { backend: 'sqlite', path: '/dev/null/x.db' }, onProgress: (n) => (counted = n) });
    await expect(failing).rejects.toThrow(/retag worker 1 of 1: .*\/dev\/null\/x\.db/);
    // what this thread counted before it stopped is written
    const kept = await retagRecords({ store: many, config, logger, ...stagesOf(setup), dryRun: true });
    expect(kept.upToDate).toBeGreaterThanOrEqual(counted);
    const after = await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions: { backend: 'sqlite', path: manyFile } });
    expect(after.seen).toBe(N);
  });

  it('stops on abort and keeps what the workers wrote', async () => {
    const setup = createTaggingSetup({ rulesText: rules(100) });
    const storeOptions = { backend: 'sqlite' as const, path: manyFile };
    const before = new AbortController();
    before.abort();
    expect(await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions, signal: before.signal })).toMatchObject({ seen: 0, changed: 0 });
    // mid-run: where the workers stop depends on timing, but every record they counted is written
    const abort = new AbortController();
    const summary = await retagInParallel({ store: many, config, logger, ...stagesOf(setup), workers: 2, storeOptions, signal: abort.signal, onProgress: (n) => n >= 1000 && abort.abort() });
    expect(summary.seen).toBeGreaterThanOrEqual(1000);
    expect(summary.seen).toBeLessThanOrEqual(N);
    const again = await retagRecords({ store: many, config, logger, ...stagesOf(setup), dryRun: true });
    expect(again.upToDate).toBe(summary.changed + summary.upToDate);
    expect(again.changed).toBe(N - summary.seen);
  });

  it('is what `videodex retag` runs with [Concurrency] Cpu workers', async () => {
    const rulesFile = path.join(t.dir, 'rules.yaml');
    (await import('node:fs')).writeFileSync(rulesFile, rules(100));
    const app = new App({ config: configWith({ Database: { Path: manyFile }, Tagging: { RulesFile: rulesFile }, Concurrency: { Cpu: 2 }, Paths: { CacheDir: path.join(t.dir, 'cache') } }), sources: {}, file: null }, { logToFile: false });
    try {
      const summary = await app.retag();
      expect(summary).toMatchObject({ seen: N, changed: N, failed: [] });
      expect((await app.retag()).upToDate).toBe(N);
    } finally {
      await app.close();
    }
  });
});

const pgUrl = process.env.VIDEODEX_TEST_PG_URL;
describe.skipIf(!pgUrl)('retag on worker threads over PostgreSQL', () => {
  it('gives the records one thread gives in SQLite, each worker on its own connections', async () => {
    const { PostgresStore } = await import('../../src/store/postgres/index.js');
    const schema = `vdx_test_retag_${Date.now().toString(36)}`;
    const pg = new PostgresStore({ url: pgUrl!, schema, poolSize: 4 });
    const t = tempDir('videodex-retag-parallel-pg-');
    const sqlite = new SqliteStore(path.join(t.dir, 'one.db'));
    try {
      await pg.migrate();
      await sqlite.migrate();
      const records = library();
      await pg.upsertMany(records);
      await sqlite.upsertMany(records);
      for (const text of [rules(100), rules(250)]) {
        const setup = createTaggingSetup({ rulesText: text });
        const stages = { setup, tagStage: createTagStage(setup), classifyStage: createClassifyStage(setup) };
        const single = await retagRecords({ store: sqlite, config, logger, ...stages });
        const parallel = await retagInParallel({ store: pg, config, logger, ...stages, workers: 2, storeOptions: { backend: 'postgres', url: pgUrl!, schema, poolSize: 2 } });
        expect({ ...parallel, ms: 0 }).toEqual({ ...single, ms: 0 });
        expect((await all(pg)).map(comparable)).toEqual((await all(sqlite)).map(comparable));
      }
      expect((await pg.search({ text: 'tag:long', limit: 1 })).total).toBe((await sqlite.search({ text: 'tag:long', limit: 1 })).total);
    } finally {
      await sqlite.close();
      t.cleanup();
      await pg.dropSchema();
      await pg.close();
    }
  });
});

function bound(s: SqliteStore): VideoStore {
  return {
    kind: s.kind,
    library: () => s.library(),
    migrate: () => s.migrate(),
    upsert: (v) => s.upsert(v),
    updateUserTags: (id, edit, at) => s.updateUserTags(id, edit, at),
    get: (id) => s.get(id),
    findByPath: (p) => s.findByPath(p),
    search: (q) => s.search(q),
    iterate: (q, o) => s.iterate(q, o),
    count: (q) => s.count(q),
    delete: (id) => s.delete(id),
    getInput: (k) => s.getInput(k),
    putInput: (r) => s.putInput(r),
    listInputs: (st) => s.listInputs(st),
    close: () => Promise.resolve(),
    updateTags: (cs) => s.updateTags(cs),
  };
}
