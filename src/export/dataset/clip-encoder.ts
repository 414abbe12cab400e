import { videoMap } from '../../analysis/scenes/frame-reader.js';
import { runTool } from '../../core/index.js';
import type { EncodeSettings, PlannedClip } from './dataset-types.js';

function sec(n: number): string {
  return n.toFixed(6).replace(/\.?0+$/, '') || '0';
}

/** The scale filter that makes the short side `side` pixels, keeping the aspect (even sizes for x264). */
export function shortSideScale(side: number): string {
  return `scale='if(lte(iw,ih),${side},-2)':'if(lte(iw,ih),-2,${side})':flags=bicubic,setsar=1`;
}

/** Seek target for a clip's first frame: half a frame early, so timestamp rounding never drops that frame. */
export function seekSec(startFrame: number, fps: number): number {
  return Math.max(0, (startFrame - 0.5) / fps);
}

/** Frame indices (0-based, of `frames`) sampled for the duplicate hash: `k` evenly spread, centred. */
export function hashSampleIndices(frames: number, k: number): number[] {
  const n = Math.max(1, frames);
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.min(n - 1, Math.floor(((i + 0.5) * n) / k)));
  return [...out];
}

/** Filter that keeps the hash sample frames and makes them 9x8 gray (area average). */
export function hashFilter(frames: number, k: number): string {
  const sel = hashSampleIndices(frames, k).map((i) => `eq(n\\,${i})`).join('+');
  return `select='${sel}',scale=9:8:flags=area,format=gray`;
}

/** Whether a clip can be stream-copied with these settings (no rate or size change asked). */
export function canCopy(settings: EncodeSettings): boolean {
  return settings.copy && settings.fps === 0 && settings.shortSide === 0;
}

/**
 * Where to seek the input for a cut whose first frame is at `target` seconds: there itself, unless the container
 * seeks inexactly; then a second before the key frame at or before it, so the byte search cannot land past it
 * (the frames between are dropped on timestamps). `keys`: key frame times from the file's start, sorted.
 */
export function inputSeekSec(target: number, inexact: boolean, keys: readonly number[]): number {
  if (!inexact) return target;
  let key = 0;
  for (const k of keys) {
    if (k > target + 1e-6) break;
    key = k;
  }
  return Math.max(0, Math.min(key, target) - 1);
}

/**
 * The input seek of a variable-rate clip: on the average rate's grid (a whole frame), so the `fps` filter after it
 * lays its frames on the grid scene detection numbered them on, and a second early (or at `seek`, if earlier),
 * so the frame the grid shows at the clip's first frame (the last one before it, after a slow stretch) is there.
 */
export function gridSeekSec(startFrame: number, fps: number, seek: number): number {
  return Math.max(0, Math.floor(Math.min(seek * fps, startFrame - fps) + 1e-6)) / fps;
}

/**
 * A variable-rate clip's frames: the input laid on the average rate's grid from the (grid) seek point on, then its
 * frames taken by number. By time, a half-frame bound falls on the rounding point of the grid's time base, and the
 * clip's last frame was dropped or not as the sixth decimal went.
 */
function gridTrim(clip: Pick<PlannedClip, 'startFrame' | 'endFrame' | 'sourceFps'>, seek: number): string[] {
  const at = Math.round(seek * clip.sourceFps);
  return [`fps=${clip.sourceFps}:start_time=0`, `trim=start_frame=${clip.startFrame - at}:end_frame=${clip.endFrame - at}`];
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
export function encodeArgs(clip: PlannedClip, settings: EncodeSettings, output: string, threads: number, inputSeek = seekSec(clip.startFrame, clip.sourceFps)): string[] {
  // The seek lands half a frame before the first frame, so that frame would be stamped half a frame in; the
  // encoder rounds that up to a whole frame, and `-t` then cut the clip's last frame. Video restarts at 0, and
  // the audio is trimmed by the same half frame to stay in sync with it. An earlier input seek (see
  // inputSeekSec) is made up by trimming on timestamps.
  const seek = inputSeek;
  const skip = seekSec(clip.startFrame, clip.sourceFps) - seek;
  const lead = clip.startFrame / clip.sourceFps - seek;
  // seeks are made in the file's time: the video may start after it (audio first)
  const fileLead = clip.videoStartSec ?? 0;
  const filters: string[] = [...(clip.variableRate ? gridTrim(clip, seek) : skip > 1e-6 ? [`trim=start=${sec(skip)}`] : []), 'setpts=PTS-STARTPTS'];
  if (settings.fps > 0) filters.push(`fps=${settings.fps}`);
  if (settings.shortSide > 0) filters.push(shortSideScale(settings.shortSide));
  const frames = outputFrames(clip, settings.fps);
  const dur = (clip.endFrame - clip.startFrame) / clip.sourceFps;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-threads', String(threads),
    '-ss', sec(seek + fileLead),
    '-i', clip.sourcePath,
    '-t', sec(dur),
    '-map', videoMap(0, clip.streamIndex),
  ];
  if (settings.audio) {
    args.push('-map', '0:a:0?');
    if (lead > 0) args.push('-af', `atrim=start=${sec(lead)},asetpts=PTS-STARTPTS`);
  }
  args.push('-vf', filters.join(','));
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

/**
 * ffmpeg arguments that stream-copy `frames` packets from `startSec` (a keyframe): the packets `copyRange` chose.
 * A packet count, not `-t` alone: ffmpeg ends a stream copy on decode timestamps, which with B-frames lag the
 * shown ones, so `-t` wrote the frames after the end too. `-t` still ends the audio.
 *
 * No `-avoid_negative_ts make_zero`: with B-frames the key frame decodes before it is shown (its decode time is
 * negative after the seek), and making every decode time non-negative pushed the picture back by that much (80 ms
 * with two B-frames at 25 fps) while the audio stayed at 0: the clip played audio alone first. The MP4 muxer
 * keeps the negative decode times in its edit lists instead, so both streams start at 0, in sync with the source.
 */
export function copyArgs(source: string, startSec: number, endSec: number, frames: number, audio: boolean, output: string, streamIndex?: number): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-ss', sec(startSec), '-i', source, '-t', sec(endSec - startSec), '-map', videoMap(0, streamIndex), '-frames:v', String(frames)];
  if (audio) args.push('-map', '0:a:0?');
  else args.push('-an');
  args.push('-c', 'copy', '-sn', '-dn', '-map_metadata', '-1', '-movflags', '+faststart', '-f', 'mp4', output);
  return args;
}

/** The first video stream's packets: when each is shown, in decode (file) order, and its keyframes. */
export interface PacketIndex {
  /** Shown time of each packet, in decode order. */
  pts: number[];
  /** Decode-order positions of the keyframes (their shown times rise). */
  keys: number[];
  /** Every shown time, sorted. */
  shown: number[];
}

/**
 * Reads the packet index of a file's first video stream from packet headers (no decoding), in seconds from the
 * file's start time: the origin of ffmpeg's `-ss` and of the clips' times (an MPEG-TS may start at 1.4 s).
 */
export async function videoPackets(ffprobe: string, file: string, signal?: AbortSignal, streamIndex?: number): Promise<PacketIndex> {
  const { stdout } = await runTool(
    ffprobe,
    ['-v', 'error', '-select_streams', streamIndex !== undefined ? String(streamIndex) : 'v:0', '-show_entries', 'packet=pts_time,flags:format=start_time', '-of', 'csv', '--', file],
    { timeoutMs: 10 * 60_000, ...(signal ? { signal } : {}), maxStdoutBytes: 256 * 1024 * 1024 },
  );
  let start = 0;
  const packets: Array<{ pts: number; key: boolean }> = [];
  for (const line of stdout.toString('utf8').split('\n')) {
    const [section, a, b] = line.split(',');
    if (!a || !Number.isFinite(Number(a))) continue;
    if (section === 'format') start = Number(a);
    else if (section === 'packet' && b !== undefined) packets.push({ pts: Number(a), key: b.includes('K') });
  }
  return packetIndex(packets.map((p) => ({ pts: p.pts - start, key: p.key })));
}

/** The index of packets given in decode order. */
export function packetIndex(packets: ReadonlyArray<{ pts: number; key: boolean }>): PacketIndex {
  const keys: number[] = [];
  packets.forEach((p, i) => {
    if (p.key && (keys.length === 0 || p.pts > packets[keys.at(-1)!]!.pts)) keys.push(i);
  });
  return { pts: packets.map((p) => p.pts), keys, shown: packets.map((p) => p.pts).sort((a, b) => a - b) };
}

const TOL = 1e-3;

/** How many of the sorted times are at or before `t`. */
function countUpTo(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= t + TOL) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * What a stream copy of `[start, end)` can write: from the first keyframe at or after `start` (so no frame of
 * what comes before), the most packets in decode order that are exactly the frames shown from that keyframe up
 * to a time at or before `end` (so no frame of what comes after). With B-frames a frame shown before `end` can
 * follow, in decode order, one shown at or after it: the clip then ends at the last point before `end` where
 * decode and display order meet (a few frames early). Null when that leaves less than `minLen` seconds, or no
 * such point follows the keyframe (frames shown before it decoded after it: an open GOP).
 */
export function copyRange(index: PacketIndex, start: number, end: number, minLen: number): { startSec: number; endSec: number; frames: number } | null {
  let lo = 0;
  let hi = index.keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (index.pts[index.keys[mid]!]! < start - TOL) lo = mid + 1;
    else hi = mid;
  }
  if (lo === index.keys.length) return null;
  const kf = index.keys[lo]!;
  const k = index.pts[kf]!;
  if (k > end - minLen + TOL) return null;
  const before = countUpTo(index.shown, k - 2 * TOL);
  let best: { endSec: number; frames: number } | null = null;
  let last = -Infinity;
  for (let j = kf; j < index.pts.length; j++) {
    const pts = index.pts[j]!;
    if (pts >= end - TOL || pts < k - TOL) break;
    last = Math.max(last, pts);
    const upTo = countUpTo(index.shown, last);
    if (upTo - before === j - kf + 1) best = { endSec: Math.min(index.shown[upTo] ?? end, end), frames: j - kf + 1 };
  }
  if (!best || best.endSec - k < minLen - TOL) return null;
  return { startSec: k, ...best };
}

export interface BatchOutput {
  clip: PlannedClip;
  /** The clip file to write (a .part name). */
  file: string;
  /** Where to write the 9x8 gray hash frames, or null for no hash. */
  hashFile: string | null;
}

/** Clips cut by one ffmpeg at most; more amortise its start-up, fewer lose less to a crash. */
export const BATCH_MAX_CLIPS = 5;
/** Source seconds decoded for nothing between two clips of a batch, at most. */
export const BATCH_MAX_GAP_SEC = 5;

/**
 * Groups one video's clips (sorted by start) into batches for `batchArgs`: consecutive clips, at most
 * BATCH_MAX_CLIPS, with gaps of at most BATCH_MAX_GAP_SEC between them.
 */
export function batchClips<T extends Pick<PlannedClip, 'startFrame' | 'endFrame' | 'sourceFps'>>(clips: readonly T[]): T[][] {
  const sorted = [...clips].sort((a, b) => a.startFrame - b.startFrame);
  const out: T[][] = [];
  let cur: T[] = [];
  for (const c of sorted) {
    const last = cur.at(-1);
    if (last && (cur.length >= BATCH_MAX_CLIPS || (c.startFrame - last.endFrame) / c.sourceFps > BATCH_MAX_GAP_SEC)) {
      out.push(cur);
      cur = [];
    }
    cur.push(c);
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * One ffmpeg that decodes a stretch of one source once and writes several clips (and their hash frames):
 * the source is split, each branch trimmed to its clip's exact source frames, then rate/size filters and
 * its own x264 encoder. Saves a process start and a seek per clip, which dominate for short clips.
 */
export function batchArgs(outputs: readonly BatchOutput[], settings: EncodeSettings, threads: number, hashFrames: number, inputSeek?: number): string[] {
  const first = outputs.reduce((m, o) => Math.min(m, o.clip.startFrame), Infinity);
  const last = outputs.reduce((m, o) => Math.max(m, o.clip.endFrame), 0);
  const src = outputs[0]!.clip;
  const base = inputSeek ?? seekSec(first, src.sourceFps);
  // Trim on timestamps relative to the seek point, half a frame early on both ends: frame k sits at
  // k/fps - base, so [start-0.5, end-0.5) frames holds exactly the clip's frames whatever the rounding.
  const post: string[] = [];
  if (settings.fps > 0) post.push(`fps=${settings.fps}`);
  if (settings.shortSide > 0) post.push(shortSideScale(settings.shortSide));
  // a variable rate is first laid on the average rate's grid, as scene detection read it (see gridSeekSec)
  const resample = src.variableRate ? `fps=${src.sourceFps}:start_time=0,` : '';
  const at = Math.round(base * src.sourceFps);
  const chains: string[] = [`[${videoMap(0, src.streamIndex)}]${resample}split=${outputs.length}${outputs.map((_, i) => `[s${i}]`).join('')}`];
  outputs.forEach((o, i) => {
    const startT = (o.clip.startFrame - 0.5) / src.sourceFps - base;
    const endT = (o.clip.endFrame - 0.5) / src.sourceFps - base;
    const trim = src.variableRate ? `trim=start_frame=${o.clip.startFrame - at}:end_frame=${o.clip.endFrame - at}` : `trim=start=${sec(Math.max(0, startT))}:end=${sec(endT)}`;
    const f = [trim, 'setpts=PTS-STARTPTS', ...post].join(',');
    if (o.hashFile) {
      chains.push(`[s${i}]${f},split=2[o${i}][h${i}]`);
      chains.push(`[h${i}]${hashFilter(outputFrames(o.clip, settings.fps), hashFrames)}[g${i}]`);
    } else {
      chains.push(`[s${i}]${f}[o${i}]`);
    }
  });
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-threads', String(threads),
    // in the file's time: the video may start after it (audio first)
    '-ss', sec(base + (src.videoStartSec ?? 0)),
    '-i', src.sourcePath,
    '-t', sec((last + 1) / src.sourceFps - base),
    '-filter_complex', chains.join(';'),
  ];
  outputs.forEach((o, i) => {
    args.push('-map', `[o${i}]`, '-frames:v', String(outputFrames(o.clip, settings.fps)));
    args.push('-c:v', 'libx264', '-preset', settings.preset, '-crf', String(settings.crf), '-pix_fmt', 'yuv420p', '-threads', String(threads));
    if (threads === 1) args.push('-x264-params', 'sliced-threads=0:lookahead-threads=1');
    args.push('-an', '-sn', '-dn', '-map_metadata', '-1', '-movflags', '+faststart', '-f', 'mp4', o.file);
    if (o.hashFile) args.push('-map', `[g${i}]`, '-vsync', 'passthrough', '-f', 'rawvideo', o.hashFile);
  });
  return args;
}
