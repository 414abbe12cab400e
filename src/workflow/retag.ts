import { type Config, type Logger, type StageEntry, type Video } from '../core/index.js';
import { matchesEveryRecord, selectedRecords, type IterateOptions, type SearchQuery, type PreparedTagUpdate, type StagesMove, type TagStateRow, type TagStateVisit, type TagUpdate, type VideoStore } from '../store/index.js';

/** One part of a split of the records (`VideoStore.iterate`'s shard). */
export type Part = NonNullable<IterateOptions['shard']>;
import {
  classifyInputs,
  classifyRecord,
  inputParts,
  CLASSIFY_STATE_KEY,
  createTaggingSetup,
  matchesTaggingState,
  setupFingerprints,
  planRuleEdit,
  ruleSubjectView,
  TAGGING_STATE_KEY,
  taggingInputs,
  tagRecord,
  tagRecordSync,
  type RuleEditPlan,
  type Tagger,
  type TaggingSetup,
  type TaggingSetupOptions,
} from '../tagging/index.js';
import { createClassifyStage } from './stages/classify-stage.js';
import { createTagStage, type HashingStage } from './stages/tag-stage.js';

/** A setup records may have been tagged with, and what going from it to the current one can change. */
export interface EarlierSetup {
  tagStage: HashingStage;
  classifyStage: HashingStage;
  plan: RuleEditPlan;
}

/**
 * The earlier setups (newest first, e.g. from the setup ledger) that differ from `current` only in rules that
 * `planRuleEdit` can reason about. The others are dropped: their records are recomputed.
 */
export function earlierSetups(current: TaggingSetup, earlier: readonly TaggingSetupOptions[]): EarlierSetup[] {
  const out: EarlierSetup[] = [];
  for (const options of earlier) {
    let setup: TaggingSetup;
    try {
      // the files are parsed only for setups that differ from the current one in their rules alone
      const f = setupFingerprints(options);
      if (f.fingerprint === current.fingerprint || f.baseFingerprint !== current.baseFingerprint) continue;
      setup = createTaggingSetup(options);
    } catch {
      continue; // a ledger entry that no longer parses (an older rules language) helps no record
    }
    const plan = planRuleEdit(setup.rules, current.rules);
    if (plan) out.push({ tagStage: createTagStage(setup), classifyStage: createClassifyStage(setup), plan });
  }
  return out;
}

export interface RetagOptions {
  store: VideoStore;
  config: Config;
  logger: Logger;
  setup: TaggingSetup;
  /** The `tag` and `classify` stages as built for the pipeline: their versions and input hashes are recorded. */
  tagStage: HashingStage;
  classifyStage: HashingStage;
  /**
   * Setups the records may have been tagged with, newest first (the setup ledger's). A record tagged with one of
   * them that differs from `setup` only in rules (see `earlierSetups`), whose inputs and labels are as that
   * tagging left them, and which no changed rule treats differently, is not recomputed: only its stage entries
   * move to the current setup. Unused with plugin taggers or `force`.
   */
  earlier?: readonly TaggingSetupOptions[];
  /** Plugin taggers (already adapted); none keeps retag on its fast synchronous path. */
  pluginTaggers?: readonly Tagger[];
  query?: SearchQuery;
  /**
   * Parts of the records taken one at a time until it answers null (each a `VideoStore.iterate` shard): how the
   * threads of a parallel retag share a pass, a faster thread (or one that started sooner) taking more parts.
   */
  claimShard?: () => Part | null;
  /** Compute and count, write nothing. */
  dryRun?: boolean;
  /** Recompute records whose tag and classify stages are already up to date with these rules (default: skip them). */
  force?: boolean;
  /** Records written per transaction where the store can batch. */
  batchSize?: number;
  onProgress?: (seen: number) => void;
  /** Stops before the next record once `aborted` (an AbortSignal, or a worker's view of its stop flag). */
  signal?: { readonly aborted: boolean };
}

export interface RetagSummary {
  seen: number;
  /** Records already up to date with the current rules and taxonomy (not recomputed unless forced). */
  upToDate: number;
  /** Records whose tags or categories changed (written unless dry run). */
  changed: number;
  /** Records recomputed (new rules or taggers) whose tags and categories came out as they were. */
  same: number;
  /** Records a rule edit could not change, told by evaluating the changed rules alone (see rule-diff.ts). */
  unaffected: number;
  /** Records whose probe failed: tagging needs it, so neither `process` nor retag tags them (left as they are). */
  skipped: number;
  tagsAdded: number;
  tagsRemoved: number;
  categoriesAdded: number;
  categoriesRemoved: number;
  /** Records whose tagging failed (a plugin tagger threw); recorded on the record as a failed `tag` stage. */
  failed: Array<{ id: string; error: string }>;
  ms: number;
}

const names = (list: ReadonlyArray<{ name: string }>) => new Set(list.map((t) => t.name));

function diff(before: Set<string>, after: Set<string>): [number, number] {
  let added = 0;
  let removed = 0;
  for (const a of after) if (!before.has(a)) added++;
  for (const b of before) if (!after.has(b)) removed++;
  return [added, removed];
}

/** The entry retag writes for a stage done on inputs whose digest is `digest`: the digest kept, for the next retag. */
function doneEntry(stage: HashingStage, digest: string, at: string, inputHash = stage.hashDigest(digest)): StageEntry {
  return { status: 'done', version: stage.version, inputHash, inputDigest: digest, at, ms: 0 };
}

/** Whether a stage entry is done by this stage version with this input hash. */
function isDone(entry: StageEntry | undefined, stage: HashingStage, inputHash: string): boolean {
  return entry?.status === 'done' && entry.version === stage.version && entry.inputHash === inputHash;
}

/** Equal plain values; JSON only for nested objects (rare on tags), so the common case allocates nothing. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Same items in the same order, each with the same own fields: what `JSON.stringify` equality meant, cheaper. */
export function sameItems(a: ReadonlyArray<object>, b: ReadonlyArray<object>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Record<string, unknown>;
    const y = b[i] as Record<string, unknown>;
    let nx = 0;
    for (const k in x) {
      if (x[k] === undefined) continue;
      nx++;
      if (!sameValue(x[k], y[k])) return false;
    }
    let ny = 0;
    for (const k in y) if (y[k] !== undefined) ny++;
    if (nx !== ny) return false;
  }
  return true;
}

/** Tagging's carry state (see record-tagging.ts) as it was: same carried items, same produced keys. */
function sameState(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const x = a as { carried?: unknown; produced?: unknown } | undefined;
  const y = b as { carried?: unknown; produced?: unknown } | undefined;
  if (!x || !y || !Array.isArray(x.carried) || !Array.isArray(y.carried) || !Array.isArray(x.produced) || !Array.isArray(y.produced)) return false;
  return sameItems(x.carried as object[], y.carried as object[]) && x.produced.length === y.produced.length && x.produced.every((k, i) => k === (y.produced as unknown[])[i]);
}

/** `extra` as retag rebuilt it (the other keys are carried over as they were) equal to what was stored. */
function sameExtra(before: Video['extra'], after: Video['extra']): boolean {
  if (before === after) return true;
  if (!before || !after || Object.keys(before).length !== Object.keys(after).length) return false;
  for (const k in after) {
    if (!(k in before)) return false;
    if (k === TAGGING_STATE_KEY || k === CLASSIFY_STATE_KEY ? !sameState(before[k], after[k]) : before[k] !== after[k]) return false;
  }
  return true;
}

/**
 * Whether `video` was tagged and classified with one of the earlier setups, on the inputs it has now, its labels
 * are as that left them, and the rules that setup and the current one do not share act on it alike.
 */
function unaffectedByEdit(video: Video, tagDigest: string, classifyDigest: () => string, earlier: readonly EarlierSetup[]): boolean {
  const tag = video.stages.tag;
  const cls = video.stages.classify;
  if (tag?.status !== 'done' || cls?.status !== 'done') return false;
  const e = taggedWith(tag, cls, tagDigest, classifyDigest, earlier);
  return e !== null && matchesTaggingState(video) && e.plan.unaffected(video);
}

/** The earlier setup whose stage versions and hashes of these input digests are the entries' own, if any. */
function taggedWith(tag: StageEntry, cls: StageEntry, tagDigest: string, classifyDigest: () => string, earlier: readonly EarlierSetup[]): EarlierSetup | null {
  for (const e of earlier) {
    if (tag.version !== e.tagStage.version || cls.version !== e.classifyStage.version) continue;
    if (e.tagStage.hashDigest(tagDigest) === tag.inputHash && e.classifyStage.hashDigest(classifyDigest()) === cls.inputHash) return e;
  }
  return null;
}

/**
 * What a record's tag state tells without reading the record (see `VideoStore.iterateTagStates`): 'up to date',
 * the stages to move it to (tagged with an earlier setup, inputs as they were, and the rule edit acts on it alike),
 * 'recompute' (the same, but the edit may change it), or null: read it and see. A tag state is there only while
 * the record is as retag last checked it, so the input digests in its entries are still those of the record.
 */
function judgeByTagState(row: TagStateRow, tagStage: HashingStage, classifyStage: HashingStage, earlier: readonly EarlierSetup[]): 'upToDate' | 'recompute' | StagesMove | null {
  const tag = row.stages?.tag;
  const cls = row.stages?.classify;
  if (row.tagState === null || tag?.status !== 'done' || cls?.status !== 'done' || !tag.inputDigest || !cls.inputDigest) return null;
  // the hashes under the current setup, once: what the entries are checked against, and what a move writes
  const tagHash = tagStage.hashDigest(tag.inputDigest);
  const clsHash = classifyStage.hashDigest(cls.inputDigest);
  if (isDone(tag, tagStage, tagHash) && isDone(cls, classifyStage, clsHash)) return 'upToDate';
  const e = taggedWith(tag, cls, tag.inputDigest, () => cls.inputDigest!, earlier);
  if (!e) return null;
  if (!e.plan.unaffected(JSON.parse(row.tagState) as Video)) return 'recompute';
  const now = new Date().toISOString();
  return { id: row.id, stages: { ...row.stages, tag: doneEntry(tagStage, tag.inputDigest, now, tagHash), classify: doneEntry(classifyStage, cls.inputDigest, now, clsHash) }, was: row.storedStages! };
}

/** The records of each part `claim` hands out, part after part, until it has none left. */
async function* claimedRecords(store: VideoStore, query: SearchQuery, claim: () => Part | null): AsyncGenerator<Video> {
  for (let shard = claim(); shard; shard = claim()) yield* selectedRecords(store, query, { shard });
}

/** Every record by its tag state (see `VideoStore.iterateTagStates`), part after part as `claim` hands them out (or all, without one). */
async function* claimedTagStates<T>(store: TagStateStore, judge: (row: TagStateRow) => T | null, claim: (() => Part | null) | undefined): AsyncGenerator<TagStateVisit<T>> {
  if (!claim) {
    yield* store.iterateTagStates(judge);
    return;
  }
  for (let shard = claim(); shard; shard = claim()) yield* store.iterateTagStates(judge, { shard });
}

type TagStateStore = VideoStore & Required<Pick<VideoStore, 'iterateTagStates'>>;

/**
 * Re-runs tagging and classification over stored records: no download, no ffmpeg, no model call. Only
 * `tags`, `categories`, tagging's own state in `extra` and the two stage entries change; a record whose
 * result is the same is not written. Streams the store, so memory stays flat whatever the library size.
 *
 * Over every record of a store that keeps tag states (SQLite), the pass walks those instead of the documents: a
 * record retag checked before, and nothing wrote since, is found up to date, or moved to the current setup after
 * a rule edit that cannot change it, without reading its document; only the others are read and recomputed.
 */
export async function retagRecords(options: RetagOptions): Promise<RetagSummary> {
  const { store, config, logger, setup, tagStage, classifyStage } = options;
  const started = Date.now();
  const plugins = options.pluginTaggers ?? [];
  const ctx = { config, logger };
  const summary: RetagSummary = { seen: 0, upToDate: 0, changed: 0, same: 0, unaffected: 0, skipped: 0, tagsAdded: 0, tagsRemoved: 0, categoriesAdded: 0, categoriesRemoved: 0, failed: [], ms: 0 };
  const batchSize = options.batchSize ?? 500;
  const query = options.query ?? {};
  // tag states are kept by retag alone, for its plain pass over every record (plugin taggers run elsewhere)
  const tagStates = store.iterateTagStates && plugins.length === 0 && !options.force && matchesEveryRecord(query) ? (store as TagStateStore) : null;
  // Updates as the store prepared them where it can (SQLite): a batch held until written then holds strings, not
  // the records read and re-tagged, which outlived the young generation (a large edit on two threads 7-10% faster).
  const prepare = store.updateTags && store.prepareTagUpdate && !options.dryRun ? store.prepareTagUpdate.bind(store) : null;
  let pending: Array<TagUpdate | PreparedTagUpdate> = [];
  let moves: StagesMove[] = [];
  // A full batch is offered to a store whose writers take turns without waiting for the lock: when another thread
  // holds it, this one goes on re-tagging and offers the grown batch again a quarter batch later, and waits only
  // at four batches (and at the end).
  let offerAt = batchSize;
  const flush = async (final = false) => {
    if ((pending.length === 0 && moves.length === 0) || options.dryRun) {
      pending = [];
      moves = [];
      return;
    }
    // updateTags writes only what re-tagging changed; the others rewrite whole records
    if (store.updateTags) {
      const size = pending.length + moves.length;
      const written = await store.updateTags(pending, moves, final || size >= 4 * batchSize ? {} : { wait: false });
      if (written === false) {
        offerAt = size + Math.ceil(batchSize / 4);
        return;
      }
    } else {
      // (updates are prepared only for a store that has updateTags)
      const records = (pending as TagUpdate[]).map((c) => c.after);
      if (store.upsertMany) await store.upsertMany(records);
      else for (const r of records) await store.upsert(r);
    }
    pending = [];
    moves = [];
    offerAt = batchSize;
  };
  const write = async (update: TagUpdate, tagState?: string) => {
    if (tagStates && update.after.stages.tag?.status === 'done') update.tagState = tagState ?? JSON.stringify(ruleSubjectView(update.after));
    pending.push(prepare ? prepare(update) : update);
    if (pending.length + moves.length >= offerAt) await flush();
  };
  const progress = () => {
    if (summary.seen % 1000 === 0) options.onProgress?.(summary.seen);
  };
  const earlier = plugins.length > 0 || options.force ? [] : earlierSetups(setup, options.earlier ?? []);

  /**
   * One record read from the store: checked, and recomputed unless its stages say it is up to date. `judged`: the
   * digest of its tagging inputs and its tag state, when that already told that it must be recomputed (re-tagging
   * changes no field the tag state holds, so it stays).
   */
  const retagOne = async (video: Video, judged?: { digest: string; tagState: string }): Promise<void> => {
    // the tag stage needs the probe's (as in the pipeline): a corrupt file's record got file-name tags from retag
    // that `process` never gives it. A record with no probe entry at all (imported, made by hand) is tagged.
    if (video.stages.probe?.status === 'failed') {
      summary.skipped++;
      return;
    }
    let next: Video;
    let now = '';
    try {
      // each inputs string is built and digested once: the current setup and the earlier ones hash the digest
      const parts = inputParts(video);
      const tagDigest = judged?.digest ?? tagStage.digestInputs(taggingInputs(video, parts));
      let classifyDigest: string | null = null;
      const classifyDigestOnce = () => (classifyDigest ??= classifyStage.digestInputs(classifyInputs(video, parts)));
      if (judged === undefined && !options.force && isDone(video.stages.tag, tagStage, tagStage.hashDigest(tagDigest)) && isDone(video.stages.classify, classifyStage, classifyStage.hashDigest(classifyDigestOnce()))) {
        // up to date with these rules, taxonomy and taggers: tagging is deterministic, nothing would change
        summary.upToDate++;
        if (tagStates && matchesTaggingState(video)) {
          // read because it had no tag state (written by \`process\`, an older retag, any full write): with the
          // digests and the tag state the next pass need not read it. Not for labels changed since tagging, which
          // a rule edit must recompute (see \`unaffectedByEdit\`).
          const stages = { ...video.stages, tag: { ...video.stages.tag!, inputDigest: tagDigest }, classify: { ...video.stages.classify!, inputDigest: classifyDigestOnce() } };
          await write({ before: video, after: { ...video, stages } });
        }
        return;
      }
      now = new Date().toISOString();
      if (judged === undefined && earlier.length > 0 && unaffectedByEdit(video, tagDigest, classifyDigestOnce, earlier)) {
        // tagged with an earlier setup that this one differs from only in rules that do not touch this record:
        // its labels stay, and its stage entries say it is up to date with the current setup
        summary.unaffected++;
        const stages = { ...video.stages, tag: doneEntry(tagStage, tagDigest, now), classify: doneEntry(classifyStage, classifyDigestOnce(), now) };
        await write({ before: video, after: { ...video, stages } });
        return;
      }
      const tagged = plugins.length > 0 ? await tagRecord(video, setup, ctx, plugins) : tagRecordSync(video, setup, ctx);
      const afterTag: Video = { ...video, ...tagged };
      const classified = classifyRecord(afterTag, setup);
      // re-tagging changed the tags the classify string reads, not the parts
      const stages = { ...video.stages, tag: doneEntry(tagStage, tagDigest, now), classify: doneEntry(classifyStage, classifyStage.digestInputs(classifyInputs(afterTag, parts)), now) };
      next = { ...afterTag, ...classified, stages };
    } catch (err) {
      now ||= new Date().toISOString();
      const message = err instanceof Error ? err.message : String(err);
      summary.failed.push({ id: video.id, error: message });
      logger.warn({ video: video.id, err: message }, 'retag failed');
      const entry: StageEntry = { status: 'failed', version: tagStage.version, inputHash: '', at: now, ms: 0, error: message, ...((err as { code?: string }).code ? { errorCode: (err as { code: string }).code } : {}) };
      await write({ before: video, after: { ...video, stages: { ...video.stages, tag: entry }, updatedAt: now } });
      return;
    }
    const sameTags = sameItems(next.tags, video.tags);
    const sameCategories = sameItems(next.categories, video.categories);
    const sameStages = isDone(video.stages.tag, tagStage, next.stages.tag!.inputHash) && isDone(video.stages.classify, classifyStage, next.stages.classify!.inputHash);
    if (sameTags && sameCategories) summary.same++;
    if (sameTags && sameCategories && sameStages) return;
    if (!sameTags || !sameCategories) {
      summary.changed++;
      const [ta, tr] = diff(names(video.tags), names(next.tags));
      const [ca, cr] = diff(names(video.categories), names(next.categories));
      summary.tagsAdded += ta;
      summary.tagsRemoved += tr;
      summary.categoriesAdded += ca;
      summary.categoriesRemoved += cr;
    }
    const after: Video =
      sameTags && sameCategories && sameExtra(video.extra, next.extra)
        ? // only the stage bookkeeping moved (new rules, same outcome): the record is otherwise the object read, so
          // the store can write just the stages, and `updatedAt` stays (the record's content did not change)
          { ...video, stages: next.stages }
        : // equal lists keep the stored arrays, so the store sees by identity that no label changed
          { ...next, ...(sameTags ? { tags: video.tags } : {}), ...(sameCategories ? { categories: video.categories } : {}), updatedAt: now };
    await write({ before: video, after }, judged?.tagState);
  };

  if (tagStates) {
    // records whose tag state showed they must be recomputed, with their tagging inputs digest and the tag state
    const recompute = new Map<string, { digest: string; tagState: string }>();
    const judge = (row: TagStateRow) => {
      const verdict = judgeByTagState(row, tagStage, classifyStage, earlier);
      if (verdict === 'recompute') recompute.set(row.id, { digest: row.stages!.tag!.inputDigest!, tagState: row.tagState! });
      return verdict === 'recompute' ? null : verdict;
    };
    for await (const visit of claimedTagStates(tagStates, judge, options.claimShard)) {
      if (options.signal?.aborted) break;
      summary.seen++;
      if (visit.judged === 'upToDate') {
        summary.upToDate++;
      } else if (visit.judged) {
        summary.unaffected++;
        moves.push(visit.judged);
        if (pending.length + moves.length >= offerAt) await flush();
      } else {
        const digest = recompute.get(visit.id);
        recompute.delete(visit.id);
        await retagOne(visit.video, digest);
      }
      progress();
    }
  } else {
    const records = options.claimShard ? claimedRecords(store, query, options.claimShard) : selectedRecords(store, query);
    for await (const video of records) {
      if (options.signal?.aborted) break;
      summary.seen++;
      await retagOne(video);
      progress();
    }
  }
  await flush(true);
  options.onProgress?.(summary.seen);
  summary.ms = Date.now() - started;
  return summary;
}
