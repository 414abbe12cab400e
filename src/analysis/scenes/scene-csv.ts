import type { Scene } from '../../core/index.js';

/** `HH:MM:SS.mmm` for a frame number, as PySceneDetect prints it (rounded to the millisecond). */
export function timecode(frame: number, fps: number): string {
  let secs = frame / fps;
  let hrs = Math.floor(secs / 3600);
  secs -= hrs * 3600;
  let mins = Math.floor(secs / 60);
  secs = Math.max(0, secs - mins * 60);
  secs = Math.round(secs * 1000) / 1000;
  if (secs >= 60) {
    secs = 0;
    mins += 1;
    if (mins >= 60) {
      mins = 0;
      hrs += 1;
    }
  }
  const whole = Math.floor(secs);
  const ms = Math.round((secs - whole) * 1000);
  return `${pad(hrs)}:${pad(mins)}:${pad(whole)}.${String(ms).padStart(3, '0')}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export const SCENE_CSV_HEADER = [
  'Scene Number',
  'Start Frame',
  'Start Timecode',
  'Start Time (seconds)',
  'End Frame',
  'End Timecode',
  'End Time (seconds)',
  'Length (frames)',
  'Length (timecode)',
  'Length (seconds)',
] as const;

/**
 * The scene list in PySceneDetect's `list-scenes` CSV layout: optionally the `Timecode List:` row (the cut
 * timecodes, as PySceneDetect writes first unless `--skip-cuts`), then the header and one row per scene. Start
 * frames are 1-based and end frames inclusive, exactly as there; lines end with `\n`.
 */
export function scenesToCsv(scenes: readonly Scene[], fps: number, options: { includeCutList?: boolean } = {}): string {
  const rows: string[][] = [];
  if (options.includeCutList ?? true) rows.push(['Timecode List:', ...scenes.slice(1).map((s) => timecode(s.startFrame, fps))]);
  rows.push([...SCENE_CSV_HEADER]);
  scenes.forEach((s, i) => {
    const len = s.endFrame - s.startFrame;
    rows.push([
      String(i + 1),
      String(s.startFrame + 1),
      timecode(s.startFrame, fps),
      (s.startFrame / fps).toFixed(3),
      String(s.endFrame),
      timecode(s.endFrame, fps),
      (s.endFrame / fps).toFixed(3),
      String(len),
      timecode(len, fps),
      (len / fps).toFixed(3),
    ]);
  });
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
