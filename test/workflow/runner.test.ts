import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AuditLog, configWith, ContentCache, MediaTools, type Video } from '../../src/core/index.js';
import { LocalSource, type InputItem } from '../../src/sources/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { hashInputs, orderStages, PipelineRunner, type RunEvent, type Stage } from '../../src/workflow/index.js';
import { tempDir } from '../helpers/media.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const fakeTools = new MediaTools({ name: 'ffmpeg', path: '/bin/false', origin: 'system', version: 'x', year: 2024 }, { name: 'ffprobe', path: '/bin/false', origin: 'system', version: 'x', year: 2024 });

interface Harness {
  dir: string;
  store: SqliteStore;
  items: InputItem[];
  runner: (stages: Stage[], overrides?: Parameters<typeof configWith>[0]) => PipelineRunner;
}

async function harness(files: Record<string, string>): Promise<Harness> {
  const t = tempDir();
  const store = new SqliteStore(path.join(t.dir, 'v.db'));
  await store.migrate();
  cleanups.push(async () => {
    await store.close();
    t.cleanup();
  });
  const items: InputItem[] = Object.entries(files).map(([name, content]) => {
    const p = path.join(t.dir, name);
    writeFileSync(p, content);
    return { key: p, raw: name, kind: 'local', path: p };
  });
  return {
    dir: t.dir,
    store,
    items,
    runner: (stages, overrides = {}) => {
      const config = configWith({ Paths: { DataDir: t.dir }, ...overrides });
      return new PipelineRunner({ config, logger: pino({ level: 'silent' }), tools: fakeTools, store, sources: [new LocalSource()], stages, cache: new ContentCache(config.Paths.CacheDir), audit: new AuditLog(config.Logging.AuditFile) });
    },
  };
}

/** A stage that records its calls; `fail` makes it throw for matching file contents. */
function countingStage(name: string, needs: string[], opts: { fail?: (v: Video) => boolean; setting?: () => unknown; cacheable?: boolean; resource?: Stage['resource']; delayMs?: number; waitForActive?: number } = {}) {
  const calls: string[] = [];
  let active = 0;
  let maxActive = 0;
  const stage: Stage = {
    name,
    version: '1',
    needs,
    resource: opts.resource ?? 'cpu',
    cacheable: opts.cacheable ?? false,
    inputHash: (v) => hashInputs(v.file.sha256, opts.setting?.() ?? null),
    async run(v) {
      calls.push(v.id);
      active++;
      maxActive = Math.max(maxActive, active);
      // With waitForActive, hold each run until that many run at once (or a deadline), so a limit is observed
      // however slowly the machine hands out work; the limit itself must stop a fourth from ever starting.
      const deadline = Date.now() + 5000;
      while (opts.waitForActive && active < opts.waitForActive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
      active--;
      if (opts.fail?.(v)) throw new Error(`${name} broke on purpose`);
      return { extra: { ...v.extra, [name]: calls.length } };
    },
  };
  return { stage, calls, maxActive: () => maxActive };
}

describe('PipelineRunner', () => {
  it('orders stages by their needs and refuses cycles and unknown needs', () => {
    const a = countingStage('a', ['b']).stage;
    const b = countingStage('b', ['acquire']).stage;
    expect(orderStages([a, b]).map((s) => s.name)).toEqual(['b', 'a']);
    expect(() => orderStages([countingStage('x', ['y']).stage, countingStage('y', ['x']).stage])).toThrow(/cycle/);
    expect(() => orderStages([countingStage('x', ['nope']).stage])).toThrow(/needs nope/);
  });

  it('runs each stage once, saves after every stage, and a second run repeats nothing', async () => {
    const h = await harness({ 'a.mp4': 'aaa', 'b.mp4': 'bbb' });
    const one = countingStage('one', ['acquire']);
    const two = countingStage('two', ['one']);
    const first = await h.runner([one.stage, two.stage]).run(h.items);
    expect(first.done).toBe(2);
    expect(one.calls).toHaveLength(2);
    const before = await Promise.all(first.videos.map((id) => h.store.get(id)));
    for (const v of before) {
      expect(v!.stages.one!.status).toBe('done');
      expect(v!.stages.two!.status).toBe('done');
      expect(v!.stages.acquire!.status).toBe('done');
    }
    const second = await h.runner([one.stage, two.stage]).run(h.items);
    expect(second.unchanged).toBe(2);
    expect(second.stagesRun).toBe(0);
    expect(one.calls).toHaveLength(2);
    const after = await Promise.all(first.videos.map((id) => h.store.get(id)));
    expect(after.map((v) => v!.stages.two!.at)).toEqual(before.map((v) => v!.stages.two!.at));
  });

  it('re-runs exactly the stage whose setting changed', async () => {
    const h = await harness({ 'a.mp4': 'aaa' });
    let threshold = 27;
    const one = countingStage('one', ['acquire']);
    const two = countingStage('two', ['one'], { setting: () => threshold });
    await h.runner([one.stage, two.stage]).run(h.items);
    threshold = 30;
    const s = await h.runner([one.stage, two.stage]).run(h.items);
    expect(one.calls).toHaveLength(1);
    expect(two.calls).toHaveLength(2);
    expect(s.stagesRun).toBe(1);
  });

  it('records a failure on the record, keeps other videos going, blocks dependents, retries with retryFailed', async () => {
    const h = await harness({ 'good.mp4': 'good', 'bad.mp4': 'bad' });
    let broken = true;
    const one = countingStage('one', ['acquire'], { fail: (v) => broken && v.source.url.endsWith('bad.mp4') });
    const two = countingStage('two', ['one']);
    const events: RunEvent[] = [];
    const s = await h.runner([one.stage, two.stage]).run(h.items, { onEvent: (e) => events.push(e) });
    expect(s.done).toBe(1);
    expect(s.failed).toBe(1);
    expect(s.failures).toEqual([expect.objectContaining({ input: 'bad.mp4', stage: 'one', error: 'one broke on purpose', earlier: false })]);
    const bad = (await h.store.get(s.failures[0]!.videoId!))!;
    expect(bad.stages.one).toMatchObject({ status: 'failed', error: 'one broke on purpose' });
    expect(bad.stages.two).toBeUndefined();
    expect(events.some((e) => e.type === 'stage-end' && e.stage === 'two' && e.outcome === 'blocked')).toBe(true);

    const again = await h.runner([one.stage, two.stage]).run(h.items);
    expect(again.failures[0]).toMatchObject({ earlier: true });
    expect(one.calls).toHaveLength(2);

    broken = false;
    const retried = await h.runner([one.stage, two.stage]).run(h.items, { retryFailed: true });
    expect(retried.failed).toBe(0);
    expect((await h.store.get(bad.id))!.stages.two!.status).toBe('done');
  });

  it('force re-runs a stage; dry-run runs nothing and writes nothing', async () => {
    const h = await harness({ 'a.mp4': 'aaa' });
    const one = countingStage('one', ['acquire']);
    const dry = await h.runner([one.stage]).run(h.items, { dryRun: true });
    expect(dry.stagesRun).toBe(0);
    expect(await h.store.count()).toBe(0);
    expect(await h.store.getInput(h.items[0]!.key)).toBeNull();
    await h.runner([one.stage]).run(h.items);
    await h.runner([one.stage]).run(h.items, { force: ['one'] });
    expect(one.calls).toHaveLength(2);
  });

  it('a video reached by several inputs runs a stage once after a setting changes, each input seeing the others\' work', async () => {
    const h = await harness({ 'a.mp4': 'same bytes', 'b.mp4': 'same bytes', 'c.mp4': 'same bytes' });
    let setting = 1;
    const one = countingStage('one', ['acquire'], { setting: () => setting });
    await h.runner([one.stage]).run(h.items);
    expect(one.calls).toHaveLength(1);
    setting = 2;
    // the inputs were acquired before, so each starts from the record as it was before this run's first stage
    const s = await h.runner([one.stage]).run(h.items);
    expect(one.calls).toHaveLength(2);
    expect(s.stagesRun).toBe(1);
    expect(s.unchanged).toBe(2);
    expect((await h.store.get(s.videos[0]!))!.extra.one).toBe(2);
  });

  it('runs a forced or retried stage once per video in a run, however many inputs hold that video', async () => {
    // one video under three names: --force describe over such a folder paid the model three times
    const h = await harness({ 'a.mp4': 'same bytes', 'b.mp4': 'same bytes', 'c.mp4': 'same bytes' });
    const one = countingStage('one', ['acquire']);
    await h.runner([one.stage]).run(h.items);
    expect(one.calls).toHaveLength(1);
    const forced = await h.runner([one.stage]).run(h.items, { force: ['one'] });
    expect(one.calls).toHaveLength(2);
    expect(forced.stagesRun).toBe(1);

    let broken = true;
    const flaky = countingStage('flaky', ['acquire'], { fail: () => broken });
    const failing = await h.runner([flaky.stage]).run(h.items);
    expect(flaky.calls).toHaveLength(1);
    // the other two inputs of the video failed in this run too: not failures "from earlier runs"
    expect(failing.failures).toEqual([expect.objectContaining({ stage: 'flaky', earlier: false })]);
    expect(failing.failed).toBe(3);
    const retried = await h.runner([flaky.stage]).run(h.items, { retryFailed: true });
    expect(flaky.calls).toHaveLength(2);
    expect(retried.failures).toEqual([expect.objectContaining({ stage: 'flaky', earlier: false })]);
    broken = false;
    const fixed = await h.runner([flaky.stage]).run(h.items, { retryFailed: true });
    expect(flaky.calls).toHaveLength(3);
    expect(fixed.failures).toEqual([]);
  });

  it('a dry run with --force lists the stages after the forced one too (they may run again), and still runs nothing', async () => {
    const h = await harness({ 'a.mp4': 'aaa' });
    const one = countingStage('one', ['acquire']);
    const two = countingStage('two', ['one']);
    const other = countingStage('other', ['acquire']);
    await h.runner([one.stage, two.stage, other.stage]).run(h.items);
    const events: RunEvent[] = [];
    await h.runner([one.stage, two.stage, other.stage]).run(h.items, { dryRun: true, force: ['one'], onEvent: (e) => events.push(e) });
    const plan = events.find((e) => e.type === 'plan' && e.videoId !== null);
    expect(plan && 'lines' in plan ? plan.lines : null).toEqual(['one', 'two: may run again after one']);
    expect([one.calls, two.calls, other.calls].map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('a stage cut short by an abort (Ctrl-C) is not recorded as failed: the next run runs it again', async () => {
    const h = await harness({ 'a.mp4': 'aaa' });
    const controller = new AbortController();
    let calls = 0;
    const slow: Stage = {
      name: 'slow',
      version: '1',
      needs: ['acquire'],
      resource: 'cpu',
      cacheable: false,
      inputHash: (v) => hashInputs(v.file.sha256),
      run(_v, ctx) {
        calls++;
        if (calls > 1) return Promise.resolve({});
        setTimeout(() => controller.abort(), 10);
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('This operation was aborted'))));
      },
    };
    const first = await h.runner([slow]).run(h.items, { signal: controller.signal });
    expect(first.failures).toEqual([]);
    const stored = (await h.store.search({})).hits[0]?.video;
    expect(stored!.stages.slow).toBeUndefined();
    const second = await h.runner([slow]).run(h.items);
    expect(second.failures).toEqual([]);
    expect(calls).toBe(2);
    expect((await h.store.get(stored!.id))!.stages.slow!.status).toBe('done');
  });

  it('treats the same content reached twice as one video with both sources', async () => {
    const h = await harness({ 'a.mp4': 'same', 'copy-of-a.mp4': 'same' });
    const s = await h.runner([countingStage('one', ['acquire']).stage], { Concurrency: { Cpu: 1 } }).run(h.items);
    expect(s.videos).toHaveLength(1);
    const v = (await h.store.get(s.videos[0]!))!;
    expect([v.source.url, ...v.alsoFrom.map((x) => x.url)].map((u) => path.basename(u)).sort()).toEqual(['a.mp4', 'copy-of-a.mp4']);
  });

  it('keeps one copy in media of a video reached twice: the second copy videodex made is removed, the originals stay', async () => {
    const h = await harness({ 'a.mp4': 'same', 'copy-of-a.mp4': 'same' });
    const s = await h.runner([countingStage('one', ['acquire']).stage], { Concurrency: { Cpu: 1 }, Sources: { LocalMode: 'copy' } }).run(h.items);
    expect(s.videos).toHaveLength(1);
    const v = (await h.store.get(s.videos[0]!))!;
    const media = path.dirname(v.file.path);
    expect(readdirSync(media).filter((f) => !f.startsWith('.'))).toEqual([path.basename(v.file.path)]);
    expect(h.items.every((i) => existsSync(i.path!))).toBe(true);
  });

  it('re-hashes a local file only when its size or mtime changed', async () => {
    const h = await harness({ 'a.mp4': 'version one' });
    const one = countingStage('one', ['acquire']);
    const first = await h.runner([one.stage]).run(h.items);
    writeFileSync(h.items[0]!.path!, 'version two!');
    utimesSync(h.items[0]!.path!, new Date(), new Date(Date.now() + 5000));
    const second = await h.runner([one.stage]).run(h.items);
    expect(second.videos[0]).not.toBe(first.videos[0]);
    expect(one.calls).toHaveLength(2);
  });

  it('respects per-resource concurrency limits', async () => {
    const files = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`v${i}.mp4`, `content ${i}`]));
    const h = await harness(files);
    const slow = countingStage('slow', ['acquire'], { resource: 'ai', delayMs: 30, waitForActive: 3 });
    await h.runner([slow.stage], { Concurrency: { Ai: 3 } }).run(h.items);
    expect(slow.calls).toHaveLength(8);
    expect(slow.maxActive()).toBe(3);
  });

  it('takes a cacheable stage result from the content cache after the database is lost', async () => {
    const h = await harness({ 'a.mp4': 'aaa' });
    const one = countingStage('one', ['acquire'], { cacheable: true });
    await h.runner([one.stage]).run(h.items);
    const fresh = new SqliteStore(path.join(h.dir, 'other.db'));
    await fresh.migrate();
    cleanups.push(() => fresh.close());
    const config = configWith({ Paths: { DataDir: h.dir } });
    const runner = new PipelineRunner({ config, logger: pino({ level: 'silent' }), tools: fakeTools, store: fresh, sources: [new LocalSource()], stages: [one.stage], cache: new ContentCache(config.Paths.CacheDir), audit: new AuditLog(config.Logging.AuditFile) });
    const events: RunEvent[] = [];
    const s = await runner.run(h.items, { onEvent: (e) => events.push(e) });
    expect(one.calls).toHaveLength(1);
    expect(events.some((e) => e.type === 'stage-end' && e.stage === 'one' && e.outcome === 'cached')).toBe(true);
    expect((await fresh.get(s.videos[0]!))!.extra.one).toBe(1);
  });

  it('records a failed acquisition (empty file) in the acquisition log without a record', async () => {
    const h = await harness({ 'empty.mp4': '', 'ok.mp4': 'ok' });
    const s = await h.runner([countingStage('one', ['acquire']).stage]).run(h.items);
    expect(s.failures).toEqual([expect.objectContaining({ input: 'empty.mp4', stage: 'acquire', error: 'empty file (0 bytes)' })]);
    expect(await h.store.getInput(h.items[0]!.key)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await h.store.count()).toBe(1);
  });
});
