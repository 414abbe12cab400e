import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../core/index.js';
import { sourceVideoKey } from './clip-labels.js';
import { hashDistance } from './clip-dhash.js';
import { MANIFEST, type DatasetManifest } from './dataset-builder.js';
import { SPLITS, type DuplicateRemoval, type SplitHistory, type SplitName } from './dataset-types.js';

export interface DatasetStats {
  dir: string;
  createdAt: string;
  videodexVersion: string;
  clips: number;
  videos: number;
  labels: string[];
  perSplit: Record<SplitName, number>;
  perClass: Record<string, Record<SplitName, number>>;
  /** Clip length histogram: `[from, to)` seconds and a count. */
  lengths: Array<{ from: number; to: number; count: number }>;
  shortest: { clip: string; seconds: number } | null;
  longest: { clip: string; seconds: number } | null;
  /** Videos with clips in more than one split (must be empty). */
  leakedVideos: Array<{ videoId: string; splits: SplitName[] }>;
  /** Sources (a list's video, cut into several records) with clips in more than one split (must be empty). */
  leakedSources: Array<{ source: string; splits: SplitName[] }>;
  /** Pairs of clips from different videos in different splits whose hashes are within the threshold (must be empty). */
  crossSplitNearDuplicates: Array<{ a: string; b: string; distance: number }>;
  duplicatesRemoved: DuplicateRemoval[];
  missingFiles: string[];
  /** Clip files whose size is not the manifest's (cut short, emptied, replaced). */
  damagedFiles: string[];
  skippedVideos: number;
  failedClips: number;
  /** Whether the build kept the earlier build's splits, and how many source videos kept, moved, came and left; null for a dataset built before splits were kept. */
  splits: SplitHistory | null;
}

/** One line on where a build's splits came from, or null for a first build. */
export function splitHistoryLine(h: SplitHistory): string | null {
  if (h.mode === 'new') return null;
  const counts = `${h.kept} source videos kept their split, ${h.moved} moved, ${h.added} new, ${h.left} left`;
  const when = h.earlierBuild ?? 'unknown';
  if (h.mode === 'kept') return `splits kept from the build of ${when}: ${counts}`;
  // the one fact about a re-split that a user evaluating models across versions must not miss
  const warning = h.moved > 0 ? '; a model trained on the earlier build must not be tested on this one' : '';
  return `splits made again (--resplit) over the build of ${when}: ${counts}${warning}`;
}

export function readManifest(dir: string): DatasetManifest {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) throw new AppError('E_DATASET_MISSING', `${dir}: no ${MANIFEST} (not a videodex dataset, or its build never finished)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DatasetManifest;
  } catch (err) {
    throw new AppError('E_DATASET_MISSING', `${file}: not valid JSON`, { cause: err });
  }
}

function addSplit(splits: Map<string, Set<SplitName>>, key: string, split: SplitName): void {
  const s = splits.get(key);
  if (s) s.add(split);
  else splits.set(key, new Set([split]));
}

/** The keys with clips in more than one split, with those splits in order. */
function inSeveralSplits(splits: ReadonlyMap<string, ReadonlySet<SplitName>>): Array<[string, SplitName[]]> {
  return [...splits.entries()].filter(([, s]) => s.size > 1).map(([k, s]) => [k, SPLITS.filter((x) => s.has(x))]);
}

/** Balance, lengths and leakage checks of a built dataset, from its dataset.json and the files on disk. */
export function datasetStats(dir: string, options: { histogramBinSec?: number } = {}): DatasetStats {
  const m = readManifest(dir);
  const bin = options.histogramBinSec ?? 1;
  const perSplit: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  const perClass: Record<string, Record<SplitName, number>> = {};
  const splitsOfVideo = new Map<string, Set<SplitName>>();
  const splitsOfSource = new Map<string, Set<SplitName>>();
  const hist = new Map<number, number>();
  let shortest: DatasetStats['shortest'] = null;
  let longest: DatasetStats['longest'] = null;
  const missingFiles: string[] = [];
  const damagedFiles: string[] = [];
  for (const c of m.clips) {
    perSplit[c.split]++;
    (perClass[c.label] ??= { train: 0, val: 0, test: 0 })[c.split]++;
    addSplit(splitsOfVideo, c.videoId, c.split);
    const source = sourceVideoKey(c.source, c.youtubeId ?? null);
    if (source) addSplit(splitsOfSource, source, c.split);
    const b = Math.floor(c.durationSec / bin + 1e-9);
    hist.set(b, (hist.get(b) ?? 0) + 1);
    if (!shortest || c.durationSec < shortest.seconds) shortest = { clip: c.id, seconds: c.durationSec };
    if (!longest || c.durationSec > longest.seconds) longest = { clip: c.id, seconds: c.durationSec };
    const size = statSync(path.join(dir, c.path), { throwIfNoEntry: false })?.size;
    if (size === undefined) missingFiles.push(c.path);
    else if (typeof c.bytes === 'number' && size !== c.bytes) damagedFiles.push(c.path);
  }
  const maxBin = Math.max(-1, ...hist.keys());
  const lengths = Array.from({ length: maxBin + 1 }, (_, i) => ({ from: i * bin, to: (i + 1) * bin, count: hist.get(i) ?? 0 }));
  const leakedVideos = inSeveralSplits(splitsOfVideo).map(([videoId, splits]) => ({ videoId, splits }));
  const leakedSources = inSeveralSplits(splitsOfSource).map(([source, splits]) => ({ source, splits }));

  const crossSplitNearDuplicates: DatasetStats['crossSplitNearDuplicates'] = [];
  const threshold = m.options.dedup?.threshold ?? 10;
  const hashed = m.clips.filter((c) => c.hash).map((c) => ({ c, h: Uint8Array.from(Buffer.from(c.hash!, 'hex')) }));
  for (let i = 0; i < hashed.length; i++) {
    for (let j = i + 1; j < hashed.length; j++) {
      const a = hashed[i]!;
      const b = hashed[j]!;
      if (a.c.split === b.c.split || a.c.videoId === b.c.videoId) continue;
      const d = hashDistance(a.h, b.h);
      if (d <= threshold) crossSplitNearDuplicates.push({ a: a.c.id, b: b.c.id, distance: d });
    }
  }
  return {
    dir,
    createdAt: m.createdAt,
    videodexVersion: m.videodexVersion,
    clips: m.clips.length,
    videos: splitsOfVideo.size,
    labels: m.labels,
    perSplit,
    perClass,
    lengths,
    shortest,
    longest,
    leakedVideos,
    leakedSources,
    crossSplitNearDuplicates,
    duplicatesRemoved: m.duplicates,
    missingFiles,
    damagedFiles,
    skippedVideos: m.skipped.length,
    failedClips: m.failed.length,
    splits: m.splits ? { mode: m.splits.mode, earlierBuild: m.splits.earlierBuild, kept: m.splits.kept, moved: m.splits.moved, added: m.splits.added, left: m.splits.left } : null,
  };
}

/** The stats as text for a terminal. */
export function formatDatasetStats(s: DatasetStats): string {
  const lines: string[] = [];
  lines.push(`${s.dir}: ${s.clips} clips from ${s.videos} videos, ${s.labels.length} classes (videodex ${s.videodexVersion}, ${s.createdAt})`);
  lines.push('');
  const width = Math.max(5, ...s.labels.map((l) => l.length));
  lines.push(`${'class'.padEnd(width)}  ${SPLITS.map((x) => x.padStart(7)).join('')}    total`);
  // a class an earlier build had keeps its index with no clip now: listed, at 0
  for (const label of [...new Set([...s.labels, ...Object.keys(s.perClass)])].sort()) {
    const row = s.perClass[label] ?? { train: 0, val: 0, test: 0 };
    const total = SPLITS.reduce((n, x) => n + row[x], 0);
    lines.push(`${label.padEnd(width)}  ${SPLITS.map((x) => String(row[x]).padStart(7)).join('')} ${String(total).padStart(8)}`);
  }
  lines.push(`${'all'.padEnd(width)}  ${SPLITS.map((x) => String(s.perSplit[x]).padStart(7)).join('')} ${String(s.clips).padStart(8)}`);
  lines.push('');
  lines.push('clip length (s):');
  const most = Math.max(1, ...s.lengths.map((b) => b.count));
  for (const b of s.lengths) {
    if (b.count === 0 && (b.from < (s.shortest?.seconds ?? 0) - 1)) continue;
    lines.push(`  ${`${b.from}-${b.to}`.padStart(7)} ${String(b.count).padStart(6)} ${'#'.repeat(Math.round((40 * b.count) / most))}`);
  }
  if (s.shortest && s.longest) lines.push(`  shortest ${s.shortest.seconds.toFixed(3)} s (${s.shortest.clip}), longest ${s.longest.seconds.toFixed(3)} s (${s.longest.clip})`);
  lines.push('');
  const leaks = s.leakedVideos.length + s.leakedSources.length + s.crossSplitNearDuplicates.length;
  lines.push(
    `leakage: ${s.leakedVideos.length} videos and ${s.leakedSources.length} source videos in more than one split, ${s.crossSplitNearDuplicates.length} near-duplicate pairs across splits${leaks === 0 ? ' (ok)' : ' (PROBLEM)'}`,
  );
  const cross = s.duplicatesRemoved.filter((d) => d.crossSplit).length;
  lines.push(`duplicates removed at build: ${s.duplicatesRemoved.length} (${cross} across splits, ${s.duplicatesRemoved.length - cross} within a split)`);
  for (const d of s.duplicatesRemoved.slice(0, 20)) lines.push(`  ${d.clip} (${d.split}) ~ ${d.duplicateOf} (${d.duplicateOfSplit}), ${d.distance} bits`);
  if (s.duplicatesRemoved.length > 20) lines.push(`  ... ${s.duplicatesRemoved.length - 20} more in dataset.json`);
  if (s.splits) lines.push(splitHistoryLine(s.splits) ?? 'splits: first build in this folder, none kept from an earlier one');
  if (s.missingFiles.length > 0) lines.push(`missing files: ${s.missingFiles.length} (first: ${s.missingFiles[0]})`);
  if (s.damagedFiles.length > 0) lines.push(`files not the size dataset.json gives: ${s.damagedFiles.length} (first: ${s.damagedFiles[0]})`);
  if (s.skippedVideos > 0 || s.failedClips > 0) lines.push(`skipped videos: ${s.skippedVideos}, failed clips: ${s.failedClips} (see dataset.json)`);
  return lines.join('\n');
}
