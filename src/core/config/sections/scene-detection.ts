import { z } from 'zod';
import { bool, int, num, oneOf, type ConfigKey } from '../config-key.js';

/** Frames ("15"), seconds ("0.6s", "0.6") or a timecode ("00:00:00.600"); checked when the config loads. */
function sceneLength(def: string, doc: string): ConfigKey<string> {
  const allowed = 'frames ("15"), seconds ("0.6s") or a timecode ("00:00:00.600")';
  const schema = z.preprocess(
    (v) => (typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : v),
    z.string({ error: allowed }).regex(/^(\d+|\d+(\.\d+)?\s*s?|\d+:\d{1,2}:\d{1,2}(\.\d+)?)$/i, { error: allowed }),
  );
  return { schema: schema as z.ZodType<string>, default: def, doc, allowed };
}

export const SceneDetection = {
  Enabled: bool(true, 'Run the scenes and keyframes stages.'),
  Detector: oneOf(['content', 'adaptive', 'threshold'] as const, 'content', 'content (HSV difference), adaptive (content over a rolling window) or threshold (fades by intensity only).'),
  Threshold: num(27, { min: 0, max: 255 }, 'content: cut threshold on the PySceneDetect content scale (0-255); lower finds more cuts.'),
  MinSceneLen: sceneLength('15', 'Shortest scene: frames ("15") or seconds ("0.6s", "00:00:00.600").'),
  AdaptiveThreshold: num(3, { min: 0, max: 100 }, 'adaptive: ratio of a frame score to its neighbours that makes a cut.'),
  MinContentVal: num(15, { min: 0, max: 255 }, 'adaptive: smallest content score that can be a cut.'),
  AdaptiveWindow: int(2, { min: 1, max: 30 }, 'adaptive: frames each side averaged as the neighbourhood.'),
  FadeThreshold: num(12, { min: 0, max: 255 }, 'Mean intensity under which a frame counts as black, and over 255 minus which it counts as white (fades).'),
  DetectFades: bool(true, 'content/adaptive: also find fades through black or white, each as one boundary (transition "fade").'),
  DetectDissolves: bool(true, 'content/adaptive: also find cross-dissolves (transition "dissolve").'),
  DissolveThreshold: num(20, { min: 1, max: 255 }, 'Mean RGB change (0-255) across a dissolve window that can make a dissolve; lower finds subtler ones.'),
  DissolveWindow: num(0.5, { min: 0.1, max: 5 }, 'Length in seconds of the window the dissolve test compares.'),
  FlashFrames: int(3, { min: 0, max: 30 }, 'A burst of at most this many frames that returns to the picture before it is a flash, not a cut (0 = off).'),
  DownscaleWidth: int(128, { min: 32, max: 4096 }, 'Frames are scaled inside ffmpeg so their long side is at most this many pixels before scoring.'),
  SkipLoopFilter: bool(true, 'Decode without the H.264/HEVC deblocking filter while detecting (faster, scores barely change).'),
  KeyframePosition: oneOf(['middle', 'start', 'end'] as const, 'middle', 'Which frame of a scene becomes its keyframe.'),
  KeyframeWidth: int(480, { min: 32, max: 4096 }, 'Keyframe JPEG width in pixels (height keeps the aspect ratio); a narrower video keeps its own width, never enlarged.'),
  KeyframeQuality: int(3, { min: 1, max: 31 }, 'Keyframe JPEG quality (ffmpeg -q:v, 1 best).'),
  ContactSheet: bool(true, 'Write a contact sheet (all keyframes in a grid) per video.'),
  ContactSheetColumns: int(4, { min: 1, max: 32 }, 'Columns of the contact sheet.'),
} as const;
