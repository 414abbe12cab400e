import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AuditLog, configWith, ContentCache, findOnPath, MediaTools, runTool, type Video } from '../../src/core/index.js';
import { LocalSource, type InputItem } from '../../src/sources/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { keepingSceneOutputs, keyframesStage, PipelineRunner, probeStage, scenesStage, type RunEvent } from '../../src/workflow/index.js';
import { tempDir, testFfmpeg } from '../helpers/media.js';

const t = tempDir('videodex-scene-rerun-');
const ffmpeg = testFfmpeg();
const tools = new MediaTools(
  { name: 'ffmpeg', path: ffmpeg, origin: 'system', version: 'test', year: null },
  { name: 'ffprobe', path: findOnPath('ffprobe')!, origin: 'system', version: 'test', year: null },
);
const file = path.join(t.dir, 'cuts.mp4');
const item: InputItem = { key: file, raw: 'cuts.mp4', kind: 'local', path: file };
let store: SqliteStore;

beforeAll(async () => {
  // red | blue | white, 1 s each at 25 fps: cuts at 25 and 50 whatever the content threshold between 27 and 30
  await runTool(ffmpeg, [
    '-loglevel', 'error', '-y',
    '-filter_complex', 'color=c=red:s=160x120:r=25:d=1[a];color=c=blue:s=160x120:r=25:d=1[b];color=c=white:s=160x120:r=25:d=1[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]',
    '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', file,
  ]);
  store = new SqliteStore(path.join(t.dir, 'v.db'));
  await store.migrate();
}, 120_000);
afterAll(async () => {
  await store.close();
  t.cleanup();
});

async function run(threshold: number): Promise<{ video: Video; outcomes: Record<string, string> }> {
  const config = configWith({ Paths: { DataDir: t.dir }, SceneDetection: { Threshold: threshold } });
  const runner = new PipelineRunner({
    config, logger: pino({ level: 'silent' }), tools, store, sources: [new LocalSource()],
    stages: [probeStage, scenesStage, keyframesStage], cache: new ContentCache(config.Paths.CacheDir), audit: new AuditLog(config.Logging.AuditFile),
  });
  const outcomes: Record<string, string> = {};
  const summary = await runner.run([item], { onEvent: (e: RunEvent) => e.type === 'stage-end' && (outcomes[e.stage] = e.outcome) });
  expect(summary.failures).toEqual([]);
  return { video: (await store.get(summary.videos[0]!))!, outcomes };
}

describe('re-running scene detection', () => {
  it('keeps keyframes when the boundaries did not move, from a fresh run and from the cache, and repairs records that lost them', async () => {
    const first = await run(27);
    expect(first.video.scenes.map((s) => s.startFrame)).toEqual([0, 25, 50]);
    const keyframes = first.video.scenes.map((s) => s.keyframe);
    expect(keyframes.every(Boolean)).toBe(true);

    const other = await run(30);
    expect(other.outcomes).toMatchObject({ scenes: 'done', keyframes: 'up-to-date' });
    expect(other.video.scenes.map((s) => s.keyframe)).toEqual(keyframes);

    const cached = await run(27);
    expect(cached.outcomes).toMatchObject({ scenes: 'cached', keyframes: 'up-to-date' });
    expect(cached.video.scenes.map((s) => s.keyframe)).toEqual(keyframes);

    // a record an older release left with scenes but no keyframe paths, keyframes marked done
    await store.upsert({ ...cached.video, scenes: cached.video.scenes.map(({ keyframe: _, ...s }) => s) });
    const repaired = await run(27);
    expect(repaired.outcomes).toMatchObject({ keyframes: 'done' });
    expect(repaired.video.scenes.map((s) => s.keyframe)).toEqual(keyframes);
    expect((await run(27)).outcomes).toMatchObject({ scenes: 'up-to-date', keyframes: 'up-to-date' });
  }, 120_000);
});

describe('keepingSceneOutputs', () => {
  const scene = (startFrame: number, endFrame: number, extra = {}) => ({ index: 0, startSec: startFrame / 25, endSec: endFrame / 25, startFrame, endFrame, transition: 'cut' as const, score: 40, ...extra });
  const record = { scenes: [scene(0, 25, { keyframe: '/k/1.jpg', description: 'red' }), scene(25, 50, { keyframe: '/k/2.jpg', description: 'blue' })] } as Video;

  it('keeps keyframes and captions for the same boundaries, takes the new scores, and drops them when a boundary moved', () => {
    const same = keepingSceneOutputs(record, { scenes: [scene(0, 25, { score: 0 }), scene(25, 50, { score: 33 })] });
    expect(same.scenes).toEqual([scene(0, 25, { score: 0, keyframe: '/k/1.jpg', description: 'red' }), scene(25, 50, { score: 33, keyframe: '/k/2.jpg', description: 'blue' })]);
    const moved = keepingSceneOutputs(record, { scenes: [scene(0, 30), scene(30, 50)] });
    expect(moved.scenes).toEqual([scene(0, 30), scene(30, 50)]);
  });
});
