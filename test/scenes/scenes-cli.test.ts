import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSceneTestset, type TestSetTruth } from '../../scripts/make-scene-testset.js';
import { runTool, type Video } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, testFfmpeg } from '../helpers/media.js';

const t = tempDir('videodex-scenes-cli-');
const video = path.join(t.dir, 'cuts.mp4');
const data = path.join(t.dir, 'data');
let truth: TestSetTruth;

beforeAll(async () => {
  truth = await makeSceneTestset({ file: video, kind: 'cuts', width: 320, height: 180, ffmpeg: testFfmpeg() });
}, 300_000);
afterAll(() => t.cleanup());

const show = async () => JSON.parse((await runCli(['show', video, '--data-dir', data])).stdout) as Video;
const cutFrames = () => truth.transitions.map((x) => (x.kind === 'cut' ? x.frame : -1));

describe('videodex scenes', () => {
  it('--csv writes the PySceneDetect list-scenes columns, one row per scene', async () => {
    const r = await runCli(['scenes', video, '--csv', '--data-dir', data]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Timecode List:,00:00:01\.600,/);
    expect(lines[1]).toBe('Scene Number,Start Frame,Start Timecode,Start Time (seconds),End Frame,End Timecode,End Time (seconds),Length (frames),Length (timecode),Length (seconds)');
    expect(lines.slice(2).map((l) => Number(l.split(',')[1]) - 1)).toEqual([0, ...cutFrames()]);
    expect(r.stderr).toMatch(/cuts\.mp4: 6 scenes, 220 frames/);
  });

  it('--json gives the scene list; flags override the config (--threshold on the PySceneDetect scale)', async () => {
    const r = await runCli(['scenes', video, '--json', '--threshold', '250', '-q', '--data-dir', data]);
    const parsed = JSON.parse(r.stdout) as { fps: number; frames: number; scenes: Array<{ startFrame: number }> };
    expect(parsed).toMatchObject({ fps: 25, frames: 220 });
    expect(parsed.scenes).toHaveLength(1);
    expect(r.stderr).toBe('');
  });

  it('--json says where a video starting after its file starts (scene times count from its first frame)', async () => {
    const late = path.join(t.dir, 'late.mp4');
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-itsoffset', '1.5', '-i', video, '-f', 'lavfi', '-i', 'sine=d=3', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', late]);
    const parsed = JSON.parse((await runCli(['scenes', late, '--json', '-q', '--data-dir', data])).stdout) as { videoStartSec?: number; scenes: Array<{ startFrame: number }> };
    expect(parsed.videoStartSec).toBeCloseTo(1.5, 2);
    expect(parsed.scenes.map((s) => s.startFrame)).toEqual([0, ...cutFrames()]);
    const plain = JSON.parse((await runCli(['scenes', video, '--json', '-q', '--data-dir', data])).stdout) as { videoStartSec?: number };
    expect(plain.videoStartSec).toBeUndefined();
  });

  it('names the file and the cause when it cannot', async () => {
    const missing = await runCli(['scenes', path.join(t.dir, 'nope.mp4'), '--data-dir', data]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^videodex: nope\.mp4: no such file/);
  });
});

describe('scenes and keyframes stages in videodex process', () => {
  it('put scenes, keyframes and a contact sheet on the record; --scene-threshold re-runs only scenes and what follows', async () => {
    const first = await runCli(['process', video, '--data-dir', data, '-q']);
    expect(first.code, first.stderr).toBe(0);
    const v1 = await show();
    expect(v1.scenes.map((s) => s.startFrame)).toEqual([0, ...cutFrames()]);
    expect(v1.scenes.every((s) => s.keyframe && existsSync(s.keyframe) && s.keyframe.startsWith(path.join(data, 'keyframes', v1.id)))).toBe(true);
    expect(v1.contactSheet && readFileSync(v1.contactSheet).subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(v1.stages.scenes?.status).toBe('done');

    const again = await runCli(['process', video, '--data-dir', data, '--json', '-q']);
    expect(JSON.parse(again.stdout.trim().split('\n')[0]!).stagesRun).toBe(0);

    const higher = await runCli(['process', video, '--data-dir', data, '--scene-threshold', '250', '-q']);
    expect(higher.code).toBe(0);
    const v2 = await show();
    expect(v2.scenes).toHaveLength(1);
    expect(v2.scenes[0]!.keyframe).toBeTruthy();
    expect(v2.stages.probe!.at).toBe(v1.stages.probe!.at);
    expect(v2.stages.scenes!.inputHash).not.toBe(v1.stages.scenes!.inputHash);
    expect(v2.stages.keyframes!.at).not.toBe(v1.stages.keyframes!.at);
  });
});
