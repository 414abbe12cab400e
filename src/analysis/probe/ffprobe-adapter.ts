import { stat } from 'node:fs/promises';
import { parseExternalJson, runTool, ToolError, UnsupportedMediaError, type VideoMetadata } from '../../core/index.js';

/** The subset of ffprobe's JSON this adapter reads. Nothing past this file sees it. */
interface ProbeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  /** Packets demuxed (`-count_packets`): the frames that are in the file, whatever its header says. */
  nb_read_packets?: string;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  field_order?: string;
  channels?: number;
  sample_rate?: string;
  duration?: string;
  start_time?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}
interface ProbeJson {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string; bit_rate?: string; size?: string; tags?: Record<string, string> };
}

export interface ProbeOptions {
  /** The ffprobe is the npm package's 2018 build: a crash then says to install a system ffmpeg. */
  bundled?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Reads "30000/1001" or "25" as a number; 0 when unknown. */
export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  if (!Number.isFinite(n) || !n) return 0;
  if (d === undefined) return n!;
  return d ? n! / d : 0;
}

/**
 * Clockwise degrees (0..359) to turn the stored picture to show it upright, as the legacy `rotate` tag says.
 * ffprobe's display-matrix `rotation` is counter-clockwise: a rotate tag of 90 is a display matrix of -90.
 */
function rotationOf(stream: ProbeStream): number {
  const fromSide = stream.side_data_list?.find((s) => typeof s.rotation === 'number')?.rotation;
  const raw = fromSide !== undefined ? -fromSide : stream.tags?.rotate !== undefined ? Number(stream.tags.rotate) : 0;
  if (!Number.isFinite(raw)) return 0;
  return ((Math.round(raw) % 360) + 360) % 360;
}

/**
 * Bits per sample from a pixel format's name, for codecs whose stream has no bits_per_raw_sample (VP9, AV1): the
 * number after the planar `p` (yuv420p12le, gbrp10le), in P010-style and gray names; 8 for the plain 8-bit
 * formats; undefined when the name does not say.
 */
function bitDepthOf(pixFmt: string): number | undefined {
  const deep = /(?:^p0|^y2|^gray|p)(9|10|12|14|16)(?:le|be)?$/.exec(pixFmt);
  if (deep) return Number(deep[1]);
  if (/^(?:rgba?64|bgra?64|rgb48|bgr48)(?:le|be)?$/.test(pixFmt)) return 16;
  if (/^(?:yuvj?a?4[0-4][0-4]p|gbra?p|nv(?:12|21|16|24|42)|gray|rgb24|bgr24|rgba|bgra|argb|abgr|[0x]rgb|rgb[0x]|[0x]bgr|bgr[0x]|yuyv422|uyvy422|yvyu422|pal8)$/.test(pixFmt)) return 8;
  return undefined;
}

/** A sample aspect ratio "a:b" as a number; 1 when absent, unknown ("0:1", "N/A") or not a ratio. */
export function parseSar(sar: string | undefined): number {
  const m = /^(\d+):(\d+)$/.exec(sar ?? '');
  if (!m || !Number(m[1]) || !Number(m[2])) return 1;
  return Number(m[1]) / Number(m[2]);
}

function lowerKeys(tags: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}

/**
 * The file's playable length from ffprobe's format duration and start time. Matroska/WebM and MP4/MOV state their
 * duration as the end of their timeline, which counts from 0 whatever the first timestamp: a file written with a
 * start offset (ffmpeg -output_ts_offset 5, a -copyts cut) starting at 5 s and ending at 9 s says 9 s where 4 s
 * play. Demuxers that measure the duration from the timestamps (MPEG-TS, MPEG-PS) already give end minus start.
 */
export function playableDuration(formatName: string | undefined, duration: string | undefined, startTime: string | undefined): number {
  const total = Number(duration ?? 0) || 0;
  const start = Number(startTime);
  const fromZero = (formatName ?? '').split(',').some((n) => ['matroska', 'webm', 'mov', 'mp4'].includes(n.trim()));
  if (!fromZero || !Number.isFinite(start) || start <= 0 || start >= total) return total;
  return Math.round((total - start) * 1e6) / 1e6;
}

/** Turns ffprobe JSON into the record's metadata, or says clearly why the file is not a usable video. */
export function toVideoMetadata(json: ProbeJson): VideoMetadata {
  const streams = json.streams ?? [];
  // A still image read by an image demuxer (a PNG named .mp4) has a one-frame "video" stream and no duration.
  const format = json.format?.format_name ?? '';
  if (/_pipe$/.test(format) || format === 'image2') {
    throw new UnsupportedMediaError(`content is an image (${streams[0]?.codec_name ?? format.replace(/_pipe$/, '')}), not a video`);
  }
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) {
    // cover art is a picture stream of codec_type video: naming it "video" contradicted "no video stream"
    const cover = streams.some((s) => s.disposition?.attached_pic);
    const kinds = [...new Set(streams.filter((s) => !s.disposition?.attached_pic).map((s) => s.codec_type).filter(Boolean))];
    const only = kinds.length ? `only ${kinds.join(', ')}${cover ? ', with cover art' : ''}` : cover ? 'only cover art' : '';
    throw new UnsupportedMediaError(only ? `no video stream (${only})` : 'no video stream');
  }
  const audio = streams.find((s) => s.codec_type === 'audio');
  const rotation = rotationOf(video);
  const rawW = video.width ?? 0;
  const rawH = video.height ?? 0;
  if (!rawW || !rawH) throw new UnsupportedMediaError('video stream has no frame size (corrupt or unsupported)');
  // Non-square pixels (DVD, HDV, broadcast) are shown stretched: 1440x1080 at 4:3 is a 1920x1080 picture.
  const sar = parseSar(video.sample_aspect_ratio);
  const shownW = sar === 1 ? rawW : Math.max(1, Math.round(rawW * sar));
  const sideways = rotation === 90 || rotation === 270;
  const avg = parseRate(video.avg_frame_rate);
  const real = parseRate(video.r_frame_rate);
  const fps = avg || real;
  const durationSec = json.format?.duration !== undefined ? playableDuration(format, json.format.duration, json.format.start_time) : Number(video.duration ?? 0) || 0;
  const nbFrames = video.nb_frames ? Number(video.nb_frames) : NaN;
  const formatTags = lowerKeys(json.format?.tags);
  const bitDepth = Number(video.bits_per_raw_sample) || bitDepthOf(video.pix_fmt ?? '');
  const meta: VideoMetadata = {
    durationSec,
    container: json.format?.format_name ?? 'unknown',
    bitRate: json.format?.bit_rate ? Number(json.format.bit_rate) : null,
    width: sideways ? rawH : shownW,
    height: sideways ? shownW : rawH,
    fps: Math.round(fps * 1000) / 1000,
    rotation,
    videoCodec: video.codec_name ?? 'unknown',
    audio: audio
      ? { codec: audio.codec_name ?? 'unknown', channels: audio.channels ?? 0, sampleRate: Number(audio.sample_rate ?? 0) }
      : null,
    containerTags: formatTags,
  };
  const present = video.nb_read_packets ? Number(video.nb_read_packets) : NaN;
  // The video may start after the file does (audio first, an empty edit): scene frames count from its first
  // frame, while seeks count from the file's start, so the record keeps the distance.
  const rawLead = Number(video.start_time) - Number(json.format?.start_time);
  const lead = Number.isFinite(rawLead) && rawLead >= 0.0005 ? Math.round(rawLead * 1e6) / 1e6 : 0;
  if (lead) meta.videoStartSec = lead;
  // ffmpeg's 0:v:0 is the first video stream, cover pictures included: a cover listed first was decoded as the
  // video (one frame, one scene, keyframes of the cover). The 2018 bundled ffmpeg has no 0:V:0, so keep the index.
  if (video !== streams.find((s) => s.codec_type === 'video') && Number.isInteger(video.index)) meta.videoStreamIndex = video.index!;
  // An MP4 cut with stream copy (ffmpeg -ss 1.5 -c copy) keeps the frames from the key frame before the cut and an
  // edit list that starts the picture at the cut: nb_frames counts them all, decoders and players skip them (the
  // stream's duration is the edited one).
  const shown = fps > 0 && Number(video.duration) > 0 ? Math.floor(fps * Number(video.duration) + 0.01) : NaN;
  if (Number.isFinite(nbFrames) && nbFrames > 0) meta.frameCount = nbFrames - shown >= 2 ? shown : nbFrames;
  // the file's duration counts from its start: the frames of a video starting later are fewer (Matroska, 2 s of
  // audio first: 201 frames were promised where 150 play)
  else if (fps && durationSec) meta.frameCount = Math.max(1, Math.round(fps * Math.max(0, durationSec - lead)));
  else if (fps && Number.isFinite(present) && present > 0) {
    // No duration anywhere (Matroska/WebM written to a pipe, a browser's MediaRecorder, a live recording): the
    // packets counted are the frames there, and they play for as long as their count says.
    meta.frameCount = present;
    meta.durationSec = Math.round((present / fps) * 1000) / 1000;
    const bytes = Number(json.format?.size);
    if (meta.bitRate === null && bytes > 0 && meta.durationSec > 0) meta.bitRate = Math.round((bytes * 8) / meta.durationSec);
  }
  // A file cut short (a copy or download that stopped) keeps a header that promises all of it: with the frame
  // count of that header and the packets really there, the record says how much plays, so scene lists, frames
  // sent to the model, clips and duration rules stay within it.
  if (Number.isFinite(nbFrames) && nbFrames > 0 && Number.isFinite(present) && nbFrames - present >= Math.max(2, nbFrames * 0.02)) {
    meta.truncated = { headerSec: durationSec, headerFrames: nbFrames };
    meta.frameCount = present;
    if (fps) meta.durationSec = Math.round((present / fps) * 1000) / 1000;
  }
  if (sar !== 1) meta.sampleAspectRatio = video.sample_aspect_ratio!;
  if (video.pix_fmt) meta.pixelFormat = video.pix_fmt;
  if (bitDepth && Number.isFinite(bitDepth)) meta.bitDepth = bitDepth;
  if (video.field_order && !['progressive', 'unknown'].includes(video.field_order)) meta.interlaced = true;
  if (avg && real && Math.abs(avg - real) / real > 0.01) meta.variableFrameRate = true;
  const created = formatTags.creation_time ?? video.tags?.creation_time;
  if (created) meta.creationTime = created;
  return meta;
}

/** Probes a file with ffprobe. Throws UnsupportedMediaError for files that are not videos. */
export async function probeVideo(ffprobe: string, file: string, options: ProbeOptions = {}): Promise<VideoMetadata> {
  const info = await stat(file);
  if (info.size === 0) throw new UnsupportedMediaError('empty file (0 bytes)');
  let stdout: Buffer;
  try {
    ({ stdout } = await runTool(
      ffprobe,
      // -count_packets demuxes the whole file (no decoding: a fraction of a second per GB read, and the hash
      // has just read it) to tell a file cut short from its header
      ['-v', 'error', '-count_packets', '-print_format', 'json', '-show_format', '-show_streams', '--', file],
      // reading the whole file takes its time on slow disks: the limit grows by a second per 25 MB
      { timeoutMs: (options.timeoutMs ?? 60_000) + Math.ceil(info.size / 25_000), ...(options.signal ? { signal: options.signal } : {}) },
    ));
  } catch (err) {
    // A tool that crashes says nothing about the file: report the crash, not a corrupt video.
    if (err instanceof ToolError && err.code === 'E_TOOL' && err.signal) {
      const hint = options.bundled ? `; the bundled ffprobe cannot read this file: install ffmpeg (apt-get install -y ffmpeg)` : '';
      throw new ToolError(`ffprobe crashed (${err.signal}) reading it${hint}`, { command: ffprobe, args: err.args, exitCode: err.exitCode, stderrTail: err.stderrTail, signal: err.signal }, { cause: err, code: 'E_TOOL_CRASH' });
    }
    if (err instanceof ToolError && err.code === 'E_TOOL') {
      const why = err.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? 'unreadable';
      const clean = why.replace(/^.*?:\s*(?=[A-Z])/, '');
      throw new UnsupportedMediaError(`not a readable video: ${clean}`, { cause: err });
    }
    throw err;
  }
  let json: ProbeJson;
  try {
    json = parseExternalJson(stdout.toString('utf8')) as ProbeJson;
  } catch (err) {
    throw new UnsupportedMediaError('ffprobe returned no readable description', { cause: err });
  }
  const meta = toVideoMetadata(json);
  if (!(meta.durationSec > 0) && !meta.frameCount) throw new UnsupportedMediaError('video has no duration (truncated or corrupt)');
  return meta;
}
