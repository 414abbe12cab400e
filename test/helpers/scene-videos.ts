import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { newVideo, runTool, type Scene, type Video } from '../../src/core/index.js';
import { testFfmpeg } from './media.js';

export interface SceneSpec {
  frames: number;
  /** lavfi source without size/rate, e.g. `life=random_seed=3:ratio=0.4` or `color=c=red`. */
  source: string;
}

/** Textured scenes that dHash tells apart: a random Game of Life per seed. */
export function lifeScene(frames: number, seed: number): SceneSpec {
  return { frames, source: `life=random_seed=${seed}:ratio=0.5:mold=0:life_color=white:death_color=black` };
}

/**
 * A video made of known scenes (lavfi sources concatenated, hard cuts), H.264 with a keyframe every `gop`
 * frames and `bframes` B-frames at most between references (0: none, as ultrafast makes). Returns the file.
 */
export async function makeSceneVideo(file: string, scenes: readonly SceneSpec[], options: { fps?: number; width?: number; height?: number; gop?: number; bframes?: number } = {}): Promise<string> {
  const { fps = 25, width = 160, height = 120, gop = 25, bframes = 0 } = options;
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  for (const s of scenes) {
    const sep = s.source.includes('=') ? ':' : '=';
    args.push('-f', 'lavfi', '-i', `${s.source}${sep}s=${width}x${height}:r=${fps}`);
  }
  const chains = scenes.map((s, i) => `[${i}:v]trim=end_frame=${s.frames},setpts=PTS-STARTPTS,format=yuv420p[v${i}]`);
  const filter = `${chains.join(';')};${scenes.map((_, i) => `[v${i}]`).join('')}concat=n=${scenes.length}:v=1:a=0[out]`;
  args.push('-filter_complex', filter, '-map', '[out]', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-bf', String(bframes), '-pix_fmt', 'yuv420p', '-r', String(fps), file);
  await runTool(testFfmpeg(), args, { timeoutMs: 120_000 });
  return file;
}

/** A record for a scene video, with scenes at the known frames (what the scenes stage would find). */
export function sceneRecord(file: string, frames: readonly number[], options: { fps?: number; width?: number; height?: number; id?: string; label?: string; split?: string; url?: string; categories?: Video['categories']; tags?: Video['tags']; actions?: string[] } = {}): Video {
  const { fps = 25, width = 160, height = 120 } = options;
  const id = options.id ?? createHash('sha256').update(file).digest('hex').slice(0, 16);
  const total = frames.reduce((a, b) => a + b, 0);
  const v = newVideo(id, { url: options.url ?? file, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z', ...(options.label || options.split ? { list: { file: 'list.csv', ...(options.label ? { label: options.label } : {}), ...(options.split ? { split: options.split } : {}) } } : {}) }, { path: file, bytes: statSync(file).size, sha256: id.padEnd(64, '0') });
  v.metadata = { durationSec: total / fps, container: 'mov,mp4,m4a,3gp,3g2,mj2', bitRate: null, width, height, fps, frameCount: total, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} };
  let at = 0;
  v.scenes = frames.map((n, index): Scene => {
    const s: Scene = { index, startSec: at / fps, endSec: (at + n) / fps, startFrame: at, endFrame: at + n, transition: index === 0 ? 'start' : 'cut', score: 1, description: `scene ${index} of ${id}` };
    at += n;
    return s;
  });
  if (options.categories) v.categories = options.categories;
  if (options.tags) v.tags = options.tags;
  if (options.actions) v.ai = { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description: 'd', tags: [], actions: options.actions, promptTokens: 0, completionTokens: 0, framesSent: 0, at: '2024-01-01T00:00:00.000Z' };
  return v;
}

export async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  for (const it of items) yield it;
}

/** Frames (packets) in a file's first video stream, and its size. */
export async function probeClip(file: string): Promise<{ frames: number; width: number; height: number; fps: number; duration: number }> {
  const ffprobe = testFfmpeg().replace(/ffmpeg$/, 'ffprobe');
  const { stdout } = await runTool(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets,width,height,r_frame_rate:format=duration', '-of', 'json', file]);
  const j = JSON.parse(stdout.toString()) as { streams: Array<{ nb_read_packets: string; width: number; height: number; r_frame_rate: string }>; format: { duration: string } };
  const s = j.streams[0]!;
  const [n, d] = s.r_frame_rate.split('/').map(Number);
  return { frames: Number(s.nb_read_packets), width: s.width, height: s.height, fps: n! / (d || 1), duration: Number(j.format.duration) };
}

/** Mean RGB of one frame of a file (frame index at its own rate). */
export async function frameColor(file: string, index: number): Promise<[number, number, number]> {
  const { stdout } = await runTool(testFfmpeg(), ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index}),scale=1:1:flags=area,format=rgb24`, '-frames:v', '1', '-f', 'rawvideo', 'pipe:1']);
  return [stdout[0]!, stdout[1]!, stdout[2]!];
}
