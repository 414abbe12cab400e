import { runTool, UnsupportedMediaError, type VideoMetadata } from '../../core/index.js';
import { parseSar, playableDuration } from '../probe/ffprobe-adapter.js';
import type { StreamShape } from './frame-reader.js';

/** The reader's view of a probed video; throws UnsupportedMediaError when there is no video stream. */
export function shapeFromMetadata(metadata: VideoMetadata | null): StreamShape {
  if (!metadata || !metadata.videoCodec || !(metadata.width > 0) || !(metadata.height > 0)) {
    throw new UnsupportedMediaError('no video stream to detect scenes in');
  }
  return {
    width: metadata.width,
    height: metadata.height,
    fps: metadata.fps > 0 ? metadata.fps : 25,
    durationSec: metadata.durationSec,
    ...(metadata.videoStreamIndex !== undefined ? { streamIndex: metadata.videoStreamIndex } : {}),
    ...(metadata.frameCount !== undefined ? { frameCount: metadata.frameCount } : {}),
    ...(metadata.variableFrameRate !== undefined || untoldRate(metadata.container) ? { variableFrameRate: (metadata.variableFrameRate ?? false) || untoldRate(metadata.container) } : {}),
  };
}

/**
 * Matroska/WebM, where ffprobe gives avg_frame_rate = r_frame_rate even for a variable rate, so a variable rate
 * cannot be told from the probe. Their frames are always resampled to the stream's rate: a constant-rate file
 * comes out frame for frame the same (millisecond timestamps are far within half a frame), a variable one gets
 * frame n at n / fps like any other.
 */
export function untoldRate(container: string | undefined): boolean {
  return (container ?? '').split(',').some((name) => name.trim() === 'matroska' || name.trim() === 'webm');
}

interface ProbeStream {
  index?: number;
  codec_type?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
  disposition?: { attached_pic?: number };
}

function rate(text: string | undefined): number {
  if (!text) return 0;
  const [a, b] = text.split('/').map(Number);
  return b ? a! / b : Number(a) || 0;
}

/**
 * A minimal ffprobe of the first video stream, for callers without a probed record (the `scenes` command on a
 * bare file, the benchmark). Display size accounts for rotation.
 */
export async function probeStreamShape(ffprobe: string, file: string, signal?: AbortSignal): Promise<StreamShape> {
  const { stdout } = await runTool(
    ffprobe,
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=index,codec_type,width,height,sample_aspect_ratio,avg_frame_rate,r_frame_rate,nb_frames,duration:stream_tags=rotate:stream_side_data=rotation:stream_disposition=attached_pic:format=duration,start_time,format_name', '-of', 'json', file],
    { timeoutMs: 60_000, ...(signal ? { signal } : {}) },
  );
  const json = JSON.parse(stdout.toString('utf8')) as { streams?: ProbeStream[]; format?: { duration?: string; start_time?: string; format_name?: string } };
  const stream = (json.streams ?? []).find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic && (s.width ?? 0) > 0);
  if (!stream) throw new UnsupportedMediaError('no video stream to detect scenes in');
  const rotation = Math.abs(Number(stream.tags?.rotate ?? stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0)) % 180;
  const avg = rate(stream.avg_frame_rate);
  const real = rate(stream.r_frame_rate);
  const fps = avg > 0 ? avg : real > 0 ? real : 25;
  const durationSec = stream.duration !== undefined ? Number(stream.duration) || 0 : playableDuration(json.format?.format_name, json.format?.duration, json.format?.start_time);
  const frames = Number(stream.nb_frames ?? 0);
  const first = (json.streams ?? []).find((s) => s.codec_type === 'video');
  const w = Math.max(1, Math.round(stream.width! * parseSar(stream.sample_aspect_ratio)));
  const h = stream.height!;
  return {
    width: rotation === 90 ? h : w,
    height: rotation === 90 ? w : h,
    fps,
    durationSec,
    ...(stream !== first && Number.isInteger(stream.index) ? { streamIndex: stream.index! } : {}),
    ...(frames > 0 ? { frameCount: frames } : {}),
    variableFrameRate: (avg > 0 && real > 0 && Math.abs(avg - real) / real > 0.01) || untoldRate(json.format?.format_name),
  };
}
