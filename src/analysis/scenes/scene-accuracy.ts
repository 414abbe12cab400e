/** A known transition in a test video: a cut at a frame, or a gradual change spanning frames [from, to]. */
export type TruthTransition =
  | { kind: 'cut'; frame: number }
  | { kind: 'fade' | 'dissolve'; from: number; to: number };

export interface Accuracy {
  truth: number;
  detected: number;
  matched: number;
  precision: number;
  recall: number;
  f1: number;
  /** Detected boundaries that matched nothing. */
  falsePositives: number[];
  /** Truth transitions nothing matched. */
  missed: TruthTransition[];
}

/**
 * Precision, recall and F1 of detected boundaries (first frames of new scenes) against known transitions: a cut
 * matches a detection within `tolerance` frames, a gradual transition one that falls inside it (with the same
 * tolerance at its ends). One detection matches at most one transition, nearest first. Empty sets count as
 * perfect (nothing to find, nothing wrongly found).
 */
export function scoreBoundaries(detected: readonly number[], truth: readonly TruthTransition[], tolerance = 2): Accuracy {
  const pairs: Array<{ d: number; t: number; cost: number }> = [];
  detected.forEach((frame, d) => {
    truth.forEach((tr, t) => {
      if (tr.kind === 'cut') {
        const cost = Math.abs(frame - tr.frame);
        if (cost <= tolerance) pairs.push({ d, t, cost });
      } else if (frame >= tr.from - tolerance && frame <= tr.to + tolerance) {
        pairs.push({ d, t, cost: Math.abs(frame - (tr.from + tr.to) / 2) / Math.max(1, tr.to - tr.from) });
      }
    });
  });
  pairs.sort((a, b) => a.cost - b.cost);
  const usedD = new Set<number>();
  const usedT = new Set<number>();
  for (const p of pairs) {
    if (usedD.has(p.d) || usedT.has(p.t)) continue;
    usedD.add(p.d);
    usedT.add(p.t);
  }
  const matched = usedD.size;
  const precision = detected.length === 0 ? 1 : matched / detected.length;
  const recall = truth.length === 0 ? 1 : matched / truth.length;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    truth: truth.length,
    detected: detected.length,
    matched,
    precision,
    recall,
    f1,
    falsePositives: detected.filter((_, i) => !usedD.has(i)),
    missed: truth.filter((_, i) => !usedT.has(i)),
  };
}
