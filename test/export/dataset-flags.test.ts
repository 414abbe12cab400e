import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, configWith } from '../../src/core/index.js';
import { datasetOptions, readManifest } from '../../src/export/dataset/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { lifeScene, makeSceneVideo, sceneRecord } from '../helpers/scene-videos.js';

// `videodex dataset build` flags override [Dataset] keys and must be held to the same rule as the key is in
// config.ini and VIDEODEX_DATASET_*: they used to go straight into the build (--dedup-threshold 100, fps -5, ...).

const t = tempDir('videodex-dataset-flags-');
const db = path.join(t.dir, 'videodex.db');
const dataDir = path.join(t.dir, 'data');
let outs = 0;
const freshOut = () => path.join(t.dir, `out-${++outs}`);

beforeAll(async () => {
  const store = new SqliteStore(db);
  await store.migrate();
  for (const [i, label] of ['run', 'sit'].entries()) {
    const file = path.join(t.dir, `v${i}.mp4`);
    await makeSceneVideo(file, [lifeScene(15, i * 7 + 1), lifeScene(15, i * 7 + 2)]);
    await store.upsert(sceneRecord(file, [15, 15], { categories: [{ name: label, source: 'rule' }] }));
  }
  await store.close();
});
afterEach(() => vi.unstubAllEnvs());
afterAll(() => t.cleanup());

function build(out: string, ...flags: string[]) {
  return runCliInProcess('dataset', 'build', '--db', db, '--data-dir', dataDir, '-o', out, '-q', ...flags);
}

describe('dataset build flags are checked like their [Dataset] keys', () => {
  const cases: Array<[string, string[], string]> = [
    ['--dedup-threshold above 64', ['--dedup-threshold', '100'], '--dedup-threshold "100" is not allowed: expected an integer from 0 to 64, as for [Dataset] DedupThreshold'],
    ['--target-fps below 0', ['--target-fps', '-5'], '--target-fps "-5" is not allowed: expected a number from 0 to 240, as for [Dataset] Fps'],
    ['--target-fps above 240', ['--target-fps', '1000'], '--target-fps "1000" is not allowed: expected a number from 0 to 240, as for [Dataset] Fps'],
    ['--max-clip 0 (one-frame clips)', ['--min-clip', '0', '--max-clip', '0'], '--max-clip "0" is not allowed: expected a number >= 0.1 (seconds), as for [Dataset] MaxClipSec'],
    ['--max-clip as a duration under 0.1 s', ['--max-clip', '50ms'], '--max-clip "50ms" is not allowed: expected a number >= 0.1 (seconds), as for [Dataset] MaxClipSec'],
    ['--short-side above 4320', ['--short-side', '4321'], '--short-side "4321" is not allowed: expected an integer from 0 to 4320, as for [Dataset] ShortSide'],
    ['--max-per-video below 0', ['--max-per-video', '-1'], '--max-per-video "-1" is not allowed: expected an integer >= 0, as for [Dataset] MaxClipsPerVideo'],
    ['--max-per-class not whole', ['--max-per-class', '2.5'], '--max-per-class "2.5" is not allowed: expected an integer >= 0, as for [Dataset] MaxClipsPerClass'],
    ['--seed not a number', ['--seed', 'abc'], '--seed "abc" is not allowed: expected an integer >= 0, as for [Dataset] Seed'],
    ['--shard-size not a size', ['--shard-size', 'lots'], '--shard-size "lots" is not allowed: expected a size in bytes, optionally with K, M, G or T (0 = no limit), as for [Dataset] ShardSize'],
  ];

  it.each(cases)('%s: exit 3, one line naming flag, value and range; nothing written', async (_name, flags, message) => {
    const out = freshOut();
    const r = await build(out, ...flags);
    expect(r.stderr.trim()).toBe(`videodex: ${message}`);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(path.join(out, 'dataset.json'))).toBe(false);
  });

  it.each([
    ['--dedup-threshold', 'VIDEODEX_DATASET_DEDUPTHRESHOLD', '100'],
    ['--target-fps', 'VIDEODEX_DATASET_FPS', '-5'],
    ['--short-side', 'VIDEODEX_DATASET_SHORTSIDE', '4321'],
    ['--max-clip', 'VIDEODEX_DATASET_MAXCLIPSEC', '0.05'],
  ])('%s refuses what %s=%s refuses, with the same exit code and range', async (flag, env, value) => {
    const byFlag = await build(freshOut(), flag, value);
    vi.stubEnv(env, value);
    const out = freshOut();
    const byEnv = await build(out);
    expect(byEnv.code).toBe(3);
    expect(byFlag.code).toBe(byEnv.code);
    const expected = / expected (.*)$/.exec(byEnv.stderr.trim())![1]!;
    expect(byFlag.stderr.trim()).toContain(`expected ${expected}`);
    expect(byFlag.stderr.trim()).toMatch(new RegExp(`^videodex: ${flag} "${value}" is not allowed`));
    expect(existsSync(out)).toBe(false);
  });

  it('checks --max-clip against [Dataset] MinClipSec from the config, naming both', async () => {
    const ini = path.join(t.dir, 'min5.ini');
    writeFileSync(ini, '[Dataset]\nMinClipSec = 5\n');
    const out = freshOut();
    const r = await build(out, '--config', ini, '--max-clip', '2s');
    expect(r.stderr.trim()).toBe('videodex: --max-clip (2 s) is shorter than [Dataset] MinClipSec (5 s)');
    expect(r.code).toBe(3);
    expect(existsSync(out)).toBe(false);
  });

  it('holds values given by code (library callers) to the same rule', () => {
    const config = configWith();
    expect(() => datasetOptions(config, 'ds', { dedupThreshold: 100 })).toThrow(ConfigError);
    expect(() => datasetOptions(config, 'ds', { fps: -5 })).toThrow('--target-fps -5 is not allowed: expected a number from 0 to 240, as for [Dataset] Fps');
    expect(() => datasetOptions(config, 'ds', { minClip: 0, maxClip: 0 })).toThrow(/--max-clip 0 is not allowed/);
    // The ends of each range are allowed, and text is read as config.ini's would be.
    const o = datasetOptions(config, 'ds', { dedupThreshold: '64', shortSide: '4320', fps: '240', minClip: '0', maxClip: '100ms', seed: '7', shardSize: '1M' });
    expect([o.dedup.threshold, o.encode.shortSide, o.encode.fps, o.minClipSec, o.maxClipSec, o.seed, o.shardSize]).toEqual([64, 4320, 240, 0, 0.1, 7, 1024 ** 2]);
  });

  it('builds with good flags, and the manifest holds them as numbers', async () => {
    const out = freshOut();
    const r = await build(out, '--min-clip', '0.2s', '--max-clip', '1', '--target-fps', '12.5', '--short-side', '32', '--dedup-threshold', '0', '--seed', '7', '--shard-size', '1M', '--max-per-video', '0', '--split', '1,0,0', '--format', 'webdataset');
    expect(r.stderr).toMatch(/: 4 clips from 2 videos/);
    expect(r.code).toBe(0);
    const m = readManifest(out);
    expect(m.options.encode.fps).toBe(12.5);
    expect(m.options.encode.shortSide).toBe(32);
    expect([m.options.minClipSec, m.options.maxClipSec, m.options.seed, m.options.dedup.threshold, m.options.shardSize]).toEqual([0.2, 1, 7, 0, 1024 ** 2]);
  });
});
