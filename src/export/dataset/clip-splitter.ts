import { sha256Hex } from '../../core/index.js';
import { SPLITS, type AssignedClip, type PlannedClip, type SplitName, type SplitSpec } from './dataset-types.js';

/** A seeded, order-independent rank for a key: the same seed and key always sort the same. */
export function seededRank(seed: number, key: string): string {
  return sha256Hex(`${seed}\u0000${key}`);
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const arr = m.get(k);
    if (arr) arr.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/**
 * At most `max` clips of each label, taken round-robin over the label's videos (in seeded order) so a cap
 * keeps as many different videos as it can. Order of the result: as given.
 */
export function capPerClass(clips: readonly PlannedClip[], max: number, seed: number): PlannedClip[] {
  if (max <= 0) return [...clips];
  const keep = new Set<string>();
  for (const labelClips of groupBy(clips, (c) => c.label).values()) {
    if (labelClips.length <= max) {
      for (const c of labelClips) keep.add(c.id);
      continue;
    }
    const queues = [...groupBy(labelClips, (c) => c.videoId).entries()]
      .sort(([a], [b]) => (seededRank(seed, a) < seededRank(seed, b) ? -1 : 1))
      .map(([, cs]) => cs.slice());
    let taken = 0;
    while (taken < max) {
      let progressed = false;
      for (const q of queues) {
        const c = q.shift();
        if (!c) continue;
        keep.add(c.id);
        progressed = true;
        if (++taken >= max) break;
      }
      if (!progressed) break;
    }
  }
  return clips.filter((c) => keep.has(c.id));
}

/** `train`, `val`, `test` from what lists write (`training`, `validate`, `validation`, `dev`...), else null. */
export function normalizeSplit(value: string | undefined): SplitName | null {
  if (!value) return null;
  const v = value.trim().toLowerCase();
  if (['train', 'training', 'trn'].includes(v)) return 'train';
  if (['val', 'valid', 'validate', 'validation', 'dev', 'development'].includes(v)) return 'val';
  if (['test', 'testing', 'tst', 'eval', 'evaluation'].includes(v)) return 'test';
  return null;
}

export interface SplitInput {
  videoId: string;
  /** The video's (primary) label: every clip of a video shares it. */
  label: string;
  clips: number;
  /** The split column of the list row the video came from, if any. */
  listSplit?: string | undefined;
  /**
   * The source the video was cut from (its URL or path): the rows of one list video, each a record of its own,
   * share it. Videos sharing a source go to one split together.
   */
  source?: string | undefined;
  /**
   * The split the video's source had in an earlier build of the same dataset folder: the source keeps it, so a
   * model trained on that build is never tested on its own training videos in this one. A list row's own split
   * column still wins.
   */
  earlier?: SplitName | undefined;
}

/** The unit of assignment a video belongs to: its source when it has one, else the video alone. */
export function splitGroupKey(v: Pick<SplitInput, 'videoId' | 'source'>): string {
  return v.source ? `source:${v.source}` : `video:${v.videoId}`;
}

/** The split holding most of the counted clips; ties go to the first in SPLITS order. */
export function mostClips(counts: Readonly<Record<SplitName, number>>): SplitName {
  return SPLITS.reduce((best, s) => (counts[s] > counts[best] ? s : best), SPLITS[0]!);
}

/**
 * Assigns every video (and so all its clips) to one split. Grouped: a video never spans two splits, nor do the
 * videos cut from one source (a list's rows of one video). Stratified: each label is split on its own, sources
 * taken in a seeded order and each given to the split furthest below its share of that label's clips (a source
 * whose videos have several labels counts under the one with most clips). With `list`, a recognised list split
 * wins, a video without one goes where the listed videos of its source went (the split with most of their clips),
 * and the other videos are split by the fallback ratios. A source whose videos carry an `earlier` split keeps it
 * (the one of most clips, should they differ), and its clips count towards that split's share of its label: only
 * sources new to the dataset are dealt out, to the splits furthest below their share.
 */
export function assignSplits(videos: readonly SplitInput[], spec: SplitSpec, seed: number): Map<string, SplitName> {
  const out = new Map<string, SplitName>();
  const unlisted: SplitInput[] = [];
  // the listed splits of each source, by clips: a row without a split goes where its source's rows went
  const listedOfSource = new Map<string, Record<SplitName, number>>();
  for (const v of videos) {
    const fixed = spec.kind === 'list' ? normalizeSplit(v.listSplit) : null;
    if (!fixed) {
      unlisted.push(v);
      continue;
    }
    out.set(v.videoId, fixed);
    if (v.source) (listedOfSource.get(v.source) ?? listedOfSource.set(v.source, { train: 0, val: 0, test: 0 }).get(v.source)!)[fixed] += v.clips;
  }
  const rest: SplitInput[] = [];
  for (const v of unlisted) {
    const listed = v.source ? listedOfSource.get(v.source) : undefined;
    if (listed) out.set(v.videoId, mostClips(listed));
    else rest.push(v);
  }
  const ratios = spec.kind === 'ratio' ? spec.ratios : spec.fallback;
  // a source of one video keeps that video's id as its key: the seeded order of such videos is as it always was
  const sources = [...groupBy(rest, splitGroupKey).values()].map((videos) => {
    const perLabel = new Map<string, number>();
    const earlier: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
    let kept = false;
    for (const v of videos) {
      perLabel.set(v.label, (perLabel.get(v.label) ?? 0) + v.clips);
      if (v.earlier) {
        kept = true;
        earlier[v.earlier] += v.clips;
      }
    }
    const label = [...perLabel.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    const key = videos.length === 1 ? videos[0]!.videoId : `source:${videos[0]!.source}`;
    return { key, label, videos, clips: videos.reduce((n, v) => n + v.clips, 0), kept: kept ? mostClips(earlier) : null };
  });
  for (const group of groupBy(sources, (g) => g.label).values()) {
    const have: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
    let total = 0;
    for (const v of group) {
      if (!v.kept) continue;
      total += v.clips;
      have[v.kept] += v.clips;
      for (const member of v.videos) out.set(member.videoId, v.kept);
    }
    const ordered = group
      .filter((v) => !v.kept)
      .map((v) => ({ v, rank: seededRank(seed, v.key) }))
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
      .map((x) => x.v);
    for (const v of ordered) {
      total += v.clips;
      let best: SplitName = 'train';
      let bestDeficit = -Infinity;
      for (const s of SPLITS) {
        if (ratios[s] <= 0) continue;
        const deficit = ratios[s] * total - have[s];
        if (deficit > bestDeficit + 1e-9) {
          best = s;
          bestDeficit = deficit;
        }
      }
      have[best] += v.clips;
      for (const member of v.videos) out.set(member.videoId, best);
    }
  }
  return out;
}

/** Clips with their video's split. */
export function withSplits(clips: readonly PlannedClip[], splits: ReadonlyMap<string, SplitName>): AssignedClip[] {
  return clips.map((c) => ({ ...c, split: splits.get(c.videoId) ?? 'train' }));
}
