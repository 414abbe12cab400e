import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { AppError, ConfigError, describeError, displayName, processAlive, runTool, stableHash, type Logger, type Video } from '../../core/index.js';
import { labelDirName, labelFolderClash, sourceVideoKey } from './clip-labels.js';
import { batchArgs, batchClips, canCopy, copyArgs, copyRange, encodeArgs, gridSeekSec, inputSeekSec, outputFrames, seekSec, videoPackets, type PacketIndex } from './clip-encoder.js';
import { dhashFrames, findDuplicates, hashClip, type HashedClip } from './clip-dhash.js';
import { describeLabelSource, planClips } from './clip-planner.js';
import { assignSplits, capPerClass, mostClips, splitGroupKey, withSplits, type SplitInput } from './clip-splitter.js';
import { DatasetJournal, type JournalEntry } from './dataset-journal.js';
import { outsideFolder } from './inside-folder.js';
import {
  SPLITS,
  type AssignedClip,
  type DatasetClip,
  type DatasetOptions,
  type DatasetProgress,
  type DatasetReport,
  type DuplicateRemoval,
  type PlannedClip,
  type SkippedVideo,
  type SplitHistory,
  type SplitName,
  type SplitSpec,
} from './dataset-types.js';
import { writeFileAtomic, writeKineticsCsv, writeLabelMap, writeMmactionLists, writeWebDataset } from './dataset-writers.js';

/** Bump when clips made from the same input and settings would differ. */
export const CLIP_ENCODER_VERSION = '1';
export const WORK_DIR = '.videodex-dataset';
export const MANIFEST = 'dataset.json';
/** Where the earlier build's dataset.json waits in the work folder while a build runs. */
const REBUILDING = 'rebuilding.json';

export interface DatasetDeps {
  ffmpeg: string;
  ffprobe: string;
  logger?: Logger;
  signal?: AbortSignal;
  onProgress?(progress: DatasetProgress): void;
  /** Recorded in dataset.json. */
  query?: unknown;
  version?: string;
  configHash?: string;
}

/** What dataset.json holds. */
export interface DatasetManifest {
  format: 'videodex-dataset';
  formatVersion: 1;
  videodexVersion: string;
  createdAt: string;
  query: unknown;
  configHash: string;
  options: Omit<DatasetOptions, 'outDir'>;
  labels: string[];
  counts: { total: number; videos: number; perSplit: Record<SplitName, number>; perClass: Record<string, Record<SplitName, number>> };
  files: string[];
  clips: DatasetClip[];
  duplicates: DuplicateRemoval[];
  skipped: SkippedVideo[];
  failed: DatasetReport['failed'];
  /**
   * How the splits relate to the earlier build, and the split of every source video dealt out in this folder
   * since it was last re-split (by splitGroupKey), also of those that have left: one that comes back returns to
   * its split. Absent in datasets built before splits were kept.
   */
  splits?: SplitHistory & { sources: Record<string, SplitName> };
}

export function videodexVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The folder clips are stored under: the dataset itself when a format lays them out, else the work folder. */
function clipRoot(options: DatasetOptions): string {
  return options.formats.includes('folder') || options.formats.includes('mmaction') ? '' : path.join(WORK_DIR, 'clips');
}

function clipRelPath(options: DatasetOptions, clip: AssignedClip): string {
  return path.join(clipRoot(options), clip.split, labelDirName(clip.label), `${clip.id}.mp4`).split(path.sep).join('/');
}

function clipSpec(clip: PlannedClip, options: DatasetOptions): string {
  const mode = canCopy(options.encode) && clip.streamCopy !== false ? 'copy' : 'encode';
  // cut 2: copies end on a packet count (cut 1 ran past the end with B-frames), so those are made again
  // cut 2 of clips cut one ffmpeg each (with audio): cut 1 lost their last frame on videos without sound
  // cut 3 of copies with audio: cut 2 played ~80 ms of audio before the first picture (B-frames), so made again
  const enc = mode === 'copy' ? { copy: true, audio: options.encode.audio, minClipSec: options.minClipSec, cut: options.encode.audio ? 3 : 2 } : { ...options.encode, copy: false, ...(options.encode.audio ? { cut: 2 } : {}) };
  // seek from a key frame: clips of MPEG-TS/PS cut before could start late (and so end in the next scene)
  // a video starting after its file, or behind a cover picture: cut before from the wrong time or stream, so made again
  const place = { ...(clip.videoStartSec ? { lead: clip.videoStartSec } : {}), ...(clip.streamIndex !== undefined ? { stream: clip.streamIndex } : {}) };
  // a variable rate resampled to the grid scene detection used: such clips cut before held other frames, so made again
  return stableHash({ v: CLIP_ENCODER_VERSION, video: clip.videoId, s: clip.startFrame, e: clip.endFrame, fps: clip.sourceFps, enc, ...(clip.inexactSeek ? { seek: 'key' } : {}), ...(clip.variableRate && mode !== 'copy' ? { grid: 1 } : {}), ...place });
}

function emptyPerSplit(): Record<SplitName, number> {
  return { train: 0, val: 0, test: 0 };
}

/** Empty folders from `dir` up, short of `stopAt`: only below it (a sibling `/ds-old` is not inside `/ds`). */
export function removeEmptyDirs(dir: string, stopAt: string): void {
  let d = dir;
  while (d.startsWith(stopAt + path.sep) && d !== stopAt) {
    try {
      if (readdirSync(d).length > 0) return;
      rmdirSync(d);
    } catch {
      return;
    }
    d = path.dirname(d);
  }
}

/**
 * The earlier build in the folder: its manifest (the one a stopped rebuild set aside, if any), and the output
 * files (relative) it listed, inside the folder and outside its work folder. None for a new or empty folder, or
 * one an interrupted first build left.
 * @throws ConfigError when the folder holds other files (a build would overwrite them without a word), or is a file.
 */
function earlierBuild(outDir: string, workDir: string): { files: string[]; manifest: Partial<DatasetManifest> | null } {
  if (!existsSync(outDir)) return { files: [], manifest: null };
  if (!statSync(outDir).isDirectory()) throw new ConfigError(`dataset build: ${outDir} is a file, not a folder: -o names the dataset folder`);
  let files: unknown = null;
  let manifest: Partial<DatasetManifest> | null = null;
  for (const manifestFile of [path.join(outDir, MANIFEST), path.join(workDir, REBUILDING)]) {
    try {
      const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Partial<DatasetManifest>;
      if (m.format === 'videodex-dataset') {
        files = m.files;
        manifest = m;
      }
      break;
    } catch {
      // no such file, or not ours
    }
  }
  if (!Array.isArray(files)) {
    if (!existsSync(workDir) && readdirSync(outDir).length > 0) {
      throw new ConfigError(`dataset build: ${outDir} holds other files and no videodex dataset: choose a new or empty folder, or a dataset folder to build again`);
    }
    return { files: [], manifest };
  }
  const inFolder = files.filter((f): f is string => {
    if (typeof f !== 'string' || outsideFolder(outDir, f) !== null) return false;
    const abs = path.resolve(outDir, f);
    return !abs.startsWith(workDir + path.sep) && abs !== path.join(outDir, MANIFEST);
  });
  return { files: inFolder, manifest };
}

const isSplit = (s: unknown): s is SplitName => typeof s === 'string' && (SPLITS as readonly string[]).includes(s);

/**
 * The splits an earlier build dealt out: by splitGroupKey (its memory of every source, else its clips' sources),
 * and by video id (its clips and the clips it removed as duplicates: a video whose file moved keeps its id).
 * Where one key had clips in several splits (a build from before sources were grouped), the split of most clips.
 */
function earlierSplits(m: Partial<DatasetManifest> | null): { bySource: Map<string, SplitName>; byVideo: Map<string, SplitName>; inClips: Set<string> } {
  const bySource = new Map<string, SplitName>();
  const byVideo = new Map<string, SplitName>();
  const inClips = new Set<string>();
  if (!m) return { bySource, byVideo, inClips };
  const count = (tally: Map<string, Record<SplitName, number>>, key: string, split: SplitName) => {
    (tally.get(key) ?? tally.set(key, emptyPerSplit()).get(key)!)[split]++;
  };
  const sourceTally = new Map<string, Record<SplitName, number>>();
  const videoTally = new Map<string, Record<SplitName, number>>();
  for (const c of Array.isArray(m.clips) ? m.clips : []) {
    if (!isSplit(c?.split) || typeof c.videoId !== 'string') continue;
    const source = typeof c.source === 'string' ? sourceVideoKey(c.source, c.youtubeId ?? null) || undefined : undefined;
    const key = splitGroupKey({ videoId: c.videoId, source });
    inClips.add(key);
    count(sourceTally, key, c.split);
    count(videoTally, c.videoId, c.split);
  }
  for (const d of Array.isArray(m.duplicates) ? m.duplicates : []) {
    if (isSplit(d?.split) && typeof d.videoId === 'string') count(videoTally, d.videoId, d.split);
  }
  const remembered = m.splits?.sources;
  if (remembered && typeof remembered === 'object') for (const [key, split] of Object.entries(remembered)) if (isSplit(split)) bySource.set(key, split);
  for (const [key, tally] of sourceTally) if (!bySource.has(key)) bySource.set(key, mostClips(tally));
  for (const [id, tally] of videoTally) byVideo.set(id, mostClips(tally));
  return { bySource, byVideo, inClips };
}

function splitRatios(spec: SplitSpec): Record<SplitName, number> {
  return spec.kind === 'list' ? spec.fallback : spec.ratios;
}

/** A split spec as `--split` takes it. */
function splitText(spec: SplitSpec): string {
  const ratios = SPLITS.map((s) => Number(splitRatios(spec)[s].toFixed(4))).join(',');
  return spec.kind === 'list' ? `list:${ratios}` : ratios;
}

/**
 * False when the earlier build surely split by other ratios or seed. One it cannot read (hand-edited, foreign)
 * counts as the same: keeping its splits is the choice that cannot leak.
 */
function sameSplitSettings(earlier: Partial<DatasetManifest['options']> | undefined, options: DatasetOptions): boolean {
  const spec = earlier?.split as Partial<SplitSpec> | undefined;
  if (spec?.kind !== 'ratio' && spec?.kind !== 'list') return true;
  const ratios = spec.kind === 'ratio' ? (spec as { ratios?: Record<SplitName, number> }).ratios : (spec as { fallback?: Record<SplitName, number> }).fallback;
  if (!ratios || !SPLITS.every((s) => typeof ratios[s] === 'number')) return true;
  if (spec.kind !== options.split.kind) return false;
  if (!SPLITS.every((s) => Math.abs(ratios[s] - splitRatios(options.split)[s]) < 1e-9)) return false;
  return typeof earlier?.seed !== 'number' || earlier.seed === options.seed;
}

/**
 * Builds an action-recognition dataset from records: plans clips (scenes or windows), labels them, splits
 * videos into train/val/test (grouped by video, stratified by label, seeded), cuts the clips with ffmpeg
 * under `options.concurrency` jobs, removes near-duplicates across videos (cross-split first) and writes the
 * asked formats and `dataset.json`. Resumable: clips listed in the journal with the same settings are reused.
 * Per-clip failures are reported, not thrown; throws AppError E_DATASET_EMPTY when nothing can be built.
 */
export async function buildDataset(videos: AsyncIterable<Video>, options: DatasetOptions, deps: DatasetDeps): Promise<DatasetReport> {
  const lock = { release: () => {} };
  try {
    return await build(videos, options, deps, lock);
  } finally {
    lock.release();
  }
}

/**
 * Takes `<work>/lock` for this process: two builds into one folder would cut, move and delete the same clips
 * under each other. A lock whose process is gone (a crash, a kill) is taken over. Returns its release.
 * @throws ConfigError while another live process holds it.
 */
function lockDataset(outDir: string, workDir: string): () => void {
  const file = path.join(workDir, 'lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      heldLocks.add(file);
      return () => {
        heldLocks.delete(file);
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = NaN;
      try {
        pid = Number(readFileSync(file, 'utf8').trim());
      } catch {
        // released meanwhile
      }
      // our own pid on a lock we do not hold: left by an earlier process that had it (a container restarted)
      const held = pid === process.pid ? heldLocks.has(file) : Number.isInteger(pid) && pid > 0 && processAlive(pid);
      if (held) {
        throw new ConfigError(`dataset build: ${outDir} is being built by another videodex (pid ${pid}); wait for it to finish, or stop it (no such build running: remove ${file})`);
      }
      if (attempt > 0) throw err;
      rmSync(file, { force: true });
    }
  }
}

/** The locks this process holds. */
const heldLocks = new Set<string>();

async function build(videos: AsyncIterable<Video>, options: DatasetOptions, deps: DatasetDeps, lock: { release: () => void }): Promise<DatasetReport> {
  const t0 = Date.now();
  const outDir = path.resolve(options.outDir);
  const workDir = path.join(outDir, WORK_DIR);
  const earlier = earlierBuild(outDir, workDir);
  const previousFiles = earlier.files;
  const before = earlierSplits(earlier.manifest);
  const resplit = options.resplit === true;
  // Kept splits with new ratios or seed would match neither the old split nor the new one, and splitting again
  // moves videos between train and test under a model trained on the earlier build: the user says which.
  if (!resplit && before.bySource.size + before.byVideo.size > 0 && !sameSplitSettings(earlier.manifest?.options, options)) {
    const was = earlier.manifest!.options!;
    throw new ConfigError(
      `dataset build: ${outDir} was split with --split ${splitText(was.split!)} --seed ${was.seed ?? '?'}, this build asks --split ${splitText(options.split)} --seed ${options.seed}: ` +
        'each source video keeps its split from the earlier build, so new ratios or seed would reach only new videos; add --resplit to split every video again ' +
        '(a model trained on the earlier build must then not be tested on this one), or build into a new folder',
    );
  }
  const progress = deps.onProgress ?? (() => {});
  const log = deps.logger;

  // 1. Plan.
  const skipped: SkippedVideo[] = [];
  let planned: PlannedClip[] = [];
  const splitInputs: SplitInput[] = [];
  const videoOfLabel = new Map<string, string>();
  const nameOf = new Map<string, string>();
  let seen = 0;
  for await (const video of videos) {
    deps.signal?.throwIfAborted();
    seen++;
    const plan = planClips(video, options);
    progress({ phase: 'plan', done: seen, total: 0 });
    if (plan.reason !== null) {
      skipped.push({ videoId: video.id, name: displayName(video), reason: plan.reason });
      continue;
    }
    planned.push(...plan.clips);
    nameOf.set(video.id, displayName(video));
    if (!videoOfLabel.has(plan.clips[0]!.label)) videoOfLabel.set(plan.clips[0]!.label, displayName(video));
    splitInputs.push({ videoId: video.id, label: plan.clips[0]!.label, clips: plan.clips.length, listSplit: video.source.list?.split, source: sourceVideoKey(video.source.url, plan.clips[0]!.youtubeId) || undefined });
  }
  planned = capPerClass(planned, options.maxClipsPerClass, options.seed);
  if (planned.length === 0) {
    const why = seen === 0 ? 'the query matched no video' : `none of ${seen} videos gave a clip; first: ${skipped[0]?.reason ?? 'unknown'}`;
    throw new AppError('E_DATASET_EMPTY', `dataset: no clips to build (${why}; labels from ${describeLabelSource(options.labels)})`);
  }
  // Two labels in one class folder are one class to every loader that reads classes from folders: refused before
  // any clip is cut, since guessing whether `a b` and `a_b` are one class or two is the user's call.
  const clash = clipRoot(options) === '' ? labelFolderClash(planned.map((c) => c.label)) : null;
  if (clash) {
    const named = (l: string) => `${JSON.stringify(l)} (${videoOfLabel.get(l) ?? 'unknown'})`;
    throw new AppError(
      'E_DATASET_LABELS',
      `dataset: labels ${named(clash.a)} and ${named(clash.b)} would share the class folder "${clash.folder}" (folder names turn spaces and path characters into _, and ignore case); rename one, or make both one label, where the labels come from (${describeLabelSource(options.labels)})`,
    );
  }
  // made only now: a build refused above leaves no trace in a new folder
  mkdirSync(workDir, { recursive: true });
  lock.release = lockDataset(outDir, workDir);
  const journal = new DatasetJournal(workDir, outDir);
  // The clips are moved to their new places before any is cut: a build stopped then would leave the earlier
  // dataset.json naming files no longer there. Without it, the folder says its build never finished.
  if (existsSync(path.join(outDir, MANIFEST))) renameSync(path.join(outDir, MANIFEST), path.join(workDir, REBUILDING));
  const clipsPerVideo = new Map<string, number>();
  for (const c of planned) clipsPerVideo.set(c.videoId, (clipsPerVideo.get(c.videoId) ?? 0) + 1);
  const toSplit = splitInputs
    .filter((s) => clipsPerVideo.has(s.videoId))
    .map((s) => {
      const had = before.bySource.get(splitGroupKey(s)) ?? before.byVideo.get(s.videoId);
      return { ...s, clips: clipsPerVideo.get(s.videoId)!, ...(had ? { earlier: had } : {}) };
    });
  const splits = assignSplits(resplit ? toSplit.map(({ earlier: _e, ...s }) => s) : toSplit, options.split, options.seed);
  const splitHistory = historyOf(toSplit, splits, before, earlier.manifest, resplit);
  const assigned = withSplits(planned, splits);
  const byId = new Map(assigned.map((c) => [c.id, c]));

  // 2. Cut (or reuse) every clip, and hash it for dedup.
  const copyMode = canCopy(options.encode);
  const threads = options.concurrency > 1 ? 1 : 0;
  const packets = new Map<string, Promise<PacketIndex>>();
  const packetsOf = (clip: AssignedClip): Promise<PacketIndex> => {
    let index = packets.get(clip.videoId);
    if (!index) {
      index = videoPackets(deps.ffprobe, clip.sourcePath, deps.signal, clip.streamIndex);
      packets.set(clip.videoId, index);
    }
    return index;
  };
  /** The input seek for a cut starting at `startFrame` of the clip's file (see inputSeekSec). */
  const inputSeek = async (clip: AssignedClip, startFrame: number): Promise<number> => {
    const target = seekSec(startFrame, clip.sourceFps);
    const onGrid = (seek: number) => (clip.variableRate ? gridSeekSec(startFrame, clip.sourceFps, seek) : seek);
    if (!clip.inexactSeek) return onGrid(target);
    const index = await packetsOf(clip);
    // the packets' times are the file's; the clip's count from the video's first frame
    const lead = clip.videoStartSec ?? 0;
    return onGrid(inputSeekSec(target + lead, true, index.keys.map((i) => index.pts[i]!)) - lead);
  };
  const results = new Map<string, JournalEntry>();
  const failed: DatasetReport['failed'] = [];
  let encoded = 0;
  let reused = 0;
  let copied = 0;
  let done = 0;
  const limit = pLimit(options.concurrency);
  progress({ phase: 'clips', done: 0, total: assigned.length });

  const hashing = options.dedup.enabled;
  const K = options.dedup.frames;
  const tmpDir = path.join(workDir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  const finish = (clip: AssignedClip, entry: JournalEntry, prior: JournalEntry | undefined) => {
    if (entry !== prior) journal.put(entry);
    results.set(clip.id, entry);
  };
  const fail = (clip: AssignedClip, err: unknown) => {
    if (deps.signal?.aborted) throw err;
    const error = describeError(err);
    failed.push({ clip: clip.id, videoId: clip.videoId, name: nameOf.get(clip.videoId) ?? clip.videoId, error });
    log?.warn({ clip: clip.id, video: clip.videoId, err: error }, 'dataset clip failed');
  };
  const tick = () => {
    done++;
    progress({ phase: 'clips', done, total: assigned.length });
  };

  /** The journal's clip, moved to its planned place, when it was made with the same settings. */
  const reuse = (clip: AssignedClip): JournalEntry | null => {
    const prior = journal.get(clip.id);
    if (!prior || prior.spec !== clipSpec(clip, options)) return null;
    const rel = clipRelPath(options, clip);
    const abs = path.join(outDir, rel);
    const priorAbs = path.join(outDir, prior.path);
    if (!existsSync(priorAbs) || statSync(priorAbs).size !== prior.bytes) return null;
    if (prior.path !== rel) {
      mkdirSync(path.dirname(abs), { recursive: true });
      renameSync(priorAbs, abs);
      removeEmptyDirs(path.dirname(priorAbs), outDir);
    }
    return { ...prior, path: rel };
  };

  const hashOf = async (entry: JournalEntry, frameCount: number): Promise<JournalEntry> => {
    if (!hashing || (entry.hash && entry.hashFrames === K)) return entry;
    const hash = await hashClip(deps.ffmpeg, path.join(outDir, entry.path), frameCount, K, deps.signal);
    return { ...entry, hash, hashFrames: K };
  };

  /** One clip, one ffmpeg: stream copy when possible, else re-encode; then its hash. */
  const cutOne = async (clip: AssignedClip): Promise<void> => {
    deps.signal?.throwIfAborted();
    const rel = clipRelPath(options, clip);
    const abs = path.join(outDir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    const part = `${abs}.part`;
    let mode: 'encode' | 'copy' = 'encode';
    let writtenStart = clip.startSec;
    let frameCount = outputFrames(clip, options.encode.fps);
    let duration = frameCount / (options.encode.fps || clip.sourceFps);
    // the packets' (and a stream copy's) times are the file's; the clip's count from the video's first frame
    const lead = clip.videoStartSec ?? 0;
    if (copyMode && clip.streamCopy !== false) {
      const range = copyRange(await packetsOf(clip), clip.startSec + lead, clip.endSec + lead, Math.min(options.minClipSec, clip.endSec - clip.startSec));
      if (range) {
        mode = 'copy';
        writtenStart = range.startSec - lead;
        duration = range.endSec - range.startSec;
        frameCount = range.frames;
      }
    }
    const args =
      mode === 'copy'
        ? copyArgs(clip.sourcePath, writtenStart + lead, writtenStart + lead + duration, frameCount, options.encode.audio, part, clip.streamIndex)
        : encodeArgs(clip, options.encode, part, threads, await inputSeek(clip, clip.startFrame));
    try {
      await runTool(deps.ffmpeg, args, { timeoutMs: 60 * 60_000, ...(deps.signal ? { signal: deps.signal } : {}), maxStdoutBytes: 1024 * 1024 });
      if (statSync(part).size === 0) throw new AppError('E_DATASET_CLIP', 'ffmpeg wrote an empty clip');
    } catch (err) {
      rmSync(part, { force: true });
      throw err;
    }
    const bytes = statSync(part).size;
    renameSync(part, abs);
    if (mode === 'copy') copied++;
    else encoded++;
    const entry: JournalEntry = { id: clip.id, spec: clipSpec(clip, options), path: rel, bytes, mode, writtenStartSec: writtenStart, durationSec: duration };
    journal.put(entry);
    finish(clip, await hashOf(entry, frameCount), entry);
  };

  /** Several clips of one video, one ffmpeg (decode once); on failure each clip is tried alone. */
  const cutBatch = async (batch: AssignedClip[]): Promise<void> => {
    deps.signal?.throwIfAborted();
    const outputs = batch.map((clip) => {
      const abs = path.join(outDir, clipRelPath(options, clip));
      mkdirSync(path.dirname(abs), { recursive: true });
      return { clip, file: `${abs}.part`, hashFile: hashing ? path.join(tmpDir, `${clip.id}.gray`) : null };
    });
    try {
      const first = batch.reduce((m, c) => Math.min(m, c.startFrame), Infinity);
      await runTool(deps.ffmpeg, batchArgs(outputs, options.encode, threads, K, await inputSeek(batch[0]!, first)), { timeoutMs: 60 * 60_000, ...(deps.signal ? { signal: deps.signal } : {}), maxStdoutBytes: 1024 * 1024 });
      for (const o of outputs) if (statSync(o.file).size === 0) throw new AppError('E_DATASET_CLIP', 'ffmpeg wrote an empty clip');
    } catch (err) {
      for (const o of outputs) {
        rmSync(o.file, { force: true });
        if (o.hashFile) rmSync(o.hashFile, { force: true });
      }
      if (deps.signal?.aborted) throw err;
      for (const clip of batch) {
        try {
          await cutOne(clip);
        } catch (e) {
          fail(clip, e);
        } finally {
          tick();
        }
      }
      return;
    }
    for (const o of outputs) {
      const clip = o.clip;
      const rel = clipRelPath(options, clip);
      const bytes = statSync(o.file).size;
      renameSync(o.file, path.join(outDir, rel));
      encoded++;
      const frameCount = outputFrames(clip, options.encode.fps);
      let entry: JournalEntry = { id: clip.id, spec: clipSpec(clip, options), path: rel, bytes, mode: 'encode', writtenStartSec: clip.startSec, durationSec: frameCount / (options.encode.fps || clip.sourceFps) };
      if (o.hashFile) {
        const gray = readFileSync(o.hashFile);
        rmSync(o.hashFile, { force: true });
        entry = { ...entry, hash: Buffer.from(dhashFrames(gray)).toString('hex'), hashFrames: K };
      }
      finish(clip, entry, undefined);
      tick();
    }
  };

  const jobs: Array<Promise<void>> = [];
  const toCut: AssignedClip[] = [];
  for (const clip of assigned) {
    const entry = reuse(clip);
    if (!entry) {
      toCut.push(clip);
      continue;
    }
    reused++;
    if (!hashing || (entry.hash && entry.hashFrames === K)) {
      finish(clip, entry, journal.get(clip.id));
      tick();
      continue;
    }
    jobs.push(
      limit(async () => {
        try {
          finish(clip, await hashOf(entry, Math.max(1, Math.round(entry.durationSec * (options.encode.fps || clip.sourceFps)))), undefined);
        } catch (err) {
          fail(clip, err);
        } finally {
          tick();
        }
      }),
    );
  }
  // A file gone since it was processed fails its clips with that cause, not with an ffmpeg run and its stderr each.
  // Checked only for clips to cut: clips already cut from it are kept.
  const present = new Map<string, boolean>();
  const cuttable = toCut.filter((clip) => {
    let here = present.get(clip.videoId);
    if (here === undefined) present.set(clip.videoId, (here = existsSync(clip.sourcePath)));
    if (here) return true;
    fail(clip, new AppError('E_DATASET_SOURCE', `file not found: ${clip.sourcePath} (moved or deleted since it was processed)`));
    tick();
    return false;
  });
  const batchable = !copyMode && !options.encode.audio;
  if (batchable) {
    const perVideo = new Map<string, AssignedClip[]>();
    for (const c of cuttable) (perVideo.get(c.videoId) ?? perVideo.set(c.videoId, []).get(c.videoId)!).push(c);
    for (const clips of perVideo.values()) for (const batch of batchClips(clips)) jobs.push(limit(() => cutBatch(batch)));
  } else {
    for (const clip of cuttable) {
      jobs.push(
        limit(async () => {
          try {
            await cutOne(clip);
          } catch (err) {
            fail(clip, err);
          } finally {
            tick();
          }
        }),
      );
    }
  }
  await Promise.all(jobs);
  rmSync(tmpDir, { recursive: true, force: true });

  // 3. Near-duplicates: cross-split first; removed clips are parked in the work folder for inspection.
  let duplicates: DuplicateRemoval[] = [];
  if (options.dedup.enabled) {
    progress({ phase: 'dedup', done: 0, total: results.size });
    const hashed: HashedClip[] = [];
    for (const c of assigned) {
      const e = results.get(c.id);
      if (e?.hash) hashed.push({ clip: c, hash: Uint8Array.from(Buffer.from(e.hash, 'hex')) });
    }
    // clips the earlier build had in the split they keep now: a new near-copy in another split goes, not they
    const hadClip = new Set(resplit ? [] : (Array.isArray(earlier.manifest?.clips) ? earlier.manifest.clips : []).map((c) => `${c?.videoId}\u0000${c?.split}`));
    duplicates = findDuplicates(hashed, options.dedup.threshold, (c) => hadClip.has(`${c.videoId}\u0000${c.split}`));
    for (const d of duplicates) {
      const e = results.get(d.clip)!;
      const parked = path.join(WORK_DIR, 'duplicates', `${d.clip}.mp4`).split(path.sep).join('/');
      mkdirSync(path.join(outDir, WORK_DIR, 'duplicates'), { recursive: true });
      renameSync(path.join(outDir, e.path), path.join(outDir, parked));
      removeEmptyDirs(path.dirname(path.join(outDir, e.path)), outDir);
      journal.put({ ...e, path: parked });
      results.delete(d.clip);
    }
    progress({ phase: 'dedup', done: hashed.length, total: hashed.length });
  }

  // 4. Forget clips of earlier runs that are no longer planned (files in our layout only).
  const planIds = new Set(assigned.map((c) => c.id));
  for (const e of journal.all()) {
    if (planIds.has(e.id)) continue;
    const abs = path.join(outDir, e.path);
    rmSync(abs, { force: true });
    removeEmptyDirs(path.dirname(abs), outDir);
  }
  journal.compact(planIds);

  // 5. Outputs.
  progress({ phase: 'write', done: 0, total: options.formats.length });
  // the earlier build's classes keep their indices while the labels come from the same place
  const sameLabels = JSON.stringify(earlier.manifest?.options?.labels) === JSON.stringify(options.labels);
  const labels = labelOrder([...results.keys()].map((id) => byId.get(id)!.label), sameLabels ? earlier.manifest?.labels : undefined);
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const clips: DatasetClip[] = assigned
    .filter((c) => results.has(c.id))
    .sort((a, b) => SPLITS.indexOf(a.split) - SPLITS.indexOf(b.split) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0) || (a.id < b.id ? -1 : 1))
    .map((c) => {
      const e = results.get(c.id)!;
      return {
        id: c.id,
        path: e.path,
        split: c.split,
        label: c.label,
        labelIndex: labelIndex.get(c.label)!,
        labels: c.labels,
        videoId: c.videoId,
        source: c.sourceUrl,
        youtubeId: c.youtubeId,
        startSec: c.startSec,
        endSec: c.endSec,
        sourceStartSec: c.startSec + (c.sourceOffsetSec ?? 0),
        sourceEndSec: c.endSec + (c.sourceOffsetSec ?? 0),
        ...(c.videoStartSec ? { videoStartSec: c.videoStartSec } : {}),
        writtenStartSec: e.writtenStartSec,
        durationSec: e.durationSec,
        scene: c.scene,
        description: c.description,
        bytes: e.bytes,
        hash: e.hash ?? null,
        mode: e.mode,
      };
    });
  const files: string[] = [writeLabelMap(outDir, labels)];
  if (options.formats.includes('folder')) files.push(...writeKineticsCsv(outDir, clips));
  if (options.formats.includes('mmaction')) files.push(...writeMmactionLists(outDir, clips));
  if (options.formats.includes('webdataset')) files.push(...(await writeWebDataset(outDir, clips, options.shardSize)));

  const perSplit = emptyPerSplit();
  const perClass: Record<string, Record<SplitName, number>> = {};
  for (const c of clips) {
    perSplit[c.split]++;
    (perClass[c.label] ??= emptyPerSplit())[c.split]++;
  }
  const manifestFile = path.join(outDir, MANIFEST);
  files.push(manifestFile);
  const rel = (f: string) => path.relative(outDir, f).split(path.sep).join('/');
  const { outDir: _omit, resplit: _resplit, ...optionsForManifest } = options;
  const manifest: DatasetManifest = {
    format: 'videodex-dataset',
    formatVersion: 1,
    videodexVersion: deps.version ?? videodexVersion(),
    createdAt: new Date().toISOString(),
    query: deps.query ?? null,
    configHash: deps.configHash ?? stableHash(optionsForManifest),
    options: optionsForManifest,
    labels,
    counts: { total: clips.length, videos: new Set(clips.map((c) => c.videoId)).size, perSplit, perClass },
    files: files.map(rel),
    clips,
    duplicates,
    skipped,
    failed,
    splits: splitHistory,
  };
  writeFileAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(path.join(workDir, REBUILDING), { force: true });
  // what an earlier build wrote and this one did not (a split now empty, fewer shards, a format not asked again):
  // left, a loader would read stale lists and shards beside the new ones
  const written = new Set(manifest.files);
  for (const f of previousFiles) {
    if (written.has(f)) continue;
    const abs = path.resolve(outDir, f);
    rmSync(abs, { force: true });
    removeEmptyDirs(path.dirname(abs), outDir);
  }
  progress({ phase: 'write', done: options.formats.length, total: options.formats.length });

  return {
    outDir,
    videos: manifest.counts.videos,
    clips: clips.length,
    perSplit,
    perClass,
    encoded,
    reused,
    copied,
    duplicates,
    skipped,
    failed,
    files: files.map(rel),
    splits: summary(splitHistory),
    emptySplits: clips.length && options.split.kind === 'ratio' ? SPLITS.filter((s) => ratioOf(options.split, s) > 0 && perSplit[s] === 0).map((s) => ({ split: s, ratio: ratioOf(options.split, s) })) : [],
    ms: Date.now() - t0,
  };
}

function ratioOf(split: DatasetOptions['split'], s: SplitName): number {
  return split.kind === 'ratio' ? split.ratios[s] : split.fallback[s];
}

function summary(h: SplitHistory & { sources: Record<string, SplitName> }): SplitHistory {
  const { sources: _sources, ...rest } = h;
  return rest;
}

/**
 * The split history of this build: per source video (splitGroupKey), whether it kept its earlier split, moved,
 * is new or left; and the memory of every source's split, those that left included (forgotten on a re-split).
 */
function historyOf(
  inputs: ReadonlyArray<SplitInput & { earlier?: SplitName }>,
  splits: ReadonlyMap<string, SplitName>,
  before: ReturnType<typeof earlierSplits>,
  earlierManifest: Partial<DatasetManifest> | null,
  resplit: boolean,
): SplitHistory & { sources: Record<string, SplitName> } {
  const groups = new Map<string, { now: Record<SplitName, number>; had: SplitName | undefined }>();
  for (const v of inputs) {
    const key = splitGroupKey(v);
    const g = groups.get(key) ?? groups.set(key, { now: emptyPerSplit(), had: undefined }).get(key)!;
    g.now[splits.get(v.videoId) ?? 'train'] += v.clips;
    g.had ??= v.earlier;
  }
  const sources: Record<string, SplitName> = {};
  if (!resplit) for (const [key, split] of before.bySource) if (!groups.has(key)) sources[key] = split;
  let kept = 0;
  let moved = 0;
  let added = 0;
  for (const [key, g] of groups) {
    const now = mostClips(g.now);
    sources[key] = now;
    if (!g.had) added++;
    else if (g.had === now) kept++;
    else moved++;
  }
  const left = [...before.inClips].filter((key) => !groups.has(key)).length;
  // sorted: a rebuild of the same videos writes the same dataset.json, whatever order the store returned them in
  const sorted = Object.fromEntries(Object.entries(sources).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const hadAny = before.bySource.size + before.byVideo.size > 0;
  const earlierBuild = hadAny && typeof earlierManifest?.createdAt === 'string' ? earlierManifest.createdAt : null;
  return { mode: !hadAny ? 'new' : resplit ? 'resplit' : 'kept', earlierBuild, kept, moved, added, left, sources: sorted };
}

/**
 * The classes in label-index order. Built again into a folder, the earlier build's classes keep their indices (one
 * with no clip now too: a model trained on the earlier build reads its outputs by index) and new ones follow,
 * sorted; a first build sorts them all. An earlier label list that is not a list of distinct strings is ignored.
 */
export function labelOrder(now: readonly string[], earlier: unknown): string[] {
  const fresh = [...new Set(now)].sort();
  if (!Array.isArray(earlier) || !earlier.every((l) => typeof l === 'string') || new Set(earlier).size !== earlier.length) return fresh;
  const kept = new Set<string>(earlier);
  return [...(earlier as string[]), ...fresh.filter((l) => !kept.has(l))];
}
