import { runTool } from '../../core/index.js';
import type { EncodeSettings, PlannedClip } from './dataset-types.js';

function sec(n: number): string {
  return n.toFixed(6).replace(/\.?0+$/, '') || '0';
}

/** The scale filter that makes the short side `side` pixels, keeping the aspect (even sizes for x264). */
export function shortSideScale(side: number): string {
  return `scale='if(lte(iw,ih),${side},-2)':'if(lte(iw,ih),-2,${side})':flags=bicubic,setsar=1`;
}

/** Whether a clip can be stream-copied with these settings (no rate or size change asked). */
export function canCopy(settings: EncodeSettings): boolean {
  return settings.copy && settings.fps === 0 && settings.shortSide === 0;
}

/** Output frame count of a re-encoded clip: its source frames, converted to the target rate. */
export function outputFrames(clip: Pick<PlannedClip, 'startFrame' | 'endFrame' | 'sourceFps'>, fps: number): number {
  const frames = clip.endFrame - clip.startFrame;
  if (fps <= 0) return frames;
  return Math.max(1, Math.round((frames / clip.sourceFps) * fps));
}

/**
 * ffmpeg arguments that re-encode one clip to H.264/MP4: accurate seek to the clip's first source frame,
 * exactly its frames (converted to the target rate), optional short-side scale. `threads` per job: with
 * several jobs at once, 1 each uses the cores better than one job with many threads.
 */
export function encodeArgs(clip: PlannedClip, settings: EncodeSettings, output: string, threads: number): string[] {
  const filters: string[] = [];
  if (settings.fps > 0) filters.push(`fps=${settings.fps}`);
  if (settings.shortSide > 0) filters.push(shortSideScale(settings.shortSide));
  const frames = outputFrames(clip, settings.fps);
  const dur = (clip.endFrame - clip.startFrame) / clip.sourceFps;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-threads', String(threads),
    '-ss', sec(clip.startFrame / clip.sourceFps),
    '-i', clip.sourcePath,
    '-t', sec(dur),
    '-map', '0:v:0',
  ];
  if (settings.audio) args.push('-map', '0:a:0?');
  if (filters.length > 0) args.push('-vf', filters.join(','));
  args.push(
    '-frames:v', String(frames),
    '-c:v', 'libx264', '-preset', settings.preset, '-crf', String(settings.crf), '-pix_fmt', 'yuv420p',
    '-threads', String(threads),
  );
  if (threads === 1) args.push('-x264-params', 'sliced-threads=0:lookahead-threads=1');
  if (settings.audio) args.push('-c:a', 'aac', '-b:a', '128k');
  else args.push('-an');
  args.push('-sn', '-dn', '-map_metadata', '-1', '-movflags', '+faststart', '-f', 'mp4', output);
  return args;
}

/** ffmpeg arguments that stream-copy `[start, end)` seconds; `start` must be a keyframe. */
export function copyArgs(source: string, startSec: number, endSec: number, audio: boolean, output: string): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-ss', sec(startSec), '-i', source, '-t', sec(endSec - startSec), '-map', '0:v:0'];
  if (audio) args.push('-map', '0:a:0?');
  else args.push('-an');
  args.push('-c', 'copy', '-sn', '-dn', '-map_metadata', '-1', '-avoid_negative_ts', 'make_zero', '-movflags', '+faststart', '-f', 'mp4', output);
  return args;
}

/** Keyframe times of the first video stream, read from packet flags (no decoding). */
export async function keyframeTimes(ffprobe: string, file: string, signal?: AbortSignal): Promise<number[]> {
  const { stdout } = await runTool(
    ffprobe,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file],
    { timeoutMs: 10 * 60_000, ...(signal ? { signal } : {}), maxStdoutBytes: 256 * 1024 * 1024 },
  );
  const times: number[] = [];
  for (const line of stdout.toString('utf8').split('\n')) {
    const [t, flags] = line.split(',');
    if (flags?.includes('K') && t && t !== 'N/A') times.push(Number(t));
  }
  return times.sort((a, b) => a - b);
}

/** The first keyframe at or after `start` and before `end - minLen`, or null. */
export function keyframeStart(keyframes: readonly number[], start: number, end: number, minLen: number): number | null {
  const tol = 1e-3;
  for (const k of keyframes) {
    if (k < start - tol) continue;
    return k <= end - minLen + tol ? k : null;
  }
  return null;
}
