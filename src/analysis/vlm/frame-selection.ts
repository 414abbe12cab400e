import type { Scene } from '../../core/index.js';

/** A frame chosen to send: a scene's keyframe file, or a moment to extract from the video. */
export interface FramePick {
  timeSec: number;
  /** The scene it stands for, when it came from one. */
  sceneIndex?: number;
  /** The keyframe JPEG, when the scene has one. */
  keyframe?: string;
}

export interface FrameSelection {
  picks: FramePick[];
  /** 'scenes' when keyframes of scenes were used, 'even' when the record had no scenes. */
  from: 'scenes' | 'even';
  /** Scenes on the record. */
  sceneCount: number;
}

/** The indexes of `k` of `n` items spread evenly (the middle of each of k equal parts). */
export function thinEvenly(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  if (k <= 0) return [];
  return Array.from({ length: k }, (_, i) => Math.min(n - 1, Math.floor(((i + 0.5) * n) / k)));
}

/** `count` moments spread evenly over a video: the middle of each of `count` equal parts. */
export function evenTimes(durationSec: number, count: number): number[] {
  if (count <= 0 || !(durationSec > 0)) return count > 0 ? [0] : [];
  return Array.from({ length: count }, (_, i) => round3(((i + 0.5) * durationSec) / count));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function sceneTime(scene: Pick<Scene, 'startSec' | 'endSec'>): number {
  return round3((scene.startSec + scene.endSec) / 2);
}

/**
 * Frames for one video. With scenes: one keyframe per scene, thinned evenly to `maxFrames`, so every scene
 * contributes while the budget allows; when there are fewer than `minFrames` scenes, evenly spaced frames
 * are added where the video is least covered. Without scenes: `maxFrames` evenly spaced frames (at most one
 * per second of video, at least one). Picks come back in time order.
 */
export function selectFrames(
  durationSec: number,
  scenes: readonly Pick<Scene, 'index' | 'startSec' | 'endSec' | 'keyframe'>[],
  budget: { maxFrames: number; minFrames: number },
): FrameSelection {
  const maxFrames = Math.max(1, budget.maxFrames);
  const minFrames = Math.min(Math.max(1, budget.minFrames), maxFrames);
  if (scenes.length === 0) {
    const count = Math.max(1, Math.min(maxFrames, Math.max(minFrames, Math.floor(durationSec))));
    return { picks: evenTimes(durationSec, count).map((timeSec) => ({ timeSec })), from: 'even', sceneCount: 0 };
  }
  const picks: FramePick[] = thinEvenly(scenes.length, maxFrames).map((i) => {
    const s = scenes[i]!;
    return { timeSec: sceneTime(s), sceneIndex: s.index, ...(s.keyframe ? { keyframe: s.keyframe } : {}) };
  });
  if (picks.length < minFrames && durationSec > 0) {
    // Fill from a fine grid of candidate moments, each time taking the one farthest from every pick so far.
    const candidates = evenTimes(durationSec, minFrames * 4);
    while (picks.length < minFrames && candidates.length > 0) {
      let best = 0;
      let bestGap = -1;
      candidates.forEach((t, i) => {
        const gap = Math.min(...picks.map((p) => Math.abs(p.timeSec - t)));
        if (gap > bestGap) {
          bestGap = gap;
          best = i;
        }
      });
      const t = candidates.splice(best, 1)[0]!;
      if (bestGap <= 0) break;
      const scene = scenes.find((s) => t >= s.startSec && t < s.endSec);
      picks.push({ timeSec: t, ...(scene ? { sceneIndex: scene.index } : {}) });
    }
  }
  picks.sort((a, b) => a.timeSec - b.timeSec);
  return { picks, from: 'scenes', sceneCount: scenes.length };
}
