import { detectScenes, sceneSettingsFrom, shapeFromMetadata, untoldRate } from '../../analysis/index.js';
import type { Config, Video } from '../../core/index.js';
import { hashInputs } from '../pipeline-runner.js';
import type { Stage } from '../stage.js';

/** Everything the scene list depends on: the content, the stream shape and every [SceneDetection] detection setting. */
export function scenesInputHash(video: Video, config: Config): string {
  const m = video.metadata;
  return hashInputs(
    video.file.sha256,
    m ? { w: m.width, h: m.height, fps: m.fps, frames: m.frameCount ?? null, vfr: m.variableFrameRate ?? false, rot: m.rotation } : null,
    sceneSettingsFrom(config),
    // Matroska/WebM frames were read at their stored times before they were resampled: redo those scene lists only
    ...(untoldRate(m?.container) ? ['resampled'] : []),
    // ...and those of a video starting after its file began with copies of its first frame up to that start
    ...(untoldRate(m?.container) && m?.videoStartSec ? ['no-lead-in'] : []),
    // the stream decoded, when it is not the first video stream (a cover picture was decoded instead)
    ...(m?.videoStreamIndex !== undefined ? [{ stream: m.videoStreamIndex }] : []),
  );
}

/** Scene detection → `scenes` (without keyframes). Cached by content hash and settings. */
/** Why the scenes and keyframes stages skip every video: scene detection switched off. */
export const scenesOff = (config: Config): string | null => (config.SceneDetection.Enabled ? null : '[SceneDetection] Enabled = false');

export const scenesStage: Stage = {
  name: 'scenes',
  version: '1',
  needs: ['probe'],
  resource: 'cpu',
  cacheable: true,
  inputHash: scenesInputHash,
  skipReason: (_video, config) => scenesOff(config),
  settingsSkipReason: (config) => scenesOff(config),
  async plan(video, ctx) {
    const s = sceneSettingsFrom(ctx.config);
    const frames = video.metadata?.frameCount ?? Math.round((video.metadata?.durationSec ?? 0) * (video.metadata?.fps ?? 0));
    return `${s.detector} detector, threshold ${s.detector === 'adaptive' ? s.adaptiveThreshold : s.threshold}, ~${frames} frames`;
  },
  async run(video, ctx) {
    const shape = shapeFromMetadata(video.metadata);
    const result = await detectScenes({
      ffmpeg: ctx.tools.ffmpeg.path,
      file: video.file.path,
      shape,
      settings: sceneSettingsFrom(ctx.config),
      signal: ctx.signal,
      progress: (f) => ctx.progress(f),
    });
    ctx.logger.debug({ video: video.id, scenes: result.scenes.length, frames: result.frames, ms: result.ms }, 'scenes detected');
    return { scenes: result.scenes };
  },
};
