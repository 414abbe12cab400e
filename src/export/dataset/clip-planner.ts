import { seeksInexactly, untoldRate } from '../../analysis/index.js';
import { displayName, type Video } from '../../core/index.js';
import { labelsOf, youtubeIdOf } from './clip-labels.js';
import type { DatasetOptions, PlannedClip } from './dataset-types.js';

export type PlanResult = { clips: PlannedClip[]; reason: null } | { clips: []; reason: string };

const EPS = 1e-6;

function pad(n: number, width: number): string {
  return String(Math.max(0, Math.round(n))).padStart(width, '0');
}

export function clipId(videoId: string, startSec: number, endSec: number): string {
  return `${videoId}_${pad(startSec * 1000, 8)}_${pad(endSec * 1000, 8)}`;
}

/** Evenly spread picks of `k` out of `items` (all of them when k is 0 or large enough). */
export function spread<T>(items: readonly T[], k: number): T[] {
  if (k <= 0 || items.length <= k) return [...items];
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(items[Math.floor(((i + 0.5) * items.length) / k)]!);
  return out;
}

/**
 * How a labelled list row's time range applies to a record's file.
 * - The file is already the row's cut (`source.list.trim` set: acquisition cut `[start, end)` out of the
 *   downloaded video): the whole file is the labelled segment, and the file starts `start` seconds into the
 *   source (`offsetSec`). Applying start/end to it again would cut the cut.
 * - Otherwise (no list, no start/end, or a full-length file whose row was never cut): `start`/`end` limit the
 *   clips to that range of the file, which is the source itself (`offsetSec` 0).
 */
export function listRange(video: Video): { cut: boolean; start?: number; end?: number; offsetSec: number } {
  const list = video.source.list;
  if (!list) return { cut: false, offsetSec: 0 };
  if (list.trim !== undefined) return { cut: true, offsetSec: Math.max(0, list.start ?? 0) };
  return { cut: false, ...(list.start !== undefined ? { start: list.start } : {}), ...(list.end !== undefined ? { end: list.end } : {}), offsetSec: 0 };
}

/**
 * The clips of one video: one per scene (long scenes cut into equal parts no longer than the max, short ones
 * skipped) or fixed windows; limited to the list's start/end when the video came from a labelled list row and
 * its file was not already cut to that row (see `listRange`); boundaries on the record's file's frames, so
 * `startSec`/`endSec` are seconds into that file. Returns a reason instead when the video gives no clip.
 */
export function planClips(video: Video, options: Pick<DatasetOptions, 'labels' | 'clip' | 'minClipSec' | 'maxClipSec' | 'maxClipsPerVideo'>): PlanResult {
  const name = displayName(video);
  const meta = video.metadata;
  if (!meta || !(meta.fps > 0) || !(meta.durationSec > 0)) {
    // a file ffprobe could not read was processed already: "run videodex process first" sent people in a circle
    const probe = video.stages.probe;
    if (probe?.status === 'failed') return { clips: [], reason: `${name}: its probe failed (${probe.error ?? 'no reason recorded'}), so it gives no clip` };
    return { clips: [], reason: `${name}: not probed (no duration or frame rate); run videodex process first` };
  }
  const labels = labelsOf(video, options.labels);
  if (labels.length === 0) return { clips: [], reason: `${name}: no label from ${describeLabelSource(options.labels)}` };
  const fps = meta.fps;
  const totalFrames = meta.frameCount && meta.frameCount > 0 ? meta.frameCount : Math.floor(meta.durationSec * fps + EPS);
  const range = listRange(video);
  const regionStart = range.start !== undefined ? Math.max(0, Math.round(range.start * fps)) : 0;
  const regionEnd = range.end !== undefined ? Math.min(totalFrames, Math.round(range.end * fps)) : totalFrames;
  if (regionEnd <= regionStart) return { clips: [], reason: `${name}: the list's time range ${range.start ?? 0}-${range.end ?? 'end'} s is outside the video (${meta.durationSec.toFixed(2)} s)` };

  const ranges: Array<{ s: number; e: number; scene: number | null; description: string | null }> = [];
  if (options.clip.kind === 'scene') {
    if (video.scenes.length === 0) return { clips: [], reason: `${name}: no scenes (run scene detection first, or use --clip window:5s)` };
    const minF = Math.max(1, Math.ceil(options.minClipSec * fps - EPS));
    const maxF = Math.max(1, Math.floor(options.maxClipSec * fps + EPS));
    for (const scene of video.scenes) {
      const s = Math.max(scene.startFrame, regionStart);
      const e = Math.min(scene.endFrame, regionEnd);
      const len = e - s;
      if (len < minF) continue;
      const parts = Math.ceil(len / maxF);
      for (let i = 0; i < parts; i++) {
        const ps = s + Math.round((i * len) / parts);
        const pe = s + Math.round(((i + 1) * len) / parts);
        if (pe - ps >= minF) ranges.push({ s: ps, e: pe, scene: scene.index, description: scene.description ?? null });
      }
    }
    if (ranges.length === 0) {
      return { clips: [], reason: `${name}: no scene is at least ${options.minClipSec} s long (${video.scenes.length} scenes)` };
    }
  } else {
    const winF = Math.max(1, Math.round(options.clip.seconds * fps));
    // Window k starts on the frame nearest k strides in (at least a frame apart): rounding the stride once and
    // adding it up would carry its rounding error into every later window (0.5 s at 25 fps: 13 frames, 520 ms).
    const strideF = Math.max(1, options.clip.strideSec * fps);
    for (let k = 0; ; k++) {
      const s = regionStart + Math.round(k * strideF);
      if (s + winF > regionEnd) break;
      ranges.push({ s, e: s + winF, scene: null, description: null });
    }
    if (ranges.length === 0) {
      const len = (regionEnd - regionStart) / fps;
      return { clips: [], reason: `${name}: the clip window (${options.clip.seconds} s) is longer than the video (${len.toFixed(2)} s)` };
    }
  }

  const sourceUrl = video.source.url;
  const youtubeId = youtubeIdOf(video.source.pageUrl ?? sourceUrl) ?? youtubeIdOf(sourceUrl);
  const clips = spread(ranges, options.maxClipsPerVideo).map((r): PlannedClip => {
    const startSec = r.s / fps;
    const endSec = r.e / fps;
    return {
      id: clipId(video.id, startSec, endSec),
      videoId: video.id,
      sourcePath: video.file.path,
      sourceUrl,
      youtubeId,
      label: labels[0]!,
      labels,
      startSec,
      endSec,
      sourceOffsetSec: range.offsetSec,
      startFrame: r.s,
      endFrame: r.e,
      sourceFps: fps,
      ...(meta.videoStartSec ? { videoStartSec: meta.videoStartSec } : {}),
      ...(meta.videoStreamIndex !== undefined ? { streamIndex: meta.videoStreamIndex } : {}),
      ...(seeksInexactly(meta.container) ? { inexactSeek: true } : {}),
      ...(meta.variableFrameRate || untoldRate(meta.container) ? { variableRate: true as const } : {}),
      ...(copiesExactly(meta.container) ? {} : { streamCopy: false as const }),
      scene: r.scene,
      description: r.description,
    };
  });
  return { clips, reason: null };
}

/** Whether a stream copy from ffmpeg's input seek starts exactly on the asked key frame: MP4/MOV (a full sample index). */
export function copiesExactly(container: string | undefined): boolean {
  const names = (container ?? '').split(',').map((n) => n.trim());
  return (names.includes('mov') || names.includes('mp4')) && !seeksInexactly(container);
}

export function describeLabelSource(source: DatasetOptions['labels']): string {
  return source.kind === 'tag' ? `tags starting with ${JSON.stringify(source.prefix)}` : source.kind === 'list' ? 'the labelled list' : `${source.kind}`;
}
