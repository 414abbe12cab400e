import type { Scene } from '../../core/index.js';
import { findBoundaries, type Boundary } from './boundaries.js';
import { FrameAnalyzer, type FrameSeries } from './frame-analyzer.js';
import { readFrames, scaledSize, type StreamShape } from './frame-reader.js';
import { minSceneFrames, type SceneSettings } from './scene-settings.js';

export interface DetectScenesOptions {
  ffmpeg: string;
  file: string;
  shape: StreamShape;
  settings: SceneSettings;
  signal?: AbortSignal;
  /** 0..1 as frames stream in. */
  progress?: (fraction: number) => void;
  /** Decoder threads (0 = ffmpeg decides). */
  threads?: number;
}

export interface SceneDetection {
  scenes: Scene[];
  boundaries: Boundary[];
  /** Frames decoded and scored. */
  frames: number;
  fps: number;
  /** Size of the scored frames. */
  width: number;
  height: number;
  /** Wall time of the detection in ms. */
  ms: number;
  ffmpegPeakRss?: number;
  /** Kept only when asked (statistics files, tuning). */
  series?: FrameSeries;
}

/**
 * Detects the scenes of one video: ffmpeg decodes and scales down, Node scores every frame as it streams in,
 * then the boundaries are decided on the per-frame series. Memory stays flat in the video's length apart from a
 * few bytes of series a frame.
 */
export async function detectScenes(options: DetectScenesOptions & { keepSeries?: boolean }): Promise<SceneDetection> {
  const started = performance.now();
  const { settings, shape } = options;
  const fps = shape.fps > 0 ? shape.fps : 25;
  const { width, height } = scaledSize(shape, settings.longSide);
  const frameBytes = width * height * 3;
  const halfWindow = settings.detector !== 'threshold' && settings.dissolves ? Math.max(2, Math.round((fps * settings.dissolveWindowSec) / 2)) : 0;
  const cutLevel = settings.detector === 'adaptive' ? settings.minContentVal : settings.threshold;
  const analyzer = new FrameAnalyzer({
    frameBytes,
    flashTrigger: cutLevel,
    flashReturn: cutLevel,
    flashFrames: settings.detector === 'threshold' ? 0 : settings.flashFrames,
    halfWindow,
  });
  const expected = shape.frameCount && shape.frameCount > 0 ? shape.frameCount : Math.max(1, Math.round(shape.durationSec * fps));
  let lastReport = 0;
  const read = await readFrames(
    {
      ffmpeg: options.ffmpeg,
      file: options.file,
      shape,
      longSide: settings.longSide,
      skipLoopFilter: settings.skipLoopFilter,
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    (rgb, index) => {
      analyzer.push(rgb);
      if (options.progress && index - lastReport >= 250) {
        lastReport = index;
        options.progress(Math.min(0.99, index / expected));
      }
    },
  );
  const series = analyzer.finish();
  const minLen = minSceneFrames(settings.minSceneLen, fps);
  const boundaries = findBoundaries(series, settings, minLen);
  const scenes = scenesFromBoundaries(boundaries, series.frames, fps);
  options.progress?.(1);
  return {
    scenes,
    boundaries,
    frames: series.frames,
    fps,
    width: read.width,
    height: read.height,
    ms: Math.round(performance.now() - started),
    ...(read.ffmpegPeakRss !== undefined ? { ffmpegPeakRss: read.ffmpegPeakRss } : {}),
    ...(options.keepSeries ? { series } : {}),
  };
}

/** Scenes between consecutive boundaries; one scene spanning the video when there is none. */
export function scenesFromBoundaries(boundaries: readonly Boundary[], frames: number, fps: number): Scene[] {
  const starts: Array<{ frame: number; transition: Scene['transition']; score: number }> = [{ frame: 0, transition: 'start', score: 0 }];
  for (const b of boundaries) if (b.frame > starts.at(-1)!.frame && b.frame < frames) starts.push(b);
  return starts.map((s, index) => {
    const endFrame = index + 1 < starts.length ? starts[index + 1]!.frame : frames;
    return {
      index,
      startFrame: s.frame,
      endFrame,
      startSec: round6(s.frame / fps),
      endSec: round6(endFrame / fps),
      transition: s.transition,
      score: s.score,
    };
  });
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
