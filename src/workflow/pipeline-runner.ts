import { rm, stat } from 'node:fs/promises';
import {
  AuditLog,
  ContentCache,
  describeError,
  displayName,
  newVideo,
  ResourceLimits,
  stableHash,
  type Config,
  type Logger,
  type MediaTools,
  type StageEntry,
  type Video,
  type VideoPatch,
  withUserTagsOf,
} from '../core/index.js';
import { unsupportedInput, type Acquired, type ExpandedInputs, type InputItem, type Source } from '../sources/index.js';
import type { InputRecord, VideoStore } from '../store/index.js';
import { inputRow } from './input-status.js';
import type { Failure, InputStatus, RunEvent, RunSummary, StageOutcome } from './run-events.js';
import type { Stage, StageContext } from './stage.js';
import { orderStages } from './stage-order.js';
import { stoppedMeanwhile } from './stop-race.js';
import { displacedBy } from './remove-videos.js';
import { keepingSceneOutputs, mergeSourceInto, mergeTagged, pointedAt, relisted } from './record-merge.js';

export const ACQUIRE_VERSION = '1';

export interface RunnerDeps {
  config: Config;
  logger: Logger;
  tools: MediaTools;
  store: VideoStore;
  sources: readonly Source[];
  stages: readonly Stage[];
  cache: ContentCache;
  audit: AuditLog;
}

export interface RunOptions {
  retryFailed?: boolean;
  /** Stage names to run again even when up to date; 'all' for every stage (acquire included). */
  force?: readonly string[];
  dryRun?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Problems found while expanding inputs, carried into the summary. */
  problems?: ReadonlyArray<{ raw: string; message: string }>;
  /** List rows whose file cannot be read (among the problems too): the acquisition log keeps them as failed. */
  unreadable?: ExpandedInputs['unreadable'];
}

/**
 * Runs the stages over inputs: acquire, then each stage in dependency order under its resource limit, saving
 * the record after every stage. A stage whose version and input hash match its last success is not run again;
 * a failure is recorded on the record and the other videos go on.
 */
export class PipelineRunner {
  readonly stages: readonly Stage[];
  private readonly limits: ResourceLimits;
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly deps: RunnerDeps) {
    this.stages = orderStages(deps.stages);
    const c = deps.config.Concurrency;
    this.limits = new ResourceLimits({ net: c.Downloads, cpu: c.Cpu, ai: c.Ai });
  }

  async run(items: readonly InputItem[], options: RunOptions = {}): Promise<RunSummary> {
    const started = Date.now();
    const emit = options.onEvent ?? (() => undefined);
    const signal = options.signal ?? new AbortController().signal;
    emit({ type: 'start', inputs: items.length, stages: ['acquire', ...this.stages.map((s) => s.name)] });
    const summary: RunSummary = {
      inputs: items.length,
      videos: [],
      done: 0,
      unchanged: 0,
      failed: 0,
      stagesRun: 0,
      stagesUpToDate: 0,
      stagesSkipped: 0,
      failures: [],
      problems: [...(options.problems ?? [])],
      replaced: [],
      ms: 0,
    };
    for (const p of summary.problems) emit({ type: 'input-problem', ...p });
    if (!options.dryRun) {
      for (const u of options.unreadable ?? []) {
        const prior = await this.deps.store.getInput(u.item.key);
        // an input done before keeps its record and its row: the file may be back before the next run
        if (prior?.status !== 'done') await this.deps.store.putInput(itemRow(u.item, prior, { status: 'failed', videoId: null, error: u.error, errorCode: u.errorCode }));
      }
    }
    const c = this.deps.config.Concurrency;
    // Enough videos in flight to keep every resource busy, few enough to bound memory on huge lists.
    const width = Math.min(64, Math.max(2, (c.Downloads + c.Cpu + c.Ai) * 2));
    let next = 0;
    const videos = new Set<string>();
    // `<video id>\0<stage>` of every stage this run ran (or planned) for some input: the same video reached by
    // another input (a copy, another URL) is not forced or retried into running it again, so --force describe
    // over a folder holding a video three times makes one model call, not three.
    const attempted = new Set<string>();
    // Records of files replaced in place whose video was found nowhere yet: settled once every input was read, as
    // another input of the run may hold it (files that went round: a.mp4 now holds b's video, b.mp4 c's, c.mp4
    // a's). One record was removed, and made again from scratch when its file was read just after.
    const unsettled: Unsettled[] | null = items.length > 1 ? [] : null;
    const worker = async () => {
      while (next < items.length && !signal.aborted) {
        const item = items[next++]!;
        const result = await this.processInput(item, options, signal, emit, summary, attempted, unsettled);
        if (result.videoId) videos.add(result.videoId);
        if (result.status === 'done') summary.done++;
        else if (result.status === 'unchanged') summary.unchanged++;
        else if (result.status === 'failed') summary.failed++;
        emit({ type: 'input-end', input: item, videoId: result.videoId, status: result.status, ran: result.ran });
      }
    };
    for (const s of this.deps.sources) s.beginRun?.(items);
    try {
      await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
      for (const u of unsettled ?? []) if (!signal.aborted) await this.settleDisplaced(u.item, u.id, [], summary, emit, null);
    } finally {
      await Promise.all(this.deps.sources.map((s) => s.endRun?.()));
    }
    summary.videos = [...videos];
    summary.ms = Date.now() - started;
    this.deps.logger.info({ summary: { ...summary, videos: summary.videos.length } }, 'run finished');
    return summary;
  }

  /** Serialises work on one video id: two inputs with the same content never race on one record. */
  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    this.locks.set(id, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === chained) this.locks.delete(id);
    }
  }

  private async processInput(
    item: InputItem,
    options: RunOptions,
    signal: AbortSignal,
    emit: (e: RunEvent) => void,
    summary: RunSummary,
    attempted: Set<string>,
    unsettled: Unsettled[] | null,
  ): Promise<{ videoId: string | null; status: InputStatus; ran: number }> {
    const { store, logger } = this.deps;
    const force = new Set(options.force ?? []);
    const forceAll = force.has('all');
    const fail = (f: Omit<Failure, 'input'>) => summary.failures.push({ input: item.raw, ...f });

    // 1. Acquire, unless the acquisition log says this input is already here and unchanged.
    const prior = await store.getInput(item.key);
    const reused = forceAll || force.has('acquire') ? null : await this.reusableAcquisition(item, prior);
    let videoId: string | null = reused?.id ?? null;
    let acquired: Acquired | null = null;
    let ran = 0;

    if (!reused) {
      if (prior?.status === 'failed' && !options.retryFailed && !forceAll && !force.has('acquire')) {
        if (!options.dryRun) await this.notAcquired(item, signal);
        emit({ type: 'stage-end', input: item, videoId: null, stage: 'acquire', outcome: 'failed-before', ms: 0, error: prior.error ?? '', ...(prior.errorCode ? { errorCode: prior.errorCode } : {}) });
        fail({ videoId: null, stage: 'acquire', error: prior.error ?? 'failed earlier', earlier: true });
        return { videoId: null, status: 'failed', ran };
      }
      if (options.dryRun) {
        // a stage its settings skip for every video (describe with no endpoint) is said as a real run says it,
        // not listed as one that would run
        const lines = [`acquire ${item.kind === 'url' ? 'download' : 'read'} ${item.raw}`];
        for (const s of this.stages) {
          const skip = s.settingsSkipReason?.(this.deps.config) ?? null;
          if (skip) {
            summary.stagesSkipped++;
            emit({ type: 'stage-end', input: item, videoId: null, stage: s.name, outcome: 'skipped', ms: 0, error: skip });
          } else lines.push(s.name);
        }
        emit({ type: 'plan', input: item, videoId: null, lines });
        return { videoId: null, status: 'planned', ran };
      }
      emit({ type: 'stage-start', input: item, videoId: null, stage: 'acquire' });
      const t0 = Date.now();
      try {
        const source = this.deps.sources.find((s) => s.canHandle(item));
        if (!source) throw unsupportedInput(item);
        const resource = item.kind === 'url' ? 'net' : 'cpu';
        acquired = await this.limits.run(resource, () =>
          source.acquire(item, {
            config: this.deps.config,
            logger,
            signal,
            tools: this.deps.tools,
            mediaDir: this.deps.config.Paths.MediaDir,
            progress: (done, total) => emit({ type: 'stage-progress', input: item, videoId: null, stage: 'acquire', fraction: total ? done / total : 0 }),
            // a local input's acquisition holds a cpu slot already
            cpu: (job) => (resource === 'cpu' ? job() : this.limits.run('cpu', job)),
          }),
        );
        ran++;
        summary.stagesRun++;
      } catch (err) {
        // Stopped (Ctrl-C), not failed: nothing is recorded, so the next run resumes the download (its .part is
        // kept) instead of reporting a failure "from an earlier run" that only --retry-failed would redo. (A tool
        // the Ctrl-C killed first is told apart there.)
        if (await stoppedMeanwhile(err, signal)) return { videoId: null, status: 'aborted', ran };
        const message = describeError(err);
        const code = (err as { code?: string }).code ?? null;
        await store.putInput(itemRow(item, prior, { status: 'failed', videoId: null, error: message, errorCode: code }));
        logger.warn({ input: item.raw, err: message, code }, 'acquire failed');
        emit({ type: 'stage-end', input: item, videoId: null, stage: 'acquire', outcome: 'failed', ms: Date.now() - t0, error: message, ...(code ? { errorCode: code } : {}) });
        fail({ videoId: null, stage: 'acquire', error: message, earlier: false });
        return { videoId: null, status: 'failed', ran };
      }
      videoId = acquired.sha256.slice(0, this.deps.config.General.IdLength);
      emit({ type: 'stage-end', input: item, videoId, stage: 'acquire', outcome: 'done', ms: Date.now() - t0 });
      const info = item.kind === 'local' ? await stat(item.path!).catch(() => null) : null;
      await store.putInput(
        itemRow(item, prior, {
          status: 'done',
          videoId,
          bytes: acquired.bytes,
          fileSize: info?.size ?? null,
          fileMtimeMs: info?.mtimeMs ?? null,
        }),
      );
    } else {
      if (!options.dryRun) await this.notAcquired(item, signal);
      summary.stagesUpToDate++;
      emit({ type: 'stage-end', input: item, videoId, stage: 'acquire', outcome: 'up-to-date', ms: 0 });
    }

    const id = videoId!;
    const { vacated, ...result } = await this.withLock(id, () => this.recordAndRun(item, id, acquired, reused, options, signal, emit, summary, ran, attempted));
    // A whole local file (not a list row's segment, which is a clip of it) just hashed, or unchanged since it was,
    // holds this video: a record saying another video is there is out of date (the file was replaced in place).
    // Checked on every run, so a run stopped before this point is made good by the next. After the video's own
    // lock: each displaced record is changed under its own.
    const whole = item.kind === 'local' && item.path !== undefined && item.list?.start === undefined && item.list?.end === undefined;
    if (whole && result.videoId === id && !options.dryRun && !signal.aborted) await this.settleDisplaced(item, id, vacated ? [vacated] : [], summary, emit, unsettled);
    return result;
  }

  /**
   * Updates the records that said their video was at `item`'s file, which holds `id` now (see `displacedBy`), and
   * reports each. With `unsettled`, one whose video was found nowhere is kept there for the end of the run.
   */
  private async settleDisplaced(item: InputItem, id: string, vacated: string[], summary: RunSummary, emit: (e: RunEvent) => void, unsettled: Unsettled[] | null): Promise<void> {
    const { store, logger } = this.deps;
    try {
      const found = await displacedBy(store, this.deps.config, item.path!, id, (other, fn) => this.withLock(other, fn), { vacated, defer: unsettled !== null });
      for (const d of found) {
        if (d.deferred) {
          if (!unsettled!.some((u) => u.item === item)) unsettled!.push({ item, id });
          continue;
        }
        logger.info({ input: item.raw, id, replaced: d.id, repointedTo: d.repointedTo ?? null }, d.repointedTo ? 'file replaced in place: the record of the video that was there points at a copy it lists' : 'file replaced in place: the record of the video that was there is removed');
        summary.replaced.push({ input: item.raw, id: d.id, by: id, ...(d.repointedTo ? { repointedTo: d.repointedTo } : {}) });
        emit({ type: 'replaced', input: item, videoId: id, replaced: d.id, ...(d.repointedTo ? { repointedTo: d.repointedTo } : {}) });
      }
    } catch (err) {
      // the input's own work is done and kept; the stale record stays for the next run (or `remove --missing`)
      logger.warn({ input: item.raw, id, err: describeError(err) }, 'could not update the records of the video this file replaced');
    }
  }

  /** Stores the acquisition on the record (a new one, or the record of a video seen before) and runs the stages. */
  private async recordAndRun(
    item: InputItem,
    id: string,
    acquired: Acquired | null,
    reused: Video | null,
    options: RunOptions,
    signal: AbortSignal,
    emit: (e: RunEvent) => void,
    summary: RunSummary,
    ran: number,
    attempted: Set<string>,
  ): Promise<{ videoId: string | null; status: InputStatus; ran: number; vacated?: string }> {
    const { store, logger } = this.deps;
    // the path the record pointed at, left because it no longer holds this video (see below)
    let vacated: string | undefined;
    // read under the lock: `reused` was read before it, and another input of the same video (a copy, another
    // URL) may have run stages on the record since; starting from the older copy ran them all again and saved
    // over what that input wrote
    let video = (await store.get(id)) ?? reused;
    if (acquired) {
      const now = new Date().toISOString();
      const entry: StageEntry = { status: 'done', version: ACQUIRE_VERSION, inputHash: acquired.sha256.slice(0, 32), at: now, ms: 0 };
      if (!video) {
        video = newVideo(id, acquired.source, { path: acquired.path, bytes: acquired.bytes, sha256: acquired.sha256, storage: acquired.storage }, now);
      } else {
        // the same source with another list row (a label fixed, --force acquire) takes the row
        video = mergeSourceInto(video, acquired.source);
        video = relisted(video, item) ?? video;
        const here = await stat(video.file.path).catch(() => null);
        // The earlier copy may be gone; point at the one we have now.
        if (!here) video = await pointedAt(video, acquired.path, acquired.storage, { forgetGone: false });
        else if (acquired.path !== video.file.path && acquired.storage === 'reference' && (video.file.storage ?? 'reference') === 'reference' && (await this.changedSinceHashed(video.file.path, id, here))) {
          // The user's file it pointed at changed since it was hashed (saved over, or swapped with this one): the
          // path just hashed holds the video for sure. Left pointing there, the record was taken for the video
          // "replaced in place" when that path was processed, and removed (and made again from scratch when this
          // file was processed after it). That path is no longer listed as a place of this video.
          vacated = video.file.path;
          video = await pointedAt(video, acquired.path, 'reference', { forgetGone: false, forget: video.file.path });
        }
        // Otherwise this is a second copy of a video already kept (another URL, a copy of the same file): one
        // videodex made itself is removed, so media holds each video once. A file of the user's is never touched.
        else if (acquired.path !== video.file.path && acquired.storage !== 'reference') await rm(acquired.path, { force: true });
      }
      video = mergeTagged(video, acquired.tags ?? [], acquired.categories ?? []);
      video = { ...video, stages: { ...video.stages, acquire: entry }, updatedAt: now };
      await store.upsert(video);
    } else if (video) {
      const relabelled = relisted(video, item);
      if (relabelled) {
        logger.info({ input: item.raw, id, list: relabelled.source.list ?? null }, 'list row changed since acquisition: the record takes it');
        video = { ...relabelled, updatedAt: new Date().toISOString() };
        if (!options.dryRun) await store.upsert(video);
      }
    }
    if (!video) throw new Error(`internal: record ${id} vanished`);
    return { ...(await this.runStages(item, video, options, signal, emit, summary, ran, attempted)), ...(vacated ? { vacated } : {}) };
  }

  /** Tells the source of an input that needs no acquisition now (see `Source.notAcquired`). */
  private async notAcquired(item: InputItem, signal: AbortSignal): Promise<void> {
    const source = this.deps.sources.find((s) => s.canHandle(item));
    await source?.notAcquired?.(item, { mediaDir: this.deps.config.Paths.MediaDir, logger: this.deps.logger, signal });
  }

  /**
   * Whether the acquisition log says the local file at `file` changed since it was hashed to `id` (another video
   * hashed there since, or its size or modification time differ). False when the log knows nothing of it: the
   * record is then left as it was.
   */
  private async changedSinceHashed(file: string, id: string, info: { size: number; mtimeMs: number }): Promise<boolean> {
    const row = await this.deps.store.getInput(file);
    if (row?.status !== 'done' || !row.videoId) return false;
    return row.videoId !== id || row.fileSize !== info.size || row.fileMtimeMs !== info.mtimeMs;
  }

  /** The stored record when this input was acquired before and its file is unchanged and still there. */
  private async reusableAcquisition(item: InputItem, prior: InputRecord | null): Promise<Video | null> {
    if (prior?.status !== 'done' || !prior.videoId) return null;
    if (item.kind === 'local') {
      const info = await stat(item.path!).catch(() => null);
      if (!info || info.size !== prior.fileSize || info.mtimeMs !== prior.fileMtimeMs) return null;
    }
    const video = await this.deps.store.get(prior.videoId);
    if (!video) return null;
    if (!(await stat(video.file.path).catch(() => null))) return null;
    return video;
  }

  private async runStages(
    item: InputItem,
    start: Video,
    options: RunOptions,
    signal: AbortSignal,
    emit: (e: RunEvent) => void,
    summary: RunSummary,
    ranSoFar: number,
    attempted: Set<string>,
  ): Promise<{ videoId: string; status: InputStatus; ran: number }> {
    const { store, logger, config, cache } = this.deps;
    const force = new Set(options.force ?? []);
    let video = start;
    let ran = ranSoFar;
    let failed = false;
    const plan: string[] = [];
    // A dry run runs nothing, so a stage after one it would run still looks up to date; the plan lists it too.
    const plannedStages = new Set<string>();
    // A person may edit the record's tags (`videodex tag`) while this run holds its copy (a slow model answer). The
    // store keeps their edits over every write of the copy; the copy takes them before the first stage that reads
    // them, and when a write after that stage finds them changed, that stage and the ones after it run again with
    // them, or this run's tags, computed from the old edits, were left over the edit's.
    const firstReader = options.dryRun ? -1 : this.stages.findIndex((s) => s.readsUserEdits);
    // `wrote`: since the last look at the stored edits; `ranAny`: since the copy was read (just before this), so a
    // run with every stage up to date reads nothing more
    let wrote = false;
    let ranAny = false;
    // stages this input has ended: a pass run again after a hand edit ends them again (said as `repeat`)
    const ended = new Set<string>();
    const save = async () => {
      await store.upsert(video);
      wrote = ranAny = true;
    };

    for (let i = 0; ; i++) {
      if (wrote && firstReader >= 0 && i > firstReader) {
        const stored = await store.get(video.id);
        const now = stored ? withUserTagsOf(video, stored) : video;
        if (now !== video) {
          logger.info({ video: video.id, input: item.raw }, 'tags edited by hand meanwhile: tagging again with the edits');
          video = now;
          i = firstReader;
        }
      }
      wrote = false;
      const stage = this.stages[i];
      if (!stage) break;
      if (signal.aborted) return { videoId: video.id, status: 'aborted', ran };
      if (i === firstReader && ranAny) {
        const stored = await store.get(video.id);
        if (stored) video = withUserTagsOf(video, stored);
      }
      const end = (outcome: StageOutcome, ms: number, error?: string, errorCode?: string) => {
        const repeat = ended.has(stage.name);
        ended.add(stage.name);
        emit({ type: 'stage-end', input: item, videoId: video.id, stage: stage.name, outcome, ms, ...(error ? { error } : {}), ...(errorCode ? { errorCode } : {}), ...(repeat ? { repeat } : {}) });
      };
      const blockedBy = stage.needs.find((n) => !['done', 'skipped'].includes(video.stages[n]?.status ?? ''));
      if (blockedBy) {
        end('blocked', 0, `${blockedBy} did not finish`);
        continue;
      }
      const skip = stage.skipReason?.(video, config) ?? null;
      if (skip) {
        summary.stagesSkipped++;
        if (video.stages[stage.name]?.status !== 'skipped' || video.stages[stage.name]?.reason !== skip) {
          video = withEntry(video, stage.name, { status: 'skipped', version: stage.version, inputHash: '', at: new Date().toISOString(), ms: 0, reason: skip });
          if (!options.dryRun) await save();
        }
        end('skipped', 0, skip);
        continue;
      }
      const inputHash = stage.inputHash(video, config);
      const prev = video.stages[stage.name];
      const same = prev?.version === stage.version && prev.inputHash === inputHash;
      const attemptKey = `${video.id}\0${stage.name}`;
      const again = attempted.has(attemptKey);
      const forced = !again && (force.has(stage.name) || force.has('all'));
      const retry = !again && Boolean(options.retryFailed);
      const after = options.dryRun ? stage.needs.find((n) => plannedStages.has(n)) : undefined;
      // A record that lost what the stage wrote (an older release dropped keyframe paths) is not up to date
      // whatever its input hash says: the next run repairs it.
      const lost = stage.outputMissing?.(video, config) ?? false;
      if (same && prev?.status === 'done' && !forced && !after && !lost) {
        summary.stagesUpToDate++;
        end('up-to-date', 0);
        continue;
      }
      if (same && prev?.status === 'failed' && !forced && !after && !retry) {
        failed = true;
        // failed in this run for another input of the video: counted there, and not "from an earlier run"
        if (!again) summary.failures.push({ input: item.raw, videoId: video.id, stage: stage.name, error: prev.error ?? 'failed earlier', earlier: true });
        end('failed-before', 0, prev.error, prev.errorCode);
        continue;
      }
      const ctx = this.context(item, video, signal, emit, stage, forced);
      attempted.add(attemptKey);
      if (options.dryRun) {
        const planned = stage.plan ? await stage.plan(video, ctx).catch((e) => `plan failed: ${describeError(e)}`) : '';
        const detail = typeof planned === 'string' ? planned : planned.text;
        if (typeof planned !== 'string' && planned.estimatedTokens) summary.estimatedTokens = (summary.estimatedTokens ?? 0) + planned.estimatedTokens;
        const why = after && same && !forced ? `may run again after ${after}` : '';
        plan.push([stage.name, [detail, why].filter(Boolean).join('; ')].filter(Boolean).join(': '));
        plannedStages.add(stage.name);
        continue;
      }
      const cacheKey = stage.cacheable ? ContentCache.key(video.file.sha256, stage.name, stage.version, inputHash) : null;
      const cached = cacheKey && !forced ? cache.get<VideoPatch>(cacheKey) : undefined;
      const t0 = Date.now();
      if (cached) {
        video = applyPatch(video, cached, stage.name, { status: 'done', version: stage.version, inputHash, at: new Date().toISOString(), ms: 0 });
        await save();
        summary.stagesUpToDate++;
        end('cached', 0);
        continue;
      }
      emit({ type: 'stage-start', input: item, videoId: video.id, stage: stage.name });
      try {
        const patch = await this.limits.run(stage.resource, () => (signal.aborted ? Promise.reject(new Error('aborted')) : stage.run(video, ctx)));
        const ms = Date.now() - t0;
        // Cached before the record is written: a kill or a failed write in between must not lose a paid-for result.
        // A cache that cannot be written (a full disk) leaves the result to the record alone: failing the stage
        // threw the result away, and the next run paid for the model's answer again.
        if (cacheKey) {
          try {
            cache.put(cacheKey, patch);
          } catch (cacheErr) {
            logger.warn({ video: video.id, input: item.raw, stage: stage.name, err: describeError(cacheErr) }, 'stage result not cached (kept with the record only)');
          }
        }
        video = applyPatch(video, patch, stage.name, { status: 'done', version: stage.version, inputHash, at: new Date().toISOString(), ms });
        await save();
        ran++;
        summary.stagesRun++;
        end('done', ms);
      } catch (err) {
        // a stage cut short by Ctrl-C is not a failure of the video: the next run runs it again (also when the
        // Ctrl-C killed the stage's ffmpeg before this process heard of it)
        if (await stoppedMeanwhile(err, signal)) return { videoId: video.id, status: 'aborted', ran };
        const ms = Date.now() - t0;
        const message = describeError(err);
        const code = (err as { code?: string }).code;
        failed = true;
        video = withEntry(video, stage.name, { status: 'failed', version: stage.version, inputHash, at: new Date().toISOString(), ms, error: message, ...(code ? { errorCode: code } : {}) });
        await save();
        logger.warn({ video: video.id, input: item.raw, stage: stage.name, err: message, code }, 'stage failed');
        summary.failures.push({ input: item.raw, videoId: video.id, stage: stage.name, error: message, earlier: false, videoName: displayName(video) });
        ran++;
        summary.stagesRun++;
        end('failed', ms, message, code);
      }
    }
    if (options.dryRun) {
      emit({ type: 'plan', input: item, videoId: video.id, lines: plan });
      return { videoId: video.id, status: 'planned', ran };
    }
    return { videoId: video.id, status: failed ? 'failed' : ran === 0 ? 'unchanged' : 'done', ran };
  }

  private context(item: InputItem, video: Video, signal: AbortSignal, emit: (e: RunEvent) => void, stage: Stage, forced = false): StageContext {
    const { config, logger, tools, cache, audit } = this.deps;
    return {
      config,
      logger: logger.child({ video: video.id, stage: stage.name }),
      tools,
      cache,
      audit,
      signal,
      ...(forced ? { forced } : {}),
      progress: (fraction) => emit({ type: 'stage-progress', input: item, videoId: video.id, stage: stage.name, fraction }),
      // a cpu stage holds a slot already: asking for a second one would wait on itself when Cpu = 1
      cpu: (job) => (stage.resource === 'cpu' ? job() : this.limits.run('cpu', job)),
    };
  }
}

/** A file replaced in place whose old record's video was found nowhere yet in the run (see `settleDisplaced`). */
interface Unsettled {
  item: InputItem;
  id: string;
}

function withEntry(video: Video, name: string, entry: StageEntry): Video {
  return { ...video, stages: { ...video.stages, [name]: entry }, updatedAt: entry.at };
}

function applyPatch(video: Video, patch: VideoPatch, name: string, entry: StageEntry): Video {
  return withEntry({ ...video, ...keepingSceneOutputs(video, patch) }, name, entry);
}

/** The acquisition log row of `item` (see `inputRow`), under its list when it is a list's row. */
function itemRow(item: InputItem, prior: InputRecord | null, fields: Partial<InputRecord> & Pick<InputRecord, 'status' | 'videoId'>): InputRecord {
  return inputRow(item.key, prior, { listFile: item.list?.file ?? null, ...fields });
}

/** Hash helper for stages: a stable hash of the given values. */
export function hashInputs(...values: unknown[]): string {
  return stableHash(values);
}
