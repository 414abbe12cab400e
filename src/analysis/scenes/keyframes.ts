import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runTool, ToolError, type Scene } from '../../core/index.js';
import { videoMap } from './frame-reader.js';
import { keyFrameTimes, seekBefore, seeksInexactly } from './seek-points.js';

export type KeyframePosition = 'middle' | 'start' | 'end';

export interface KeyframeOptions {
  ffmpeg: string;
  file: string;
  scenes: readonly Scene[];
  fps: number;
  /** Folder for this video's keyframes (created; stale scene-*.jpg removed). */
  outDir: string;
  position: KeyframePosition;
  /** JPEG width; height keeps the aspect ratio. */
  width: number;
  /** ffmpeg -q:v, 1 best .. 31 worst. */
  quality: number;
  interlaced?: boolean;
  /**
   * Seconds from the file's start to the video's first frame (the record's `metadata.videoStartSec`): scene frames
   * count from that frame, ffmpeg's `-ss` from the file's start.
   */
  videoStartSec?: number;
  /** The file's stream index of the video when it is not the first video stream (`metadata.videoStreamIndex`). */
  streamIndex?: number;
  /** The rate scene detection resampled the frames to (a variable or untold rate), so frame n is the same frame here. */
  resampleFps?: number;
  /** ffprobe's format name (the record's `metadata.container`): MPEG-TS and MPEG-PS are seeked from key frames. */
  container?: string;
  /**
   * Lists the key frames: in containers whose input seeking is not frame-accurate, and to tell whether seeking
   * would decode more than one pass over the video (long GOPs).
   */
  ffprobe?: string;
  signal?: AbortSignal;
  /** Seeks per ffmpeg process: fewer processes, same accuracy. */
  batch?: number;
  progress?: (fraction: number) => void;
}

/** The frame that represents a scene [startFrame, endFrame). */
export function keyframeIndex(scene: Pick<Scene, 'startFrame' | 'endFrame'>, position: KeyframePosition): number {
  const last = Math.max(scene.startFrame, scene.endFrame - 1);
  if (position === 'start') return scene.startFrame;
  if (position === 'end') return last;
  return scene.startFrame + Math.floor((last - scene.startFrame) / 2);
}

/** File name of a scene's keyframe inside the video's keyframe folder (1-based, as the CSV numbers scenes). */
export function keyframeName(index: number): string {
  return `scene-${String(index + 1).padStart(4, '0')}.jpg`;
}

/**
 * Writes one JPEG per scene, seek-accurate: ffmpeg seeks to the keyframe before the target and decodes up to
 * it (input -ss with accurate seeking), aiming half a frame early so rounding never lands on the frame before.
 * In MPEG-TS/PS, where the input seek is not exact, the input seek goes before the key frame (listed from the
 * packets) and an output -ss decodes on to the target. Several seeks share one ffmpeg process. Where seeking
 * would decode more than twice what one pass over the video does (long GOPs), one pass selects the frames by
 * index instead. Returns the paths, in scene order.
 * @throws ToolError when ffmpeg fails or writes no frame for a scene.
 */
export async function extractKeyframes(options: KeyframeOptions): Promise<string[]> {
  mkdirSync(options.outDir, { recursive: true });
  for (const name of readdirSync(options.outDir)) {
    if (/^(?:scene-\d+\.jpg|pass-\d+\.jpg\.part)(\.part)?$/.test(name) || name.startsWith('contact-sheet.jpg')) rmSync(path.join(options.outDir, name), { force: true });
  }
  const fps = options.fps > 0 ? options.fps : 25;
  const batch = Math.max(1, options.batch ?? 8);
  // never enlarged: a 320-wide video's keyframes at 480 were 2.25x the pixels, and the model's visual tokens with them.
  // Non-square pixels (DVD, HDV) are stretched to the shape players show (`sar`; 1 when square or unknown): a
  // JPEG's pixels are square, and a 720x576 16:9 PAL frame kept as is came out squeezed. Square pixels give the
  // size `-2` gave (height rounded to an even number).
  const scale = `scale=w='max(2,trunc(min(${options.width},iw*sar)/2)*2)':h='max(2,round(ow*ih/(iw*sar)/2)*2)',setsar=1`;
  const vf = [...(options.interlaced ? ['yadif'] : []), scale].join(',');
  const inexact = seeksInexactly(options.container);
  // Elsewhere the key frames only choose between seeking and one pass: seeking works without them.
  const keys = options.ffprobe && (inexact || options.scenes.length > 1)
    ? await keyFrameTimes(options.ffprobe, options.file, options.signal, options.streamIndex).catch((err: unknown) => {
        if (inexact || options.signal?.aborted) throw err;
        return null;
      })
    : null;
  const lead = options.videoStartSec && options.videoStartSec > 0 ? options.videoStartSec : 0;
  const frames = options.scenes.map((scene) => keyframeIndex(scene, options.position));
  if (keys && frames.length <= ONE_PASS_MAX_SCENES && onePassIsCheaper(frames, keys.map((k) => Math.round((k - lead) * fps)))) {
    await keyframesInOnePass(options, frames, scale);
    return options.scenes.map((s) => path.join(options.outDir, keyframeName(s.index)));
  }
  // Without the lead, a video starting 2 s into its file had each scene's keyframe taken 2 s early: from the
  // scene before. Half a frame early, as before; frame 0 of a late video is then just before its first frame.
  const target = (scene: Scene) => Math.max(0, lead + (keyframeIndex(scene, options.position) - 0.5) / fps);
  for (let at = 0; at < options.scenes.length; at += batch) {
    const group = options.scenes.slice(at, at + batch);
    const seeks = group.map((scene) => (keys && inexact ? seekBefore(target(scene), keys, lead) : { input: target(scene), output: 0 }));
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
    for (const seek of seeks) args.push('-ss', seek.input.toFixed(6), '-i', options.file);
    group.forEach((scene, i) => {
      const out = seeks[i]!.output > 0 ? ['-ss', seeks[i]!.output.toFixed(6)] : [];
      args.push('-map', videoMap(i, options.streamIndex), ...out, '-an', '-sn', '-dn', '-frames:v', '1', '-vf', vf, '-q:v', String(options.quality), '-f', 'image2', '-update', '1', `${path.join(options.outDir, keyframeName(scene.index))}.part`);
    });
    await runTool(options.ffmpeg, args, { timeoutMs: 10 * 60_000, ...(options.signal ? { signal: options.signal } : {}) });
    for (const scene of group) {
      const file = path.join(options.outDir, keyframeName(scene.index));
      // ffmpeg exits 0 with no output when a seek finds no frame: say which scene, not a bare rename ENOENT
      if (!existsSync(`${file}.part`)) {
        throw new ToolError(
          `ffmpeg wrote no keyframe for scene ${scene.index + 1} (frame ${keyframeIndex(scene, options.position)}, ${target(scene).toFixed(3)} s): no frame was decoded there`,
          { command: options.ffmpeg, args },
        );
      }
      renameSync(`${file}.part`, file);
    }
    options.progress?.(Math.min(1, (at + group.length) / options.scenes.length));
  }
  return options.scenes.map((s) => path.join(options.outDir, keyframeName(s.index)));
}

/** Most scenes taken in one pass: the select expression grows by ~12 bytes a scene, and one argument is 128 KB at most. */
const ONE_PASS_MAX_SCENES = 4000;

/**
 * Whether decoding the video once up to the last target costs less than half of seeking: each seek decodes from
 * the key frame at or before its target. With a long GOP (a screen recording with one key frame, 2 minutes of
 * 720p and 22 scenes) seeking decoded the video sixteen times over: 70 s against 4 s.
 * @param frames the target frames, ascending; @param keyFrames the key frames' indexes, ascending.
 */
export function onePassIsCheaper(frames: readonly number[], keyFrames: readonly number[]): boolean {
  if (frames.length < 2) return false;
  let seeking = 0;
  let k = 0;
  for (const f of frames) {
    while (k + 1 < keyFrames.length && keyFrames[k + 1]! <= f) k++;
    const key = keyFrames.length && keyFrames[k]! <= f ? keyFrames[k]! : 0;
    seeking += f - key + 1;
  }
  return seeking > 2 * (frames.at(-1)! + 1);
}

/**
 * The keyframes in one decoding pass: ffmpeg selects the target frames by their index (the index scene detection
 * gave them, with the same resampling) and writes them in order, stopping after the last.
 */
async function keyframesInOnePass(options: KeyframeOptions, frames: readonly number[], scale: string): Promise<void> {
  const select = `select='${frames.map((f) => `eq(n,${f})`).join('+')}'`;
  const filters = [...(options.resampleFps ? [`fps=${options.resampleFps}`] : []), ...(options.interlaced ? ['yadif'] : []), select, scale];
  const pattern = path.join(options.outDir, 'pass-%06d.jpg.part');
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', options.file,
    '-map', videoMap(0, options.streamIndex), '-an', '-sn', '-dn', '-vf', filters.join(','), '-vsync', 'passthrough',
    '-frames:v', String(frames.length), '-c:v', 'mjpeg', '-q:v', String(options.quality), '-f', 'image2', '-start_number', '0', pattern,
  ];
  const passName = (i: number) => path.join(options.outDir, `pass-${String(i).padStart(6, '0')}.jpg.part`);
  try {
    // the whole video may be decoded: a minute more for every 3000 frames (50 frames a second at the least)
    await runTool(options.ffmpeg, args, { timeoutMs: 10 * 60_000 + (frames.at(-1)! + 1) * 20, ...(options.signal ? { signal: options.signal } : {}) });
    options.scenes.forEach((scene, i) => {
      if (!existsSync(passName(i))) {
        throw new ToolError(`ffmpeg wrote no keyframe for scene ${scene.index + 1} (frame ${frames[i]}): the video has fewer frames`, { command: options.ffmpeg, args });
      }
      renameSync(passName(i), path.join(options.outDir, keyframeName(scene.index)));
    });
  } finally {
    for (const name of readdirSync(options.outDir)) if (/^pass-\d+\.jpg\.part$/.test(name)) rmSync(path.join(options.outDir, name), { force: true });
  }
  options.progress?.(1);
}

export interface ContactSheetOptions {
  ffmpeg: string;
  /** The video's keyframe folder holding scene-0001.jpg .. scene-NNNN.jpg. */
  dir: string;
  count: number;
  columns: number;
  /** Width of one cell. */
  cellWidth: number;
  quality: number;
  signal?: AbortSignal;
}

/** All keyframes in a grid, one JPEG (`contact-sheet.jpg` in the folder); returns its path. */
export async function writeContactSheet(options: ContactSheetOptions): Promise<string> {
  const columns = Math.max(1, Math.min(options.columns, options.count));
  const rows = Math.max(1, Math.ceil(options.count / columns));
  // Keep the sheet under ~16000 px tall (JPEG's limit is 65535) however many scenes there are.
  const cellWidth = Math.max(32, Math.min(options.cellWidth, 2 * Math.floor(4500 / rows)));
  const out = path.join(options.dir, 'contact-sheet.jpg');
  await runTool(
    options.ffmpeg,
    [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-framerate', '1', '-start_number', '1', '-i', path.join(options.dir, 'scene-%04d.jpg'),
      // cells no wider than the keyframes: an enlarged keyframe shows nothing more, at twice the bytes
      '-vf', `scale='trunc(min(${cellWidth},iw)/2)*2':-2,tile=${columns}x${rows}:padding=4:margin=4`,
      '-frames:v', '1', '-q:v', String(options.quality), '-f', 'image2', '-update', '1', `${out}.part`,
    ],
    { timeoutMs: 10 * 60_000, ...(options.signal ? { signal: options.signal } : {}) },
  );
  renameSync(`${out}.part`, out);
  return out;
}
