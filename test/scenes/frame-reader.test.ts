import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, type StreamShape } from '../../src/analysis/index.js';
import { runTool, ToolError } from '../../src/core/index.js';
import { tempDir, testFfmpeg } from '../helpers/media.js';

const t = tempDir('videodex-frame-reader-');
const ffmpeg = testFfmpeg();
const file = path.join(t.dir, 'src.mp4');
const shape: StreamShape = { width: 320, height: 180, fps: 25, durationSec: 2 };

beforeAll(async () => {
  await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=25:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
}, 60_000);
afterAll(() => t.cleanup());

/** Every frame the reader hands over, hashed in order (frames arrive in one reused buffer). */
async function hashes(transport: 'socket' | 'pipe', longSide: number): Promise<string[]> {
  const out: string[] = [];
  const r = await readFrames({ ffmpeg, file, shape, longSide, skipLoopFilter: true }, (rgb, i) => {
    expect(i).toBe(out.length);
    out.push(createHash('sha1').update(rgb).digest('hex'));
  }, transport);
  expect(r.frames).toBe(out.length);
  return out;
}

describe('frame reader', () => {
  // 256x144x3 = 110592 bytes a frame spans socket reads; 16x8x3 = 384 puts many frames in one read.
  for (const longSide of [256, 16]) {
    it(`the socket (reused read buffer) and the plain pipe deliver the same frames, in order (long side ${longSide})`, async () => {
      const viaSocket = await hashes('socket', longSide);
      const viaPipe = await hashes('pipe', longSide);
      expect(viaSocket).toHaveLength(50);
      expect(new Set(viaSocket).size).toBeGreaterThan(40);
      expect(viaSocket).toEqual(viaPipe);
    });
  }

  it('rejects with ToolError when ffmpeg fails, and when it is missing', async () => {
    await expect(readFrames({ ffmpeg, file: path.join(t.dir, 'missing.mp4'), shape, longSide: 64, skipLoopFilter: false }, () => {})).rejects.toThrow(ToolError);
    await expect(readFrames({ ffmpeg: path.join(t.dir, 'no-ffmpeg'), file, shape, longSide: 64, skipLoopFilter: false }, () => {})).rejects.toMatchObject({ code: 'E_TOOL_MISSING' });
  });

  it('stops ffmpeg and rejects with the error when the frame callback throws, and on abort', async () => {
    await expect(readFrames({ ffmpeg, file, shape, longSide: 64, skipLoopFilter: false }, (_rgb, i) => {
      if (i === 3) throw new Error('scorer broke');
    })).rejects.toThrow('scorer broke');
    const controller = new AbortController();
    await expect(readFrames({ ffmpeg, file, shape, longSide: 64, skipLoopFilter: false, signal: controller.signal }, (_rgb, i) => {
      if (i === 3) controller.abort();
    })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });
});
