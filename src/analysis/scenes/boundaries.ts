import type { FrameSeries } from './frame-analyzer.js';
import type { SceneSettings } from './scene-settings.js';

export type BoundaryKind = 'cut' | 'fade' | 'dissolve';

/** Where a new scene starts, how the change looked and the detector's score there. */
export interface Boundary {
  /** First frame of the new scene. */
  frame: number;
  transition: BoundaryKind;
  score: number;
  /** For gradual transitions: the frames the transition spans [from, to]. */
  span?: [number, number];
}

/**
 * Decides scene boundaries from the per-frame series: content or adaptive cuts (flashes removed), fades through
 * black or white as one boundary each, cross-dissolves; then the minimum scene length. Pure: same series and settings,
 * same boundaries.
 */
export function findBoundaries(series: FrameSeries, settings: SceneSettings, minLen: number): Boundary[] {
  const flashFrames = flashMask(series);
  const candidates: Boundary[] = [];
  const runs = settings.detector === 'threshold' || settings.fades ? fadeRuns(series, settings) : [];
  // A few black frames after which the same picture returns (a dropped or black frame, a blink) are a flash, not
  // a fade through black: one shot was split in two at a single black frame.
  const flashed = (r: { start: number; end: number }) => {
    for (let i = r.start; i <= r.end; i++) if (!flashFrames[i]) return false;
    return true;
  };
  const fades = runs.filter((r) => !r.edge && !flashed(r)).map((r) => r.boundary);
  // Black at the very start or end is no boundary, but its ramps are still a fade: the content spike where the
  // picture leaves or reaches black, and the ramp's blend, must not become a cut or a dissolve of their own.
  const fadeSpans = runs.map((r) => r.boundary);
  if (settings.detector === 'content') candidates.push(...contentCuts(series, settings, flashFrames));
  if (settings.detector === 'adaptive') candidates.push(...adaptiveCuts(series, settings, flashFrames));
  const dissolves = settings.detector !== 'threshold' && settings.dissolves ? findDissolves(series, settings, flashFrames) : [];

  // A fade absorbs every other candidate inside its span: its content spikes near black, its linear ramps.
  const absorbed = (b: Boundary, gradual: Boundary[], margin: number) =>
    gradual.some((g) => g.span && b.frame >= g.span[0] - margin && b.frame <= g.span[1] + margin);
  const cuts = candidates.filter((c) => !absorbed(c, fadeSpans, 2));
  // A dissolve is kept only where no cut explains the change.
  const keptDissolves = dissolves.filter((d) => !absorbed(d, fadeSpans, 2) && !cuts.some((c) => d.span && c.frame >= d.span[0] - series.halfWindow && c.frame <= d.span[1] + series.halfWindow));
  const all = [...cuts, ...fades, ...keptDissolves].sort((a, b) => a.frame - b.frame);
  return applyMinSceneLen(all, minLen, series.frames);
}

/** Frames that belong to a flash (its first frame and the frame that returns from it). */
function flashMask(series: FrameSeries): Uint8Array {
  const mask = new Uint8Array(series.frames);
  for (const f of series.flashes) for (let i = f.start; i <= f.end && i < series.frames; i++) mask[i] = 1;
  return mask;
}

/** PySceneDetect ContentDetector: a cut where content_val >= threshold. */
export function contentCuts(series: FrameSeries, settings: SceneSettings, flash: Uint8Array): Boundary[] {
  const out: Boundary[] = [];
  for (let i = 1; i < series.frames; i++) {
    const s = series.content[i]!;
    if (s >= settings.threshold && !flash[i]) out.push({ frame: i, transition: 'cut', score: round3(s) });
  }
  return out;
}

/** PySceneDetect AdaptiveDetector: content_val over the mean of `windowWidth` neighbours each side. */
export function adaptiveCuts(series: FrameSeries, settings: SceneSettings, flash: Uint8Array): Boundary[] {
  const out: Boundary[] = [];
  const w = settings.windowWidth;
  const c = series.content;
  for (let i = Math.max(1, w); i + w < series.frames; i++) {
    const s = c[i]!;
    if (s < settings.minContentVal || flash[i]) continue;
    let sum = 0;
    for (let k = 1; k <= w; k++) sum += c[i - k]! + c[i + k]!;
    const mean = sum / (2 * w);
    const ratio = mean < 1e-5 ? 255 : Math.min(s / mean, 255);
    if (ratio >= settings.adaptiveThreshold) out.push({ frame: i, transition: 'cut', score: round3(s) });
  }
  return out;
}

/**
 * Fades through black or white: a run of frames darker than fadeThreshold (or brighter than 255 - fadeThreshold)
 * between two pictures is one boundary, at the middle of the run (PySceneDetect's ThresholdDetector with fade_bias
 * 0, its FLOOR and CEILING methods). The span reaches out over the ramps on each side. Runs touching the first or
 * last frame are not boundaries (a fade in from or out to black or white), though findBoundaries still lets their
 * spans absorb other candidates.
 */
export function findFades(series: FrameSeries, settings: SceneSettings): Boundary[] {
  return fadeRuns(series, settings)
    .filter((r) => !r.edge)
    .map((r) => r.boundary);
}

interface FlatRun {
  boundary: Boundary;
  edge: boolean;
  start: number;
  end: number;
}

/** Every run of black frames, and of white frames reached or left by a fade, as a fade with its span. */
function fadeRuns(series: FrameSeries, settings: SceneSettings): FlatRun[] {
  const low = settings.fadeThreshold;
  const high = 255 - settings.fadeThreshold;
  const runs = [...flatRuns(series, (v) => v < low, 1), ...flatRuns(series, (v) => v > high, -1, true)];
  return runs.sort((a, b) => a.start - b.start);
}

/**
 * Runs of frames whose intensity passes `flat`, with the ramps around them: frames getting steadily darker
 * (`sign` 1) or brighter (-1) before the run and back after it; a flat picture ends them. With `gradual`, only runs
 * a ramp reaches or leaves are kept: that the picture turned white by degrees is what tells a fade to white from a
 * cut to a bright picture (snow, a white page) or a white flash; a fade through black needs no such test, as whole
 * frames under the black level are rarely anything else.
 */
function flatRuns(series: FrameSeries, flat: (v: number) => boolean, sign: 1 | -1, gradual = false): FlatRun[] {
  const out: FlatRun[] = [];
  const y = series.intensity;
  const n = series.frames;
  // how much further towards the run's level frame b is than frame a (darker for black, brighter for white)
  const toward = (a: number, b: number) => sign * (y[a]! - y[b]!);
  let i = 0;
  while (i < n) {
    if (!flat(y[i]!)) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && flat(y[i]!)) i++;
    const end = i - 1;
    const maxRamp = 120;
    let from = start;
    while (from > 0 && toward(from - 1, from) > RAMP_STEP && start - from < maxRamp) from--;
    let to = end;
    while (to < n - 1 && toward(to + 1, to) > RAMP_STEP && to - end < maxRamp) to++;
    // a ramp is a fade when the frame next to the run is at least halfway there from the picture it left (a cut
    // leaves that frame at the picture's level, whatever noise extended the ramp before it)
    const faded = (rampEnd: number, edgeFrame: number, runFrame: number) =>
      Math.abs(runFrame - rampEnd) >= 2 && toward(rampEnd, edgeFrame) >= 0.5 * toward(rampEnd, runFrame);
    if (gradual && !faded(from, start - 1, start) && !faded(to, end + 1, end)) continue;
    const before = y[from]!;
    const after = y[to]!;
    let extreme = sign > 0 ? 255 : 0;
    for (let k = start; k <= end; k++) extreme = sign > 0 ? Math.min(extreme, y[k]!) : Math.max(extreme, y[k]!);
    const score = sign > 0 ? Math.max(before, after) - extreme : extreme - Math.min(before, after);
    out.push({
      boundary: { frame: Math.floor((start + end + 1) / 2), transition: 'fade', score: round3(score), span: [from, to] },
      edge: start === 0 || end === n - 1,
      start,
      end,
    });
  }
  return out;
}

/**
 * Cross-dissolves: windows of 2k frames whose middle frame is the blend of its ends (residual small against the
 * change across the window) while the change is large. Motion fails the blend test (the middle frame is a
 * shifted picture, not a double exposure), a cut fails it (the middle equals one end), fades are left to
 * findFades (an end is black). Consecutive qualifying centres form one dissolve, its boundary their middle.
 */
export function findDissolves(series: FrameSeries, settings: SceneSettings, flash: Uint8Array): Boundary[] {
  const k = series.halfWindow;
  if (k <= 0) return [];
  const out: Boundary[] = [];
  const n = series.frames;
  const d = series.blendDistance;
  const r = series.blendResidual;
  const y = series.intensity;
  const ok = (c: number) => {
    if (c - k < 0 || c + k >= n) return false;
    const dist = d[c]!;
    const res = r[c]!;
    if (!(dist >= settings.dissolveThreshold) || !(res <= MAX_BLEND_RATIO * dist)) return false;
    if (y[c - k]! < settings.fadeThreshold || y[c + k]! < settings.fadeThreshold) return false;
    for (let i = c - k + 1; i <= c + k; i++) if (flash[i] || series.content[i]! >= settings.threshold) return false;
    return true;
  };
  let c = 0;
  while (c < n) {
    if (!ok(c)) {
      c++;
      continue;
    }
    const first = c;
    let last = c;
    let best = d[c]!;
    let tightest = r[c]! / d[c]!;
    let gap = 0;
    for (c = c + 1; c < n && gap <= 2; c++) {
      if (ok(c)) {
        last = c;
        gap = 0;
        best = Math.max(best, d[c]!);
        tightest = Math.min(tightest, r[c]! / d[c]!);
      } else gap++;
    }
    c = last + 1;
    // Smooth pictures in motion blend almost linearly for a moment; a dissolve gets much closer somewhere.
    if (tightest > STRONG_BLEND_RATIO) continue;
    out.push({
      frame: Math.round((first + last) / 2),
      transition: 'dissolve',
      score: round3(best),
      span: [Math.max(0, first - k), Math.min(n - 1, last + k)],
    });
  }
  return out;
}

/** Least change of mean intensity a frame of a fade ramp shows. */
const RAMP_STEP = 0.05;

/** The middle frame of a dissolve window may stray from the blend of its ends by at most this share of their distance. */
export const MAX_BLEND_RATIO = 0.3;
/** ...and somewhere in a dissolve it must come this close (pans over smooth gradients reached 0.29; dissolves between still pictures 0.12-0.16, into a fast pan 0.22). */
export const STRONG_BLEND_RATIO = 0.24;

/**
 * Drops boundaries closer than `minLen` frames to the previous kept one (or to the first frame), and the last one
 * when the scene it starts is shorter than that (it joins the scene before).
 */
export function applyMinSceneLen(boundaries: Boundary[], minLen: number, frames: number): Boundary[] {
  const out: Boundary[] = [];
  let last = 0;
  for (const b of boundaries) {
    if (b.frame <= 0 || b.frame >= frames) continue;
    if (b.frame - last < minLen) continue;
    out.push(b);
    last = b.frame;
  }
  // PySceneDetect keeps a last scene of any length: a flash or a glitch on the final frame became a one-frame
  // scene, with a keyframe of it and a caption, and a video shorter than a second could get two scenes.
  if (out.length > 0 && frames - out.at(-1)!.frame < minLen) out.pop();
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
