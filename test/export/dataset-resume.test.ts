import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configWith, findOnPath } from '../../src/core/index.js';
import { buildDataset, datasetOptions, datasetStats, readManifest } from '../../src/export/dataset/index.js';
import { tempDir, testFfmpeg } from '../helpers/media.js';
import { iterate, lifeScene, makeSceneVideo, sceneRecord } from '../helpers/scene-videos.js';

const t = tempDir('videodex-resume-');
afterAll(() => t.cleanup());

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('dataset build resume', () => {
  it('keeps the clips finished before a kill and makes only the rest on the next run', async () => {
    const frames = Array.from({ length: 12 }, () => 25);
    const file = path.join(t.dir, 'long.mp4');
    await makeSceneVideo(file, frames.map((n, k) => lifeScene(n, k + 100)), { width: 320, height: 240 });
    const record = sceneRecord(file, frames, { label: 'walk' });
    const out = path.join(t.dir, 'ds');
    const options = datasetOptions(configWith({ Concurrency: { Cpu: 1 }, Dataset: { MinClipSec: 0.5, Preset: 'medium' } }), out, { labels: 'list', split: '1,0,0' });
    const jobFile = path.join(t.dir, 'job.json');
    const ffmpeg = testFfmpeg();
    const ffprobe = findOnPath('ffprobe')!;
    writeFileSync(jobFile, JSON.stringify({ records: [record], options, ffmpeg, ffprobe }));

    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures/dataset-child.ts'), jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const journal = path.join(out, '.videodex-dataset/journal.jsonl');
    const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0);
    await waitFor(() => lines() >= 1 || child.exitCode !== null, 90_000);
    child.kill('SIGKILL');
    await exited;
    const finished = lines();
    expect(finished, stderr).toBeGreaterThanOrEqual(1);
    expect(finished).toBeLessThan(12);
    expect(existsSync(path.join(out, 'dataset.json'))).toBe(false);
    const dir = path.join(out, 'train/walk');
    const journaled = readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string });
    const before = new Map(journaled.map((e) => [e.path, statSync(path.join(out, e.path)).mtimeMs]));

    const rep = await buildDataset(iterate([record]), options, { ffmpeg, ffprobe });
    expect(rep.clips).toBe(12);
    expect(rep.reused).toBeGreaterThanOrEqual(finished);
    expect(rep.reused + rep.encoded).toBe(12);
    // the clips finished before the kill were not made again
    for (const [p, mtime] of before) expect(statSync(path.join(out, p)).mtimeMs).toBe(mtime);
    expect(readManifest(out).clips).toHaveLength(12);
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.mp4'))).toHaveLength(12);
  });

  it('stopped while building again into a dataset, leaves no dataset.json naming clips it has moved', async () => {
    const ffmpeg = testFfmpeg();
    const ffprobe = findOnPath('ffprobe')!;
    const videos = await Promise.all(
      ['a', 'b'].map(async (name, v) => {
        const file = path.join(t.dir, `${name}.mp4`);
        await makeSceneVideo(file, [25, 25, 25, 25].map((n, k) => lifeScene(n, v * 10 + k + 200)));
        return sceneRecord(file, [25, 25, 25, 25], { label: 'walk' });
      }),
    );
    const out = path.join(t.dir, 'ds-again');
    const options = (split: string) => datasetOptions(configWith({ Concurrency: { Cpu: 1 }, Dataset: { MinClipSec: 0.5 } }), out, { labels: 'list', split, dedup: false, resplit: true });
    await buildDataset(iterate(videos.slice(0, 1)), options('1,0,0'), { ffmpeg, ffprobe });
    expect(existsSync(path.join(out, 'annotations/train.csv'))).toBe(true);
    // again with the first video's clips moved to test and a second video to cut: stopped once the moves are done
    const controller = new AbortController();
    const stop = buildDataset(iterate(videos), options('0,0,1'), {
      ffmpeg,
      ffprobe,
      signal: controller.signal,
      onProgress: (p) => p.phase === 'clips' && p.done >= 4 && controller.abort(),
    });
    await expect(stop).rejects.toThrow();
    expect(existsSync(path.join(out, 'test/walk'))).toBe(true);
    expect(existsSync(path.join(out, 'dataset.json'))).toBe(false);
    expect(() => datasetStats(out)).toThrow(/no dataset\.json/);
    const rep = await buildDataset(iterate(videos), options('0,0,1'), { ffmpeg, ffprobe });
    expect(rep.clips).toBe(8);
    expect(datasetStats(out).missingFiles).toEqual([]);
    // what the first build wrote and this one did not is gone, though the stopped build came between
    expect(existsSync(path.join(out, 'annotations/train.csv'))).toBe(false);
    expect(existsSync(path.join(out, '.videodex-dataset/rebuilding.json'))).toBe(false);
  });

  it('refuses a second build into a folder while one runs, and takes over the lock of one that died', async () => {
    const ffmpeg = testFfmpeg();
    const ffprobe = findOnPath('ffprobe')!;
    const file = path.join(t.dir, 'locked.mp4');
    await makeSceneVideo(file, [25, 25, 25, 25].map((n, k) => lifeScene(n, k + 300)));
    const record = sceneRecord(file, [25, 25, 25, 25], { label: 'walk' });
    const out = path.join(t.dir, 'ds-locked');
    const options = datasetOptions(configWith({ Concurrency: { Cpu: 1 }, Dataset: { MinClipSec: 0.5 } }), out, { labels: 'list', split: '1,0,0' });
    let second: Promise<unknown> | null = null;
    const first = buildDataset(iterate([record]), options, {
      ffmpeg,
      ffprobe,
      // once the first has begun cutting, a second is started into the same folder
      onProgress: (p) => {
        if (p.phase === 'clips' && !second) second = buildDataset(iterate([record]), options, { ffmpeg, ffprobe }).then(() => 'built', (e: unknown) => e);
      },
    });
    expect((await first).clips).toBe(4);
    expect(String(await second!)).toMatch(new RegExp(`dataset build: .*ds-locked is being built by another videodex \\(pid ${process.pid}\\)`));
    expect(existsSync(path.join(out, '.videodex-dataset/lock'))).toBe(false);
    // a lock left by a process that is gone does not stop the next build
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(path.join(out, '.videodex-dataset/lock'), String(gone));
    expect((await buildDataset(iterate([record]), options, { ffmpeg, ffprobe })).reused).toBe(4);
    // nor does one with this process's pid that this process does not hold (a restarted container reuses pids)
    writeFileSync(path.join(out, '.videodex-dataset/lock'), String(process.pid));
    expect((await buildDataset(iterate([record]), options, { ffmpeg, ffprobe })).reused).toBe(4);
  });
});
