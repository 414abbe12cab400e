import path from 'node:path';
import { extractKeyframes, seeksInexactly, shapeFromMetadata, writeContactSheet } from '../../analysis/index.js';
import type { Config, Video } from '../../core/index.js';
import { hashInputs } from '../pipeline-runner.js';
import type { Stage } from '../stage.js';
import { scenesOff } from './scenes-stage.js';

/** The folder of a video's keyframes and contact sheet: [Paths] KeyframesDir/<videoId>. */
export function keyframeDir(video: Pick<Video, 'id'>, config: Config): string {
  return path.join(config.Paths.KeyframesDir, video.id);
}

/** Scene boundaries (not the keyframe paths this stage writes) and every keyframe setting. */
export function keyframesInputHash(video: Video, config: Config): string {
  const s = config.SceneDetection;
  return hashInputs(
    video.file.sha256,
    video.metadata?.fps ?? null,
    video.scenes.map((x) => [x.startFrame, x.endFrame]),
    keyframeDir(video, config),
    { position: s.KeyframePosition, width: s.KeyframeWidth, quality: s.KeyframeQuality, sheet: s.ContactSheet, columns: s.ContactSheetColumns },
    // MPEG-TS/PS keyframes were taken from the wrong scene before they were seeked from key frames: redo those
    // only (an element added for every video would redo every library's keyframes)
    ...(seeksInexactly(video.metadata?.container) ? ['seek-from-key-frame'] : []),
    // keyframes of a video starting after its file were taken that much early (from the scene before): redo those
    ...(video.metadata?.videoStartSec ? [{ videoStartSec: video.metadata.videoStartSec }] : []),
    // ...and those of non-square pixels, which came out squeezed
    ...(video.metadata?.sampleAspectRatio ? [{ sar: video.metadata.sampleAspectRatio }] : []),
    // ...and those whose first video stream is a cover picture (they showed the cover)
    ...(video.metadata?.videoStreamIndex !== undefined ? [{ stream: video.metadata.videoStreamIndex }] : []),
  );
}

/** One JPEG per scene (seek-accurate) and a contact sheet; their paths go on the record. */
export const keyframesStage: Stage = {
  name: 'keyframes',
  version: '1',
  needs: ['scenes'],
  resource: 'cpu',
  inputHash: keyframesInputHash,
  // Records damaged by an older scenes re-run that dropped keyframe paths with unchanged boundaries get them back.
  outputMissing: (video, config) =>
    video.scenes.some((s) => !s.keyframe) || (config.SceneDetection.ContactSheet && video.scenes.length > 0 && !video.contactSheet),
  skipReason: (video, config) => scenesOff(config) ?? (video.scenes.length === 0 ? 'no scenes' : null),
  settingsSkipReason: (config) => scenesOff(config),
  async plan(video, ctx) {
    return `${video.scenes.length} keyframes to ${keyframeDir(video, ctx.config)}`;
  },
  async run(video, ctx) {
    const s = ctx.config.SceneDetection;
    const dir = keyframeDir(video, ctx.config);
    // frames scene detection read resampled are picked the same way by a one-pass extraction
    const shape = video.metadata ? shapeFromMetadata(video.metadata) : null;
    const paths = await extractKeyframes({
      ffmpeg: ctx.tools.ffmpeg.path,
      file: video.file.path,
      scenes: video.scenes,
      fps: video.metadata?.fps ?? 25,
      outDir: dir,
      position: s.KeyframePosition,
      width: s.KeyframeWidth,
      quality: s.KeyframeQuality,
      interlaced: video.metadata?.interlaced ?? false,
      ...(video.metadata?.videoStartSec ? { videoStartSec: video.metadata.videoStartSec } : {}),
      ...(video.metadata?.videoStreamIndex !== undefined ? { streamIndex: video.metadata.videoStreamIndex } : {}),
      ...(shape?.variableFrameRate ? { resampleFps: shape.fps } : {}),
      ...(video.metadata?.container ? { container: video.metadata.container } : {}),
      ffprobe: ctx.tools.ffprobe.path,
      signal: ctx.signal,
      progress: (f) => ctx.progress(s.ContactSheet ? f * 0.9 : f),
    });
    const scenes = video.scenes.map((scene, i) => ({ ...scene, keyframe: paths[i]! }));
    if (!s.ContactSheet) return { scenes };
    const contactSheet = await writeContactSheet({
      ffmpeg: ctx.tools.ffmpeg.path,
      dir,
      count: scenes.length,
      columns: s.ContactSheetColumns,
      cellWidth: Math.min(s.KeyframeWidth, 320),
      quality: s.KeyframeQuality,
      signal: ctx.signal,
    });
    return { scenes, contactSheet };
  },
};
