import { stableStringify, type Category, type Tag, type Video } from '../core/index.js';
import { categoriesBeforeRules, classifyWith, computeTags, computeTagsSync, type TaggingSetup } from './tagging-setup.js';
import type { Tagger, TaggerContext } from './tagger.js';
import { normalizeTag } from './words.js';

/**
 * Tags and categories on a record come from two kinds of places: what tagging computes (taggers, rules,
 * taxonomy) and what others put there (acquisition: yt-dlp tags, list labels). Tagging recomputes its own
 * part from scratch on every run and carries the others' part over, remembering in `extra` what it carried
 * and what it produced, so a re-run (or `videodex retag`) never loses a tag it did not make.
 */
export const TAGGING_STATE_KEY = '_tagging';
export const CLASSIFY_STATE_KEY = '_classify';

interface CarryState<T> {
  /** Items others added, kept across runs. */
  carried: T[];
  /** Keys of what the last run produced, to tell it apart from what others added since. */
  produced: string[];
}

/**
 * A produced item's key: its fields joined by the unit separator. Not NUL, which keys held before: PostgreSQL
 * cannot store it and its store drops it, so keys read back from there have no separator at all. Reading
 * accepts all three forms (see `keyIs`, `bare`).
 */
const SEP = '\u001f';
const tagKey = (t: Tag) => `${t.name}${SEP}${t.source}${SEP}${t.rule ?? ''}`;
const categoryKey = (c: Category) => `${c.name}${SEP}${c.source}${SEP}${c.rule ?? ''}${SEP}${c.label ?? ''}`;
const isSep = (code: number) => code === 0x1f || code === 0;

/** A key without its separators, however it was stored. */
const bare = (key: string) => key.replace(/[\u0000\u001f]/g, '');

/**
 * Whether `key` is `parts` joined (by the separator, by NUL, or by nothing as PostgreSQL kept the NUL-joined
 * keys), without building the joined string: retag checks every record.
 */
function keyIs(key: string, a: string, b: string, c: string, d?: string): boolean {
  let at = partEnd(key, 0, a, false);
  if (at >= 0) at = partEnd(key, at, b, true);
  if (at >= 0) at = partEnd(key, at, c, true);
  if (at >= 0 && d !== undefined) at = partEnd(key, at, d, true);
  return at === key.length;
}

/** Where `part` ends in `key` when it starts at `at` (after a separator, if `afterSep` and there is one); -1 if it does not. */
function partEnd(key: string, at: number, part: string, afterSep: boolean): number {
  if (at < 0) return -1;
  if (afterSep && at < key.length && isSep(key.charCodeAt(at))) at++;
  return key.startsWith(part, at) ? at + part.length : -1;
}
const tagKeyIs = (t: Tag, key: string) => keyIs(key, t.name, t.source, t.rule ?? '');
const categoryKeyIs = (c: Category, key: string) => keyIs(key, c.name, c.source, c.rule ?? '', c.label ?? '');

/** Tagging's own items say how they were made; others' (yt-dlp's tags, a list's label) do not. */
const madeByTagging = (item: unknown) => typeof item === 'object' && item !== null && ('rule' in item || 'match' in item);

function readState<T>(video: Video, key: string): CarryState<T> | null {
  const s = video.extra?.[key] as CarryState<T> | undefined;
  if (!s || !Array.isArray(s.carried) || !Array.isArray(s.produced)) return null;
  // Keys without any separator were written through the PostgreSQL store that dropped their NULs; its runs
  // could not match them, took every tag for someone else's and carried it, so a rule edit removed nothing.
  // Such a `carried` keeps only items tagging did not make.
  if (s.carried.length > 0 && s.produced.length > 0 && !/[\u0000\u001f]/.test(s.produced[0]!) && s.carried.some(madeByTagging)) {
    return { carried: s.carried.filter((t) => !madeByTagging(t)), produced: s.produced };
  }
  return s;
}

function carried<T>(current: readonly T[], state: CarryState<T> | null, keyOf: (t: T) => string, keyIsOf: (t: T, key: string) => boolean): T[] {
  if (!state) return [...current];
  const { produced: made } = state;
  // The usual case, a record as tagging left it: every current item is one the last run produced, in order.
  if (current.length === made.length) {
    let i = 0;
    while (i < current.length && keyIsOf(current[i]!, made[i]!)) i++;
    if (i === current.length) return [...state.carried];
  }
  const produced = new Set(made.map(bare));
  const out = [...state.carried];
  const seen = new Set(out.map(keyOf));
  for (const t of current) {
    const k = keyOf(t);
    if (!produced.has(bare(k)) && !seen.has(k)) {
      out.push(t);
      seen.add(k);
    }
  }
  return out;
}

/** The tags carried over from outside tagging (acquisition and the like), as the next run will see them. */
export function carriedTags(video: Video): Tag[] {
  return carried(video.tags, readState<Tag>(video, TAGGING_STATE_KEY), tagKey, tagKeyIs);
}

export function carriedCategories(video: Video): Category[] {
  const all = carried(video.categories, readState<Category>(video, CLASSIFY_STATE_KEY), categoryKey, categoryKeyIs);
  // acquisition's copy of the list label: classification gives that label itself, as an action category (with
  // this copy kept, a labelled row had its label twice: `category:` and `action:` both matched it)
  const label = video.source?.list?.label;
  return label ? all.filter((c) => !(c.source === 'list' && c.name === label && c.kind === undefined)) : all;
}

/**
 * Whether the record's tags and categories are exactly what its last tagging and classification produced (with
 * what they carried): nothing changed them since, so recomputing them with the same setup gives them back.
 */
export function matchesTaggingState(video: Video): boolean {
  const tags = readState<Tag>(video, TAGGING_STATE_KEY);
  const cats = readState<Category>(video, CLASSIFY_STATE_KEY);
  if (!tags || !cats || video.tags.length !== tags.produced.length || video.categories.length < cats.produced.length) return false;
  for (let i = 0; i < video.tags.length; i++) if (!tagKeyIs(video.tags[i]!, tags.produced[i]!)) return false;
  // `produced` keys every category classification gave, the carried ones it kept included (classify stage 3 on;
  // an earlier stage's entries never pass as up to date, so its layout, carried ones after, never comes here)
  const n = cats.produced.length;
  if (video.categories.length !== n) return false;
  for (let i = 0; i < n; i++) if (!categoryKeyIs(video.categories[i]!, cats.produced[i]!)) return false;
  return true;
}

/**
 * The carried tags, named as tagging names tags: yt-dlp gives them as the site shows them (`Beach Volleyball`), and
 * kept so, `tag:beach-volleyball` found nothing and a rule could not name them. The carry state keeps them as given.
 * Plurals stay, as plugins' tags keep theirs (a plugin stage's tags are carried too).
 */
function carryTagger(tags: Tag[]): Tagger {
  const named: Tag[] = [];
  for (const t of tags) {
    const name = normalizeTag(t.name, { keepPlural: true });
    if (name) named.push(name === t.name ? t : { ...t, name });
  }
  return { name: 'carried', tag: () => named };
}

export interface TagPatch {
  tags: Tag[];
  extra: Record<string, unknown>;
}

/** The `tag` stage's work on one record: the new tags and the carry state. */
export async function tagRecord(video: Video, setup: TaggingSetup, ctx: TaggerContext, extraTaggers: readonly Tagger[] = []): Promise<TagPatch> {
  const keep = carriedTags(video);
  const tags = await computeTags(video, withCarried(setup, keep), ctx, extraTaggers, categoriesBeforeRules(video, setup, () => carriedCategories(video)));
  return { tags, extra: { ...video.extra, [TAGGING_STATE_KEY]: { carried: keep, produced: tags.map(tagKey) } } };
}

/** `tagRecord` without plugin taggers, synchronously (retag's hot path). */
export function tagRecordSync(video: Video, setup: TaggingSetup, ctx: TaggerContext): TagPatch {
  const keep = carriedTags(video);
  const tags = computeTagsSync(video, withCarried(setup, keep), ctx, categoriesBeforeRules(video, setup, () => carriedCategories(video)));
  return { tags, extra: { ...video.extra, [TAGGING_STATE_KEY]: { carried: keep, produced: tags.map(tagKey) } } };
}

function withCarried(setup: TaggingSetup, keep: Tag[]): TaggingSetup {
  return keep.length === 0 ? setup : { ...setup, taggers: [carryTagger(keep), ...setup.taggers] };
}

export interface ClassifyPatch {
  categories: Category[];
  extra: Record<string, unknown>;
}

/** The `classify` stage's work on a record whose tags are final. */
export function classifyRecord(video: Video, setup: TaggingSetup): ClassifyPatch {
  const keep = carriedCategories(video);
  // the rules see the carried categories and may remove them; `produced` keys every category the record gets, the
  // carried ones it keeps too, so a carried one a rule removed is told apart from one removed by other means
  const { computed, kept } = classifyWith(video, setup, keep);
  const names = new Set(computed.map(categoryKey));
  const categories = [...computed, ...kept.filter((c) => !names.has(categoryKey(c)))];
  return { categories, extra: { ...video.extra, [CLASSIFY_STATE_KEY]: { carried: keep, produced: categories.map(categoryKey) } } };
}

function sortedEntries(o: Record<string, unknown> | undefined | null): Array<[string, unknown]> {
  if (!o) return [];
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function metadataKey(video: Video): unknown[] | null {
  const m = video.metadata;
  if (!m) return null;
  return [
    m.durationSec, m.container, m.bitRate, m.width, m.height, m.fps, m.frameCount ?? null, m.rotation, m.videoCodec,
    m.pixelFormat ?? null, m.bitDepth ?? null, m.interlaced ?? null, m.variableFrameRate ?? null,
    m.audio ? [m.audio.codec, m.audio.channels, m.audio.sampleRate] : null, m.creationTime ?? null, sortedEntries(m.containerTags),
    // only when set: the other records' digests stay as they were
    ...(m.truncated ? ['truncated'] : []),
  ];
}

function sourceKey(video: Video): unknown[] {
  const s = video.source;
  const l = s.list;
  const others = sortedEntries(s as unknown as Record<string, unknown>).filter(([k]) => !['url', 'kind', 'title', 'uploader', 'list', 'fetchedAt', 'pageUrl', 'uploadedAt', 'description'].includes(k));
  return [s.url, s.kind, s.title ?? null, s.uploader ?? null, l ? [l.label ?? null, l.split ?? null] : null, others.length ? stableStringify(others) : null];
}

/** JSON of a value, `null` where JSON.stringify gives nothing (undefined), as inside an array. */
const json = (x: unknown): string => JSON.stringify(x) ?? 'null';

/**
 * The JSON of the record fields both stages' input strings read (source, file, metadata, scene descriptions),
 * built once per record: `retag` builds both strings for every record, and for a re-tagged one the classify
 * string again (its tags changed, these fields did not).
 */
export interface InputParts {
  source: string;
  path: string;
  bytes: string;
  metadata: string;
  scenes: string;
}

export function inputParts(video: Video): InputParts {
  return {
    source: json(sourceKey(video)),
    path: json(video.file?.path),
    bytes: json(video.file?.bytes),
    metadata: json(metadataKey(video)),
    scenes: json((video.scenes ?? []).map((s) => s.description ?? '')),
  };
}

/**
 * The record fields tagging reads, as one string, for the `tag` stage's input hash. Built with fixed field
 * orders (and sorted keys where a store may reorder them, e.g. PostgreSQL jsonb) rather than a generic stable
 * stringify: `retag` computes it for every record, so it must be cheap. The JSON of an array of the parts, as
 * it was built before the parts were shared: stored stage hashes stay valid.
 */
export function taggingInputs(video: Video, parts: InputParts = inputParts(video)): string {
  const { [TAGGING_STATE_KEY]: _t, [CLASSIFY_STATE_KEY]: _c, ...others } = video.extra ?? {};
  const ai = video.ai;
  const aiPart = json(ai ? [ai.description, ai.tags, ai.category ?? null, ai.actions, ai.model] : null);
  const othersPart = json(Object.keys(others).length ? stableStringify(others) : null);
  // the carried categories, which the rules' `category:` conditions see while they tag; only when there are some, so
  // the string of a record without is what it was
  const cats = carriedCategories(video);
  const catsPart = cats.length > 0 ? `,${json(JSON.stringify(cats))}` : '';
  return `[${parts.source},${parts.path},${parts.bytes},${parts.metadata},${aiPart},${parts.scenes},${othersPart},${json(JSON.stringify(carriedTags(video)))}${catsPart}]`;
}

/** The record fields classification reads, as one string, for the `classify` stage's input hash. */
export function classifyInputs(video: Video, parts: InputParts = inputParts(video)): string {
  const ai = video.ai;
  const aiPart = json(ai ? [ai.description, ai.category ?? null, ai.actions] : null);
  return `[${json(video.tags.map((t) => t.name))},${json(JSON.stringify(carriedCategories(video)))},${parts.source},${parts.metadata},${aiPart},${parts.scenes},${parts.path},${parts.bytes}]`;
}
