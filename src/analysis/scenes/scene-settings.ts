import type { Config } from '../../core/index.js';

export type DetectorKind = 'content' | 'adaptive' | 'threshold';

/** Every setting scene detection reads; the scenes stage hashes all of them. */
export interface SceneSettings {
  detector: DetectorKind;
  /** content: cut when content_val >= threshold (PySceneDetect scale, 0-255). */
  threshold: number;
  /** Frames ("15") or seconds ("0.6s", "00:00:00.600"). */
  minSceneLen: string;
  /** adaptive: ratio of a frame's score to the mean of its neighbours. */
  adaptiveThreshold: number;
  /** adaptive: the smallest content_val that can be a cut. */
  minContentVal: number;
  /** adaptive: neighbours each side. */
  windowWidth: number;
  /** Mean intensity under which a frame is black, and over 255 minus which it is white (0-255). */
  fadeThreshold: number;
  /** Find fades through black as one boundary (always on for the threshold detector). */
  fades: boolean;
  /** Find cross-dissolves (content and adaptive). */
  dissolves: boolean;
  /** Mean RGB change across a dissolve window that can make a dissolve (0-255). */
  dissolveThreshold: number;
  /** Length of the dissolve test window in seconds. */
  dissolveWindowSec: number;
  /** Longest burst (frames) that returns to the picture before it and so is a flash, not cuts. 0 = off. */
  flashFrames: number;
  /** Long side of the scored frames in pixels. */
  longSide: number;
  /** Decode without the H.264/HEVC deblocking filter (faster; scores barely move). */
  skipLoopFilter: boolean;
}

export const DEFAULT_SCENE_SETTINGS: SceneSettings = {
  detector: 'content',
  threshold: 27,
  minSceneLen: '15',
  adaptiveThreshold: 3,
  minContentVal: 15,
  windowWidth: 2,
  fadeThreshold: 12,
  fades: true,
  dissolves: true,
  dissolveThreshold: 20,
  dissolveWindowSec: 0.5,
  flashFrames: 3,
  longSide: 128,
  skipLoopFilter: true,
};

/** The scene settings of a config ([SceneDetection]). */
export function sceneSettingsFrom(config: Config): SceneSettings {
  const s = config.SceneDetection;
  return {
    detector: s.Detector,
    threshold: s.Threshold,
    minSceneLen: s.MinSceneLen,
    adaptiveThreshold: s.AdaptiveThreshold,
    minContentVal: s.MinContentVal,
    windowWidth: s.AdaptiveWindow,
    fadeThreshold: s.FadeThreshold,
    fades: s.DetectFades,
    dissolves: s.DetectDissolves,
    dissolveThreshold: s.DissolveThreshold,
    dissolveWindowSec: s.DissolveWindow,
    flashFrames: s.FlashFrames,
    longSide: s.DownscaleWidth,
    skipLoopFilter: s.SkipLoopFilter,
  };
}

/**
 * MinSceneLen in frames: an integer is frames; "0.6s", "0.6" with a dot, or "HH:MM:SS.mmm" are seconds,
 * converted at the video's frame rate. Throws on anything else.
 */
export function minSceneFrames(value: string, fps: number): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  let seconds: number | null = null;
  const sec = /^(\d+(?:\.\d+)?)\s*s?$/i.exec(v);
  if (sec) seconds = Number(sec[1]);
  const tc = /^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(v);
  if (tc) seconds = Number(tc[1]) * 3600 + Number(tc[2]) * 60 + Number(tc[3]);
  if (seconds === null || !Number.isFinite(seconds)) {
    throw new Error(`MinSceneLen "${value}" is not frames ("15"), seconds ("0.6s") or a timecode ("00:00:00.600")`);
  }
  return Math.max(0, Math.round(seconds * (fps > 0 ? fps : 25)));
}
