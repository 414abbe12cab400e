import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import type { Video } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { makeRecord } from '../helpers/records.js';
import { writePlugin } from './plugin-helpers.js';
import { LINGER_MS } from '../../src/cli/linger-guard.js';

describe('a plugin stage whose promise never settles', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('stops the run naming the video and the stage (exit 4), not a silent exit 13', async () => {
    const plugin = writePlugin(
      path.join(t.dir, 'plugins'),
      'limbo',
      `export default {
  name: 'limbo', version: '1.0.0', apiVersion: 1,
  stages: [{ name: 'limbo', version: '1', needs: ['probe'], resource: 'cpu', inputHash: () => 'x', run: () => new Promise(() => {}) }],
};
`,
    );
    const video = path.join(t.dir, 'a.mp4');
    await makeTestVideo(video, { seconds: 1 });
    const r = await runCli(['process', video, '--data-dir', path.join(t.dir, 'data')], { env: { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin } });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`videodex: ${video}: stage limbo never finished: its promise never settles`);
  });
});

describe('a plugin factory, tagger or exporter whose promise never settles', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  async function library(): Promise<string> {
    const db = path.join(t.dir, 'lib.db');
    const store = new SqliteStore(db);
    await store.migrate();
    await store.upsertMany([makeRecord(), makeRecord()]);
    await store.close();
    return db;
  }

  it('fails naming the plugin and what never finished; retag goes on to the other records (Node ended with code 13 and no word)', async () => {
    const db = await library();
    const dir = path.join(t.dir, 'plugins');
    const setup = writePlugin(dir, 'setup', `export default async () => { await new Promise(() => {}); };\n`);
    const hung = await runCli(['export', '--format', 'ids', '--db', db], { env: { ...process.env, VIDEODEX_PLUGINS_MODULES: setup } });
    expect(hung.code).toBe(4);
    expect(hung.stderr).toBe(`videodex: plugin ${setup}: setup failed: its factory never finished: the promise it returned never settles and nothing is left running\n`);

    const limbo = writePlugin(
      dir,
      'limbo',
      `export default { name: 'limbo', version: '1.0.0',
  taggers: [{ name: 'wait', tag: () => new Promise(() => {}) }],
  exporters: [{ name: 'ids', write: (records, out) => { out.write('half'); return new Promise(() => {}); } }] };
`,
    );
    const env = { ...process.env, VIDEODEX_PLUGINS_MODULES: limbo };
    const file = path.join(t.dir, 'ids.txt');
    const exported = await runCli(['export', '--format', 'ids', '--out', file, '--db', db], { env });
    expect(exported.code).toBe(4);
    expect(exported.stderr).toBe('videodex: plugin limbo: exporter ids: never finished: its promise never settles and nothing is left running\n');
    expect(existsSync(file) || existsSync(`${file}.part`)).toBe(false);

    const retag = await runCli(['retag', '--db', db], { env });
    expect(retag.code, retag.stderr).toBe(1);
    expect(retag.stderr.match(/plugin limbo: tagger wait: never finished/g)).toHaveLength(2);
    expect(retag.stderr).toMatch(/retag 2 record\(s\).*2 failed/);
  });
});

describe('a plugin stage still waiting on something ([Plugins] StageTimeoutSec)', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('fails that stage for that video past the limit, aborting its signal; the other videos go on (it held the run for ever)', async () => {
    const plugin = writePlugin(
      path.join(t.dir, 'plugins'),
      'waiter',
      `export default {
  name: 'waiter', version: '1.0.0',
  stages: [{ name: 'wait', version: '1', needs: ['probe'], resource: 'cpu', inputHash: () => 'x',
    run: (video, ctx) => video.file.path.includes('stuck')
      ? new Promise((resolve, reject) => {
          // a timer keeps the process alive: as a socket or a child process that never answers would
          const poll = setInterval(() => undefined, 50);
          ctx.signal.addEventListener('abort', () => { clearInterval(poll); reject(ctx.signal.reason); });
        })
      : { extra: { waiter: { ok: true } } } }],
};
`,
    );
    const videos = path.join(t.dir, 'videos');
    mkdirSync(videos, { recursive: true });
    await makeTestVideo(path.join(videos, 'stuck.mp4'), { seconds: 1 });
    await makeTestVideo(path.join(videos, 'fine.mp4'), { seconds: 1, source: 'color=c=blue' });
    const data = path.join(t.dir, 'data');
    const started = Date.now();
    const r = await runCli(['process', videos, '--data-dir', data], { env: { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin, VIDEODEX_PLUGINS_STAGETIMEOUTSEC: '1' }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('plugin waiter: stage wait: still running after 1 s ([Plugins] StageTimeoutSec); stopped');
    expect(Date.now() - started).toBeLessThan(50_000);
    const store = new SqliteStore(path.join(data, 'videodex.db'));
    const byName = new Map<string, Video>();
    for await (const v of store.iterate()) byName.set(path.basename(v.file.path), v);
    await store.close();
    expect(byName.get('stuck.mp4')!.stages.wait).toMatchObject({ status: 'failed' });
    expect(byName.get('fine.mp4')!.stages.wait).toMatchObject({ status: 'done' });
    expect(byName.get('fine.mp4')!.extra.waiter).toEqual({ ok: true });
  });
});

describe('a plugin tagger or exporter still waiting on something ([Plugins] StageTimeoutSec)', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('fails that record\'s tagging, or the export (its .part removed), naming the plugin, past the limit, aborting its signal (they held retag and export for ever)', async () => {
    const db = path.join(t.dir, 'lib.db');
    const store = new SqliteStore(db);
    await store.migrate();
    await store.upsertMany([makeRecord(), makeRecord()]);
    await store.close();
    // a timer keeps the process alive, as a socket that never answers would; each lets go once told to stop
    const waiting = `new Promise((resolve) => {
      const poll = setInterval(() => undefined, 50);
      ctx.signal?.addEventListener('abort', () => clearInterval(poll));
    })`;
    const plugin = writePlugin(
      path.join(t.dir, 'plugins'),
      'waiter',
      `let calls = 0;
export default { name: 'waiter', version: '1.0.0',
  taggers: [{ name: 'wait', tag: (video, ctx) => ++calls === 1 ? ${waiting} : Promise.resolve(['quick']) }],
  exporters: [{ name: 'ids', write: async (records, out, ctx) => {
    for await (const v of records) { out.write(v.id + '\\n'); return ${waiting}; }
  } }] };
`,
    );
    const env = { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin, VIDEODEX_PLUGINS_STAGETIMEOUTSEC: '1' };
    const started = Date.now();
    const retag = await runCli(['retag', '--db', db], { env, timeoutMs: 60_000 });
    expect(retag.code, retag.stderr).toBe(1);
    expect(retag.stderr.match(/plugin waiter: tagger wait: still running after 1 s \(\[Plugins\] StageTimeoutSec\); stopped/g)).toHaveLength(1);
    expect(retag.stderr).toMatch(/retag 2 record\(s\).*1 failed/);
    const tagged = new SqliteStore(db);
    const names: string[][] = [];
    for await (const v of tagged.iterate()) names.push(v.tags.map((x) => x.name));
    await tagged.close();
    expect(names.filter((n) => n.includes('quick'))).toHaveLength(1);

    const file = path.join(t.dir, 'ids.txt');
    const exported = await runCli(['export', '--format', 'ids', '--out', file, '--db', db], { env, timeoutMs: 60_000 });
    expect(exported.code).toBe(4);
    expect(exported.stderr).toBe('videodex: plugin waiter: exporter ids: took no record for 1 s after record 1 ([Plugins] StageTimeoutSec); stopped\n');
    expect(existsSync(file) || existsSync(`${file}.part`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(50_000);
  });
});

describe('a plugin tagger still waiting on something in process ([Plugins] StageTimeoutSec)', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it("fails that video's tag stage naming the plugin; the other video is tagged", async () => {
    const plugin = writePlugin(
      path.join(t.dir, 'plugins'),
      'slowtag',
      `export default { name: 'slowtag', version: '1.0.0',
  taggers: [{ name: 'wait', tag: (video, ctx) => video.file.path.includes('stuck')
    ? new Promise(() => { const poll = setInterval(() => undefined, 50); ctx.signal?.addEventListener('abort', () => clearInterval(poll)); })
    : Promise.resolve(['quick']) }] };
`,
    );
    const videos = path.join(t.dir, 'videos');
    mkdirSync(videos, { recursive: true });
    await makeTestVideo(path.join(videos, 'stuck.mp4'), { seconds: 1 });
    await makeTestVideo(path.join(videos, 'fine.mp4'), { seconds: 1, source: 'color=c=blue' });
    const data = path.join(t.dir, 'data');
    const r = await runCli(['process', videos, '--data-dir', data], { env: { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin, VIDEODEX_PLUGINS_STAGETIMEOUTSEC: '1' }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('plugin slowtag: tagger wait: still running after 1 s ([Plugins] StageTimeoutSec); stopped');
    const store = new SqliteStore(path.join(data, 'videodex.db'));
    const byName = new Map<string, Video>();
    for await (const v of store.iterate()) byName.set(path.basename(v.file.path), v);
    await store.close();
    expect(byName.get('stuck.mp4')!.stages.tag).toMatchObject({ status: 'failed', error: expect.stringContaining('plugin slowtag: tagger wait') });
    expect(byName.get('fine.mp4')!.stages.tag).toMatchObject({ status: 'done' });
    expect(byName.get('fine.mp4')!.tags.map((x) => x.name)).toContain('quick');
  });
});

describe('a stopped plugin that ignores its aborted signal', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('does not keep the finished command alive: it exits with its own code and says why (Node waited on the plugin for ever)', async () => {
    const db = path.join(t.dir, 'lib.db');
    const store = new SqliteStore(db);
    await store.migrate();
    await store.upsertMany([makeRecord()]);
    await store.close();
    // its timer runs on after the stop, as a socket or a child process a careless plugin opened would
    const plugin = writePlugin(
      path.join(t.dir, 'plugins'),
      'deaf',
      `export default { name: 'deaf', version: '1.0.0', taggers: [{ name: 'wait', tag: () => new Promise(() => { setInterval(() => undefined, 50); }) }] };\n`,
    );
    const env = { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin, VIDEODEX_PLUGINS_STAGETIMEOUTSEC: '1' };
    const started = Date.now();
    const r = await runCli(['retag', '--db', db], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/retag 1 record\(s\).*1 failed/);
    expect(r.stderr).toContain('videodex: the command finished, but something is still running 10 s later (a plugin stopped by [Plugins] StageTimeoutSec that ignores ctx.signal?); exiting\n');
    expect(Date.now() - started).toBeLessThan(50_000);
  });

  it('leaves a command with nothing running to end at once, without the message', async () => {
    const started = Date.now();
    const r = await runCli(['retag', '--db', path.join(t.dir, 'lib.db')], { env: process.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('still running');
    expect(Date.now() - started).toBeLessThan(LINGER_MS);
  });
});
