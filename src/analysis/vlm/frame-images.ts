import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import pLimit from 'p-limit';
import { runTool, ToolError } from '../../core/index.js';
import { videoMap } from '../scenes/frame-reader.js';
import { keyFrameTimes, seekBefore, seeksInexactly } from '../scenes/seek-points.js';
import type { FramePick } from './frame-selection.js';
import { smartResize, type Size } from './qwen-tokens.js';
import type { FrameImage } from './vlm-client.js';

const sizeCache = new Map<string, { mtimeMs: number; size: Size | null }>();

/** Width and height from a JPEG's frame header, without decoding it. Null when the file is not a JPEG. */
export function jpegSize(file: string): Size | null {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return null;
  }
  const hit = sizeCache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.size;
  const size = readJpegSize(file);
  sizeCache.set(file, { mtimeMs, size });
  return size;
}

function readJpegSize(file: string): Size | null {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return jpegBufferSize(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** Width and height from JPEG bytes (the start of the file is enough), or null. */
export function jpegBufferSize(buf: Buffer): Size | null {
  const n = buf.length;
  if (n < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < n) {
    if (buf[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = buf[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = buf.readUInt16BE(i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}

/**
 * The one size every frame of a video is sent at: the source (the keyframes' size when keyframes are used,
 * else the video's display size) resized to multiples of 28 within the pixel budget. Keyframes are never
 * blown up past their own size (beyond rounding to 28).
 */
export function targetFrameSize(picks: readonly FramePick[], videoSize: Size | null, maxPixels: number): Size {
  const withKeyframe = picks.find((p) => p.keyframe && existsSync(p.keyframe));
  const source = (withKeyframe ? jpegSize(withKeyframe.keyframe!) : null) ?? videoSize;
  if (!source || source.width <= 0 || source.height <= 0) {
    throw new RangeError('the video size is unknown (no metadata and no readable keyframe)');
  }
  return smartResize(source, maxPixels);
}

export interface RenderOptions {
  ffmpeg: string;
  videoPath: string;
  size: Size;
  signal?: AbortSignal;
  /** ffmpeg processes at once for this video. */
  parallel?: number;
  /** Runs each ffmpeg job under the process-wide tool limit (the pipeline's `[Concurrency] Cpu`); at once when absent. */
  toolSlot?: <T>(job: () => Promise<T>) => Promise<T>;
  /** JPEG quality for ffmpeg -q:v (2 best .. 31). */
  quality?: number;
  /**
   * The container (ffprobe's format name) and ffprobe: in MPEG-TS and MPEG-PS, which have no index, a fast seek
   * may land mid-GOP and decode no frame (a short TS with one key frame failed describe with "no frame at 1.94 s"),
   * so frames cut from such a file are decoded from the key frame before them.
   */
  container?: string;
  ffprobe?: string;
  /**
   * Where the video starts in its file (`metadata.videoStartSec`): pick times count from the video's first frame,
   * seeks from the file's start, so a video starting 2 s in had each frame cut 2 s early.
   */
  videoStartSec?: number;
  /** The video stream (`metadata.videoStreamIndex`): not a cover picture listed before it. */
  streamIndex?: number;
}

/**
 * The frames as JPEGs at exactly `size`: a keyframe file is rescaled, a pick without one (or whose file is
 * gone) is cut from the video at its time with a fast seek. Nothing is written to disk.
 */
export async function renderFrames(picks: readonly FramePick[], options: RenderOptions): Promise<FrameImage[]> {
  const limit = pLimit(options.parallel ?? 2);
  const { width, height } = options.size;
  const quality = String(options.quality ?? 4);
  const out = ['-vf', `scale=${width}:${height}:flags=bicubic`, '-frames:v', '1', '-an', '-sn', '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', quality, 'pipe:1'];
  // read once per video, only when a frame is cut from a file without an index
  let keys: Promise<number[]> | null = null;
  const keyTimes = () => (keys ??= keyFrameTimes(options.ffprobe!, options.videoPath, options.signal, options.streamIndex));
  const inexact = seeksInexactly(options.container) && options.ffprobe !== undefined;
  const lead = options.videoStartSec && options.videoStartSec > 0 ? options.videoStartSec : 0;
  const stream = ['-map', videoMap(0, options.streamIndex)];
  const seekArgs = async (at: number): Promise<string[]> => {
    if (!inexact) return ['-ss', (lead + at).toFixed(3), '-i', options.videoPath, ...stream];
    const seek = seekBefore(lead + at, await keyTimes(), lead);
    return ['-ss', seek.input.toFixed(3), '-i', options.videoPath, ...stream, '-ss', seek.output.toFixed(3)];
  };
  return Promise.all(
    picks.map((pick) =>
      limit(async () => {
        const fromKeyframe = pick.keyframe !== undefined && existsSync(pick.keyframe);
        // The container's duration can outlast the video track (audio runs on): a seek near the end may find no
        // frame, so step back before giving up.
        const backoffs = fromKeyframe ? [0] : [0, 0.5, 1.5];
        let args: string[] = [];
        for (const back of backoffs) {
          const at = Math.max(0, pick.timeSec - back);
          const input = fromKeyframe ? ['-i', pick.keyframe!] : await seekArgs(at);
          args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, ...out];
          const run = () => runTool(options.ffmpeg, args, { timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) });
          const { stdout } = await (options.toolSlot ? options.toolSlot(run) : run());
          if (stdout.length > 0) return { jpegBase64: stdout.toString('base64'), width, height, timeSec: at };
          if (at === 0) break;
        }
        throw new ToolError(`ffmpeg gave no frame at ${pick.timeSec.toFixed(2)} s`, { command: options.ffmpeg, args });
      }),
    ),
  );
}
