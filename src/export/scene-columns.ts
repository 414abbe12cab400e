import type { Scene, Video } from '../core/index.js';

/** `HH:MM:SS.mmm`, as PySceneDetect writes timecodes. */
export function timecode(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

const sec = (n: number) => n.toFixed(3);

/**
 * Columns of `--format scenes-csv`: PySceneDetect's `list-scenes` columns, in its order and conventions (scene
 * numbers from 1; Start Frame 1-based; End Frame the last frame, 1-based; times with 3 decimals), then videodex's.
 */
export const SCENE_COLUMNS: ReadonlyArray<{ name: string; doc: string; get: (s: Scene, v: Video) => string | number }> = [
  { name: 'Scene Number', doc: 'scene number, from 1', get: (s) => s.index + 1 },
  { name: 'Start Frame', doc: 'first frame, 1-based', get: (s) => s.startFrame + 1 },
  { name: 'Start Timecode', doc: 'start, HH:MM:SS.mmm', get: (s) => timecode(s.startSec) },
  { name: 'Start Time (seconds)', doc: 'start in seconds', get: (s) => sec(s.startSec) },
  { name: 'End Frame', doc: 'last frame, 1-based', get: (s) => s.endFrame },
  { name: 'End Timecode', doc: 'end, HH:MM:SS.mmm', get: (s) => timecode(s.endSec) },
  { name: 'End Time (seconds)', doc: 'end in seconds', get: (s) => sec(s.endSec) },
  { name: 'Length (frames)', doc: 'frames in the scene', get: (s) => s.endFrame - s.startFrame },
  { name: 'Length (timecode)', doc: 'length, HH:MM:SS.mmm', get: (s) => timecode(s.endSec - s.startSec) },
  { name: 'Length (seconds)', doc: 'length in seconds', get: (s) => sec(s.endSec - s.startSec) },
  { name: 'Video ID', doc: 'videodex video id', get: (_s, v) => v.id },
  { name: 'Video Path', doc: 'file path of the video', get: (_s, v) => v.file.path },
  { name: 'Keyframe', doc: 'keyframe image path, empty when none', get: (s) => s.keyframe ?? '' },
  { name: 'Transition', doc: 'start, cut, fade or dissolve', get: (s) => s.transition },
  { name: 'Description', doc: "the scene's description, empty when none", get: (s) => s.description ?? '' },
  // the times above count from the video's first frame, as PySceneDetect's do; a player or `ffmpeg -ss` seeks the
  // file, where a video after audio or an empty edit starts metadata.videoStartSec in
  { name: 'File Start Time (seconds)', doc: "start in seconds into the file (Start Time plus the video's metadata.videoStartSec)", get: (s, v) => sec(s.startSec + (v.metadata?.videoStartSec ?? 0)) },
  { name: 'File End Time (seconds)', doc: 'end in seconds into the file', get: (s, v) => sec(s.endSec + (v.metadata?.videoStartSec ?? 0)) },
];
