import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ToolError, UnsupportedMediaError } from '../../core/index.js';

/** What the reader needs to know about the video stream (from the probe). */
export interface StreamShape {
  /** Display size, after rotation. */
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  frameCount?: number;
  variableFrameRate?: boolean;
}

export interface FrameReaderOptions {
  ffmpeg: string;
  file: string;
  shape: StreamShape;
  /** Long side of the frames handed to Node, in pixels (never upscaled). */
  longSide: number;
  /**
   * Skip the H.264/HEVC in-loop deblocking filter while decoding: measurably faster, and the blocking it leaves
   * is invisible at 256 px. Reference frames drift a little from the true picture; scores barely move.
   */
  skipLoopFilter: boolean;
  /** Decoder threads (0 = ffmpeg decides). */
  threads?: number;
  signal?: AbortSignal;
}

/** Size of the frames the reader delivers for a given stream and long side: even, never larger than the source. */
export function scaledSize(shape: Pick<StreamShape, 'width' | 'height'>, longSide: number): { width: number; height: number } {
  const w = Math.max(2, shape.width);
  const h = Math.max(2, shape.height);
  const factor = Math.max(w, h) > longSide ? longSide / Math.max(w, h) : 1;
  const even = (x: number) => Math.max(2, 2 * Math.round((x * factor) / 2));
  return { width: even(w), height: even(h) };
}

/** The ffmpeg arguments of the reader: decode, scale down inside ffmpeg with a fast scaler, raw RGB24 on stdout. */
export function frameReaderArgs(options: FrameReaderOptions): string[] {
  const { width, height } = scaledSize(options.shape, options.longSide);
  const filters: string[] = [];
  // Variable frame rate: resample to the average rate so frame n is at n / fps, as in the scene list.
  if (options.shape.variableFrameRate && options.shape.fps > 0) filters.push(`fps=${options.shape.fps}`);
  filters.push(`scale=${width}:${height}:flags=fast_bilinear`, 'format=rgb24');
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if (options.threads) args.push('-threads', String(options.threads));
  if (options.skipLoopFilter) args.push('-skip_loop_filter', 'all');
  args.push('-i', options.file, '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', filters.join(','));
  if (!options.shape.variableFrameRate) args.push('-vsync', 'passthrough');
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  return args;
}

export interface ReadResult {
  frames: number;
  width: number;
  height: number;
  /** Peak resident memory of the ffmpeg process in bytes, when /proc tells (Linux). */
  ffmpegPeakRss?: number;
}

/**
 * Streams every frame of the first video stream through `onFrame` as packed RGB24 (`width * height * 3` bytes).
 * The buffer is reused: copy what must outlive the call. Memory stays flat whatever the video's length (one
 * frame buffer plus the pipe); ffmpeg blocks while Node is busy. Rejects with ToolError when ffmpeg fails and
 * UnsupportedMediaError when it decodes no frame at all.
 */
export function readFrames(
  options: FrameReaderOptions,
  onFrame: (rgb: Uint8Array, index: number) => void,
): Promise<ReadResult> {
  const { width, height } = scaledSize(options.shape, options.longSide);
  const frameBytes = width * height * 3;
  const args = frameReaderArgs(options);
  return new Promise((resolve, reject) => {
    const child = spawn(options.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const frame = new Uint8Array(frameBytes);
    let filled = 0;
    let index = 0;
    let stderr = '';
    let failure: unknown = null;
    let peakRss: number | undefined;
    let settled = false;
    const rssTimer = setInterval(() => {
      peakRss = readPeakRss(child.pid) ?? peakRss;
    }, 250);
    const onAbort = () => {
      failure ??= new ToolError('ffmpeg aborted', { command: options.ffmpeg, args }, { code: 'E_ABORTED' });
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    child.stdout.on('data', (chunk: Buffer) => {
      if (failure) return;
      let offset = 0;
      try {
        while (offset < chunk.length) {
          const take = Math.min(frameBytes - filled, chunk.length - offset);
          if (take === frameBytes && filled === 0) {
            // A whole frame inside the chunk: hand it over without copying.
            onFrame(new Uint8Array(chunk.buffer, chunk.byteOffset + offset, frameBytes), index++);
          } else {
            frame.set(chunk.subarray(offset, offset + take), filled);
            filled += take;
            if (filled === frameBytes) {
              onFrame(frame, index++);
              filled = 0;
            }
          }
          offset += take;
        }
      } catch (err) {
        failure = err;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-8192);
      peakRss = readPeakRss(child.pid) ?? peakRss;
    });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(rssTimer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish(() => reject(new ToolError(`ffmpeg could not start: ${err.message}`, { command: options.ffmpeg, args }, { cause: err, code: err.code === 'ENOENT' ? 'E_TOOL_MISSING' : 'E_TOOL' }))),
    );
    child.on('close', (code, signal) =>
      finish(() => {
        if (failure) return reject(failure);
        if (code !== 0) {
          const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          return reject(new ToolError(`ffmpeg ${why} while reading frames`, { command: options.ffmpeg, args, exitCode: code, stderrTail: stderr }));
        }
        if (index === 0) return reject(new UnsupportedMediaError(`no video frames could be decoded${stderr ? `: ${lastLine(stderr)}` : ''}`));
        resolve({ frames: index, width, height, ...(peakRss !== undefined ? { ffmpegPeakRss: peakRss } : {}) });
      }),
    );
  });
}

function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? '';
}

/** VmHWM of a process in bytes (Linux); undefined elsewhere or once it has exited. */
export function readPeakRss(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
