import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configWith, findOnPath } from '../../src/core/index.js';
import { buildDataset, datasetOptions, readManifest } from '../../src/export/dataset/index.js';
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
});
