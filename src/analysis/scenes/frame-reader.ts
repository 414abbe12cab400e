import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  /** The file's stream index of the video when it is not the first video stream (see VideoMetadata). */
  streamIndex?: number;
}

/** ffmpeg's -map for an input's video: its index when the probe named one, else the first video stream. */
export function videoMap(input: number, streamIndex: number | undefined): string {
  return streamIndex !== undefined ? `${input}:${streamIndex}` : `${input}:v:0`;
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
  args.push('-i', options.file, '-map', videoMap(0, options.shape.streamIndex), '-an', '-sn', '-dn', '-vf', filters.join(','));
  // Also after the fps filter: ffmpeg's default for raw output pads a video that starts after its file (audio
  // first) with copies of its first frame back to the file's start, so frame n was no more the video's frame n.
  args.push('-vsync', 'passthrough');
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

/** How ffmpeg's raw frames reach Node: see frameChannel. */
export type FrameTransport = 'socket' | 'pipe';

/** Bytes Node reads at a time from the frame socket (into one buffer, reused). */
const SOCKET_READ_BYTES = 256 * 1024;

let channelCount = 0;

/**
 * A local stream socket for ffmpeg's stdout, read into one reused buffer (net's `onread`). Node reads a child's
 * stdout pipe into a fresh Buffer every 64 KB; at 110 KB a frame and a few hundred frames a second, allocating,
 * page-faulting and collecting those buffers cost more CPU than scoring the frames (1.0 s against 0.2 s for the
 * socket, on a 71 s 720p video). `childEnd` is handed to ffmpeg as its stdout and closed here once it is spawned.
 * Null where local sockets cannot be shared with a child (Windows named pipes): the caller falls back to a pipe.
 */
async function frameChannel(onData: (buffer: Buffer, bytes: number) => void): Promise<{ childEnd: net.Socket; reader: net.Socket } | null> {
  if (process.platform === 'win32') return null;
  const name = `videodex-frames-${process.pid}-${++channelCount}-${randomBytes(4).toString('hex')}`;
  // Linux: the abstract namespace leaves no file behind; elsewhere a socket file in the temp folder, removed at once.
  const address = process.platform === 'linux' ? `\0${name}` : path.join(tmpdir(), `${name}.sock`);
  const server = net.createServer();
  let reader: net.Socket | null = null;
  let childEnd: net.Socket | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => resolve());
    });
    const accepted = new Promise<net.Socket>((resolve, reject) => {
      server.once('connection', (socket: net.Socket) => resolve((childEnd = socket)));
      server.once('error', reject);
    });
    const buffer = Buffer.allocUnsafe(SOCKET_READ_BYTES);
    const client = net.connect({ path: address, onread: { buffer, callback: (bytes: number, buf: Uint8Array) => (onData(buf as Buffer, bytes), true) } });
    reader = client;
    const connected = new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const [socket] = await Promise.all([accepted, connected]);
    return { childEnd: socket, reader: client };
  } catch {
    (reader as net.Socket | null)?.destroy();
    (childEnd as net.Socket | null)?.destroy();
    return null;
  } finally {
    server.close();
    if (process.platform !== 'linux') rmSync(address, { force: true });
  }
}

/**
 * Streams every frame of the first video stream through `onFrame` as packed RGB24 (`width * height * 3` bytes).
 * The buffer is reused: copy what must outlive the call. Memory stays flat whatever the video's length (one
 * frame buffer plus the socket's); ffmpeg blocks while Node is busy. Rejects with ToolError when ffmpeg fails and
 * UnsupportedMediaError when it decodes no frame at all. `transport` is for tests: by default a local socket
 * read into a reused buffer, a pipe where that is not available.
 */
export async function readFrames(
  options: FrameReaderOptions,
  onFrame: (rgb: Uint8Array, index: number) => void,
  transport: FrameTransport = 'socket',
): Promise<ReadResult> {
  const { width, height } = scaledSize(options.shape, options.longSide);
  const frameBytes = width * height * 3;
  const args = frameReaderArgs(options);
  const frame = new Uint8Array(frameBytes);
  let filled = 0;
  let index = 0;
  let failure: unknown = null;
  let kill = () => {};

  const onData = (chunk: Uint8Array, length: number) => {
    if (failure) return;
    let offset = 0;
    try {
      while (offset < length) {
        const take = Math.min(frameBytes - filled, length - offset);
        if (take === frameBytes && filled === 0) {
          // A whole frame inside the chunk: hand it over without copying.
          onFrame(chunk.subarray(offset, offset + frameBytes), index++);
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
      kill();
    }
  };

  const channel = transport === 'socket' ? await frameChannel(onData) : null;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(options.ffmpeg, args, { stdio: ['ignore', channel ? channel.childEnd : 'pipe', 'pipe'] });
    } catch (err) {
      channel?.childEnd.destroy();
      channel?.reader.destroy();
      reject(new ToolError(`ffmpeg could not start: ${err instanceof Error ? err.message : String(err)}`, { command: options.ffmpeg, args }, { cause: err }));
      return;
    }
    // ffmpeg holds its own copy now; ours must go, or the reader never sees the end of the stream.
    channel?.childEnd.destroy();
    const output = channel ? channel.reader : child.stdout!;
    kill = () => child.kill('SIGKILL');
    let stderr = '';
    let peakRss: number | undefined;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let drained = false;
    const rssTimer = setInterval(() => {
      peakRss = readPeakRss(child.pid) ?? peakRss;
    }, 250);
    const onAbort = () => {
      failure ??= new ToolError('ffmpeg aborted', { command: options.ffmpeg, args }, { code: 'E_ABORTED' });
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    if (!channel) output.on('data', (chunk: Buffer) => onData(chunk, chunk.length));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      stderr = (stderr + text).slice(-8192);
      peakRss = readPeakRss(child.pid) ?? peakRss;
    });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(rssTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (channel) channel.reader.destroy();
      fn();
    };
    // Done when ffmpeg has exited and every byte it wrote has been read.
    const done = () => {
      if (!exit || !drained) return;
      const { code, signal } = exit;
      finish(() => {
        if (failure) return reject(failure);
        if (code !== 0) {
          const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          return reject(new ToolError(`ffmpeg ${why} while reading frames`, { command: options.ffmpeg, args, exitCode: code, stderrTail: stderr, signal }));
        }
        if (index === 0) return reject(new UnsupportedMediaError(`no video frames could be decoded${stderr ? `: ${lastLine(stderr)}` : ''}`));
        resolve({ frames: index, width, height, ...(peakRss !== undefined ? { ffmpegPeakRss: peakRss } : {}) });
      });
    };
    output.once('close', () => {
      drained = true;
      done();
    });
    output.on('error', (err) => {
      failure ??= err;
      kill();
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish(() => reject(new ToolError(`ffmpeg could not start: ${err.message}`, { command: options.ffmpeg, args }, { cause: err, code: err.code === 'ENOENT' ? 'E_TOOL_MISSING' : 'E_TOOL' }))),
    );
    child.on('close', (code, signal) => {
      exit = { code, signal };
      done();
    });
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
