import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../src/core/index.js';
import { readManifest, type DatasetClip } from '../../src/export/dataset/index.js';
import { sampleJson, writeKineticsCsv } from '../../src/export/dataset/dataset-writers.js';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';
import { probeClip } from '../helpers/scene-videos.js';

// A labelled list row with start/end is cut into its own file at acquisition (source.list.trim). `dataset build
// --labels list` used to apply the row's start/end again to that cut: a 1-3 s row gave a 1 s clip from 1-2 s of
// the cut (2-3 s of the source), and a 2.5-5.5 s row of a 4 s video was skipped as out of range.

const t = tempDir('videodex-dataset-list-trim-');
const data = path.join(t.dir, 'data');
const out = path.join(t.dir, 'ds');
const src = path.join(t.dir, 'src.mp4');
const whole = path.join(t.dir, 'whole.mp4');
const FPS = 25;
let clips: DatasetClip[] = [];
let buildStdout = '';

/** One frame as 32x24 gray bytes (frame index at the file's own rate). */
async function grayFrame(file: string, index: number): Promise<Buffer> {
  const { stdout } = await runTool(testFfmpeg(), ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index}),scale=32:24:flags=area,format=gray`, '-frames:v', '1', '-f', 'rawvideo', 'pipe:1']);
  return stdout;
}

function meanDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function clipOf(label: string): DatasetClip {
  const found = clips.filter((c) => c.label === label);
  expect(found, `clips labelled ${label}`).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  // 4 s, one scene (a moving test pattern), a keyframe every second: the 1-3 s row is stream-copied, 2.5-5.5 re-encoded
  await makeTestVideo(src, { seconds: 4, width: 160, height: 120, fps: FPS, extra: ['-g', String(FPS)] });
  await makeTestVideo(whole, { seconds: 3, width: 160, height: 120, fps: FPS, source: 'smptebars' });
  const list = path.join(t.dir, 'list.csv');
  writeFileSync(list, `url,label,start,end,split\n${src},waving,1,3,train\n${src},clapping,2.5,5.5,val\n${whole},standing,,,test\n`);
  const processed = await runCli(['process', '--input-file', list, '--data-dir', data, '-q']);
  expect(processed.code, processed.stderr).toBe(0);
  const built = await runCli(['dataset', 'build', '--data-dir', data, '-o', out, '--labels', 'list', '--split', 'list', '--min-clip', '0.5s', '--no-dedup', '--format', 'folder,webdataset', '--json', '-q']);
  expect(built.code, built.stderr).toBe(0);
  buildStdout = built.stdout;
  clips = readManifest(out).clips;
}, 120_000);
afterAll(() => t.cleanup());

describe('dataset build --labels list on list rows cut at acquisition', () => {
  it('makes one clip of each row, none skipped', () => {
    const report = JSON.parse(buildStdout) as { clips: number; skipped: unknown[]; failed: unknown[] };
    expect(report.skipped).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.clips).toBe(3);
    expect(clips.map((c) => c.label).sort()).toEqual(['clapping', 'standing', 'waving']);
  });

  it('uses the whole cut (a 1-3 s row: 0-2 s of its file, 1-3 s of the source), not the row range again', async () => {
    const c = clipOf('waving');
    expect(c.startSec).toBe(0);
    expect(c.endSec).toBeCloseTo(2, 6);
    expect(c.durationSec).toBeCloseTo(2, 6);
    expect(c.sourceStartSec).toBeCloseTo(1, 6);
    expect(c.sourceEndSec).toBeCloseTo(3, 6);
    const file = path.join(out, c.path);
    expect(Math.abs((await probeClip(file)).frames - 2 * FPS)).toBeLessThanOrEqual(1);
    // its first frame is the source's frame at 1 s (the row's start), not the one at 2 s (the row applied twice)
    const first = await grayFrame(file, 0);
    const atStart = meanDiff(first, await grayFrame(src, FPS));
    const atTwice = meanDiff(first, await grayFrame(src, 2 * FPS));
    expect(atStart).toBeLessThan(atTwice / 4);
  });

  it('keeps a row whose end is past the end of the video: the whole cut (2.5-4 s of the source)', async () => {
    const c = clipOf('clapping');
    expect(c.startSec).toBe(0);
    expect(c.endSec).toBeGreaterThan(1.45);
    expect(c.endSec).toBeLessThan(1.6);
    expect(c.sourceStartSec).toBeCloseTo(2.5, 6);
    expect(c.sourceEndSec).toBeCloseTo(2.5 + c.endSec, 6);
    expect(Math.abs((await probeClip(path.join(out, c.path))).frames - Math.round(c.endSec * FPS))).toBeLessThanOrEqual(1);
  });

  it('leaves a row without a time range as it was: the whole video, on its own timeline', async () => {
    const c = clipOf('standing');
    expect([c.startSec, c.endSec, c.sourceStartSec, c.sourceEndSec]).toEqual([0, 3, 0, 3]);
    expect((await probeClip(path.join(out, c.path))).frames).toBe(3 * FPS);
  });

  it("writes annotation times on the record's file (video_id rows) and both timelines in the shards' JSON", () => {
    const rows = parse(readFileSync(path.join(out, 'annotations/all.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const byLabel = new Map(rows.map((r) => [r.label!, r]));
    expect(Object.keys(rows[0]!)).toEqual(['label', 'video_id', 'time_start', 'time_end', 'split']);
    expect(byLabel.get('waving')).toMatchObject({ time_start: '0', time_end: '2', split: 'train' });
    expect(byLabel.get('standing')).toMatchObject({ time_start: '0', time_end: '3', split: 'test' });
    const clapping = byLabel.get('clapping')!;
    expect(Number(clapping.time_start)).toBe(0);
    expect(Number(clapping.time_end)).toBeCloseTo(clipOf('clapping').endSec, 3);
    expect(sampleJson(clipOf('waving'))).toMatchObject({ time_start: 0, time_end: 2, source_time_start: 1, source_time_end: 3, duration: 2 });
  });

  it('writes youtube_id CSVs on the YouTube video\'s timeline (the row\'s own times)', () => {
    const dir = path.join(t.dir, 'yt');
    const c = { ...clipOf('waving'), youtubeId: 'abc123def45' };
    writeKineticsCsv(dir, [c]);
    expect(readFileSync(path.join(dir, 'annotations/all.csv'), 'utf8')).toBe('label,youtube_id,time_start,time_end,split\nwaving,abc123def45,1,3,train\n');
  });
});
