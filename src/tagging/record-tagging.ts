import type { Category, Tag, Video } from '../core/index.js';
import { computeTags, computeTagsSync, classify, type TaggingSetup } from './tagging-setup.js';
import type { Tagger, TaggerContext } from './tagger.js';

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

const tagKey = (t: Tag) => `${t.name}\u0000${t.source}\u0000${t.rule ?? ''}`;
const categoryKey = (c: Category) => `${c.name}\u0000${c.source}\u0000${c.rule ?? ''}\u0000${c.label ?? ''}`;

function readState<T>(video: Video, key: string): CarryState<T> | null {
  const s = video.extra?.[key] as CarryState<T> | undefined;
  return s && Array.isArray(s.carried) && Array.isArray(s.produced) ? s : null;
}

function carried<T>(current: readonly T[], state: CarryState<T> | null, keyOf: (t: T) => string): T[] {
  if (!state) return [...current];
  const produced = new Set(state.produced);
  const out = [...state.carried];
  const seen = new Set(out.map(keyOf));
  for (const t of current) {
    const k = keyOf(t);
    if (!produced.has(k) && !seen.has(k)) {
      out.push(t);
      seen.add(k);
    }
  }
  return out;
}

/** The tags carried over from outside tagging (acquisition and the like), as the next run will see them. */
export function carriedTags(video: Video): Tag[] {
  return carried(video.tags, readState<Tag>(video, TAGGING_STATE_KEY), tagKey);
}

export function carriedCategories(video: Video): Category[] {
  return carried(video.categories, readState<Category>(video, CLASSIFY_STATE_KEY), categoryKey);
}

function carryTagger(tags: Tag[]): Tagger {
  return { name: 'carried', tag: () => tags };
}

export interface TagPatch {
  tags: Tag[];
  extra: Record<string, unknown>;
}

/** The `tag` stage's work on one record: the new tags and the carry state. */
export async function tagRecord(video: Video, setup: TaggingSetup, ctx: TaggerContext, extraTaggers: readonly Tagger[] = []): Promise<TagPatch> {
  const keep = carriedTags(video);
  const tags = await computeTags(video, withCarried(setup, keep), ctx, extraTaggers);
  return { tags, extra: { ...video.extra, [TAGGING_STATE_KEY]: { carried: keep, produced: tags.map(tagKey) } } };
}

/** `tagRecord` without plugin taggers, synchronously (retag's hot path). */
export function tagRecordSync(video: Video, setup: TaggingSetup, ctx: TaggerContext): TagPatch {
  const keep = carriedTags(video);
  const tags = computeTagsSync(video, withCarried(setup, keep), ctx);
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
  const computed = classify(video, setup);
  const names = new Set(computed.map(categoryKey));
  const categories = [...computed, ...keep.filter((c) => !names.has(categoryKey(c)))];
  return { categories, extra: { ...video.extra, [CLASSIFY_STATE_KEY]: { carried: keep, produced: computed.map(categoryKey) } } };
}

/** The record fields tagging reads, for stage input hashes (tagging's own state included). */
export function taggingInputs(video: Video): unknown {
  const { [TAGGING_STATE_KEY]: _t, [CLASSIFY_STATE_KEY]: _c, ...others } = video.extra ?? {};
  return {
    source: video.source,
    path: video.file?.path,
    bytes: video.file?.bytes,
    metadata: video.metadata,
    ai: video.ai ? { d: video.ai.description, t: video.ai.tags, c: video.ai.category ?? null, a: video.ai.actions, m: video.ai.model } : null,
    scenes: (video.scenes ?? []).map((s) => s.description ?? ''),
    extra: others,
    carried: carriedTags(video),
  };
}

export function classifyInputs(video: Video): unknown {
  return {
    tags: video.tags.map((t) => t.name).sort(),
    categoriesCarried: carriedCategories(video),
    source: video.source,
    metadata: video.metadata,
    ai: video.ai ? { d: video.ai.description, c: video.ai.category ?? null, a: video.ai.actions } : null,
    scenes: (video.scenes ?? []).map((s) => s.description ?? ''),
    path: video.file?.path,
  };
}
