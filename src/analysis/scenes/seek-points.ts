import { runTool } from '../../core/index.js';

/**
 * Containers (ffprobe format names) whose input seeking is not frame-accurate. MPEG-TS and MPEG-PS have no index:
 * ffmpeg seeks by a timestamp search over the bytes and may start decoding mid-GOP, so the first frame it can
 * show lies in a later scene, or past the end (no frame at all).
 */
const INEXACT_SEEK = new Set(['mpegts', 'mpeg']);

export function seeksInexactly(container: string | undefined): boolean {
  return (container ?? '').split(',').some((name) => INEXACT_SEEK.has(name.trim()));
}

/**
 * Times of the video's key frames (the first video stream, or the stream at `streamIndex`), in seconds from the file's start time (the origin of ffmpeg's
 * `-ss`), sorted. Reads packet headers only (no decoding), line by line.
 */
export async function keyFrameTimes(ffprobe: string, file: string, signal?: AbortSignal, streamIndex?: number): Promise<number[]> {
  const keys: number[] = [];
  let start = 0;
  await runTool(
    ffprobe,
    ['-v', 'error', '-select_streams', streamIndex !== undefined ? String(streamIndex) : 'v:0', '-show_entries', 'packet=pts_time,flags:format=start_time', '-of', 'csv', '--', file],
    {
      timeoutMs: 10 * 60_000,
      ...(signal ? { signal } : {}),
      onStdoutLine: (line) => {
        const [section, a, b] = line.split(',');
        if (section === 'format' && a && Number.isFinite(Number(a))) start = Number(a);
        else if (section === 'packet' && b?.startsWith('K') && a && Number.isFinite(Number(a))) keys.push(Number(a));
      },
    },
  );
  return keys.map((t) => t - start).sort((x, y) => x - y);
}

/**
 * Where to seek the input and how far to decode from there to reach `target` (seconds from the file's start)
 * exactly: the input seek goes to a little before the key frame at or before the target (so the byte search
 * cannot land after it), and the output seek drops the frames between. `videoStartSec` is where the video starts
 * in the file: with no input seek (0), ffmpeg counts the output seek from the video's first frame, not from the
 * file's start (both the 5.x and the bundled 2018 build).
 */
export function seekBefore(target: number, keys: readonly number[], videoStartSec = 0): { input: number; output: number } {
  let key = 0;
  for (const k of keys) {
    if (k > target) break;
    key = k;
  }
  const input = Math.max(0, key - SEEK_MARGIN_SEC);
  return { input, output: Math.max(0, target - (input > 0 ? input : videoStartSec)) };
}

/** How far before the key frame the input seek aims. */
const SEEK_MARGIN_SEC = 1;
