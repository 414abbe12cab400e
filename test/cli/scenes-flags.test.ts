import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, expectConfigError } from '../helpers/cli.js';
import { fifoReader } from '../helpers/fifo.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

// `videodex scenes` refuses flags that contradict each other or do nothing alone, instead of one silently winning.
const t = tempDir('videodex-scenes-flags-');
const video = path.join(t.dir, 'clip.mp4');
const data = path.join(t.dir, 'data');

beforeAll(async () => {
  await makeTestVideo(video, { seconds: 1, width: 160, height: 120, fps: 10 });
}, 120_000);
afterAll(() => t.cleanup());

const scenes = (...flags: string[]) => runCliInProcess('scenes', video, '--data-dir', data, '-q', ...flags);

describe('videodex scenes -o naming a pipe or a link', () => {
  it('writes through to it (a .part renamed over it replaced a named pipe or a link with a plain file)', async () => {
    const fifo = path.join(t.dir, 'scenes-pipe.csv');
    const pipe = fifoReader(fifo);
    try {
      const r = await scenes('--csv', '-o', fifo);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      expect(await pipe.text()).toMatch(/^Timecode List:/);
    } finally {
      pipe.stop();
    }
    const real = path.join(t.dir, 'scenes-real.csv');
    const link = path.join(t.dir, 'scenes-link.csv');
    writeFileSync(real, 'old\n');
    symlinkSync(real, link);
    const l = await scenes('--csv', '-o', link);
    expect(l.code, l.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toMatch(/^Timecode List:/);
  });
});

describe('videodex scenes flag conflicts', () => {
  it('--csv with --json is an error naming both (exit 3), not CSV; either alone still works', async () => {
    const r = await scenes('--csv', '--json');
    await expectConfigError(r, 'scenes: --csv and --json cannot be used together (choose one output format)');
    const json = await scenes('--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ fps: 10, frames: 10 });
    const csv = await scenes('--csv');
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[1]).toMatch(/^Scene Number,Start Frame,/);
  });

  it('--out names the output file, as export -o/--out does: it was the data folder, and the CSV went to stdout', async () => {
    const file = path.join(t.dir, 'out-scenes.csv');
    const r = await scenes('--csv', '--out', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(file, 'utf8').split('\n')[1]).toMatch(/^Scene Number,Start Frame,/);
    const other = path.join(t.dir, 'other.csv');
    const both = await scenes('--csv', '--out', file, '-o', other);
    await expectConfigError(both, `scenes: --out ${file} and --output ${other} conflict (--out is the same as --output; give one)`);
    expect(existsSync(other)).toBe(false);
  });

  it('-o naming a folder is refused before the detection, and a file in the way of its folder is one line; no .part is left', async () => {
    // the rename at the end failed with a raw EISDIR and left <folder>.part behind
    const r = await scenes('--csv', '-o', t.dir);
    await expectConfigError(r, `scenes: --output ${t.dir} is a folder, not a file`);
    expect(existsSync(`${t.dir}.part`)).toBe(false);
    const inTheWay = path.join(video, 'scenes.csv');
    const blocked = await scenes('--csv', '-o', inTheWay);
    expect(blocked.code).toBe(4);
    expect(blocked.stderr).toBe(`videodex: scenes: cannot write ${inTheWay}: a file is in the way of its folder\n`);
  });

  it('--threshold and --scene-threshold with different values is an error naming both (exit 3); the same value is fine', async () => {
    const r = await scenes('--threshold', '5', '--scene-threshold', '50', '--json');
    await expectConfigError(r, 'scenes: --threshold 5 and --scene-threshold 50 conflict (--scene-threshold is the same setting as --threshold; give one)');
    const same = await scenes('--threshold', '250', '--scene-threshold', '250', '--json');
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ frames: 10, scenes: [expect.objectContaining({ startFrame: 0 })] });
  });

  it('--skip-cuts without --csv is an error naming the flag it needs (exit 3); with --csv it drops the timecode row', async () => {
    const plain = await scenes('--skip-cuts');
    await expectConfigError(plain, 'scenes: --skip-cuts needs --csv (it drops the timecode row of the CSV)');
    const json = await scenes('--skip-cuts', '--json');
    expect(json.code).toBe(3);
    expect(json.stderr).toBe('videodex: scenes: --skip-cuts needs --csv (it drops the timecode row of the CSV)\n');
    const csv = await scenes('--csv', '--skip-cuts');
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^Scene Number,Start Frame,/);
  });
});

describe('videodex scenes on an input it cannot read', () => {
  it('a corrupt video or a text file is its one input failing: exit 1 and one line naming it (a missing tool stays exit 4)', async () => {
    const { writeFileSync, readFileSync } = await import('node:fs');
    const broken = path.join(t.dir, 'broken.mp4');
    writeFileSync(broken, readFileSync(video).subarray(0, 200));
    const text = path.join(t.dir, 'notes.mp4');
    writeFileSync(text, 'just some text\n');
    for (const f of [broken, text]) {
      const r = await runCliInProcess('scenes', f, '--data-dir', data, '-q');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^videodex: ${path.basename(f).replace('.', '\\.')}: .+\\n$`));
    }
  });
});
