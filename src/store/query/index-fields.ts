import type { Video } from '../../core/index.js';
import { remembered } from '../../core/remembered.js';
import { capIndexText, indexText, normalizeText } from './text.js';

/**
 * Bump when indexFields or the tokenizer changes what is indexed: stores rebuild their search columns on migrate.
 * 2: `tag:` and `category:` index the record's own tags and categories only, not the model's raw answer (a tag a
 * rule removed, or AiTags = false, still matched), and tag labels are tag names' form (`slow-motion`); `action:`
 * indexes the record's action categories (the model's answers mapped onto the action labels, a list's label) as
 * well as the model's own words.
 * 3: words keep the marks written inside them (the vowel signs of Devanagari, Bengali, Thai...) instead of being split
 * at them; Hebrew points, Arabic harakat and tatweel are taken out like Latin accents; `ß` is folded to `ss` and
 * final `ς` to `σ`. Tag labels keep their marks the same way. Labels (`tag:`, `category:`, `action:`...) are cut to
 * MAX_NAME_CHARS, as names are.
 * 4: each character of the scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese) and of
 * Korean is a token of its own (see tokenize), so a word is found inside the run of letters it is written in.
 */
export const INDEX_VERSION = 4;

/**
 * Characters (code points) of the name kept for `name:` and `sort:name`. PostgreSQL refuses a B-tree index entry
 * past about 2.7 kB, so a record whose title ran to pages (a container's title tag, say) could not be stored there
 * at all; 512 characters of up to 4 bytes always fit. The whole title is still searched as text. SQLite's schema
 * step 10 and PostgreSQL's step 4 cut the names stored before this, the same way (`substr` and `left` count code
 * points too).
 */
export const MAX_NAME_CHARS = 512;

/**
 * `s` cut to MAX_NAME_CHARS code points: names, and the labels a query compares whole (a model's tag that ran to a
 * paragraph failed the record's write on PostgreSQL, whose label indexes refuse an entry past about 2.7 kB). A
 * query's label is cut the same way, so it still finds the record.
 */
function cappedName(s: string): string {
  if (s.length <= MAX_NAME_CHARS) return s;
  const chars = Array.from(s);
  return chars.length <= MAX_NAME_CHARS ? s : chars.slice(0, MAX_NAME_CHARS).join('');
}

/** The searchable text fields, strongest first, with the weights every store uses for ranking. */
export const TEXT_FIELDS = ['title', 'tags', 'description', 'file'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];
export const TEXT_WEIGHTS: Record<TextField, number> = { title: 10, tags: 5, description: 2, file: 1 };

/**
 * What a store indexes beside the record: every value a query can filter, sort or facet on, derived the same
 * way for every backend (so they give the same answers).
 */
export interface IndexFields {
  id: string;
  /** Lower-cased display name (title, else file name): `name:` and `sort:name`. */
  name: string;
  /** `sort:duration`; -1 when unknown. */
  duration: number;
  durationSec: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  scenes: number;
  bytes: number;
  codec: string | null;
  audioCodec: string | null;
  /** ffprobe's first format name: mov (MP4/MOV), matroska (MKV/WebM), avi... */
  container: string | null;
  sourceKind: string;
  resolution: string | null;
  /** ISO UTC: creation time from the container, else upload date, else when added. */
  created: string;
  /** ISO UTC: when the record was made. */
  added: string;
  hasAudio: boolean;
  hasAi: boolean;
  hasDescription: boolean;
  hasMetadata: boolean;
  failed: boolean;
  tags: string[];
  categories: string[];
  actions: string[];
  /** Normalised text per field (tokens joined by spaces). */
  text: Record<TextField, string>;
}

export function resolutionClass(width: number | null, height: number | null): string | null {
  if (!width || !height) return null;
  const short = Math.min(width, height);
  if (short >= 2160) return '4k';
  if (short >= 1440) return '1440p';
  if (short >= 1080) return '1080p';
  if (short >= 720) return '720p';
  if (short >= 480) return '480p';
  return 'sd';
}

/**
 * Labels repeat across records, and a re-tag builds each changed record's labels twice, before and after: computed
 * afresh they were a quarter of all the memory a rule edit's pass allocated (normalising, Unicode splitting).
 */
const LABELS_REMEMBERED = 4096;

const label = remembered((s) => cappedName(normalizeText(s).trim().replace(/\s+/g, ' ')), LABELS_REMEMBERED);

/**
 * A tag's label as `tag:` compares it: words joined by `-`, as tag names are stored (`slow motion` and `Slow-Motion`
 * are `slow-motion`), lower case and without diacritics, as every label. Names tagging made are unchanged by it; a
 * name with no letter or digit keeps its own text, so it can still be asked for.
 */
export const tagLabel: (s: string) => string = remembered((s) => {
  const words = normalizeText(s)
    .split(/[^\p{L}\p{N}\p{M}:+#.]+/u)
    .map((w) => w.replace(/^[.:]+|[.:]+$/g, ''))
    .filter(Boolean);
  return words.length ? cappedName(words.join('-')) : label(s);
}, LABELS_REMEMBERED);

/** A label a query names (`tag:`, `category:`, `codec:`...), in the form that field's labels are indexed in. */
export function labelValue(field: string, raw: string): string {
  return field === 'tag' ? tagLabel(raw) : label(raw);
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}

/** `uniq(items.map(key))` in one pass, without the Set for a list with no repeat (the usual case). */
function uniqBy<T>(items: readonly T[], key: (item: T) => string): string[] {
  if (items.length > 32) return uniq(items.map(key));
  const out: string[] = [];
  for (const item of items) {
    const k = key(item);
    if (k !== '' && !out.includes(k)) out.push(k);
  }
  return out;
}

/** An ISO UTC string for a loose date (ISO, `20240115` from yt-dlp), or null. */
export function isoDate(s: string | undefined | null): string | null {
  if (!s) return null;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  const d = compact ? new Date(Date.UTC(Number(compact[1]), Number(compact[2]) - 1, Number(compact[3]))) : new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/**
 * The tag and category labels a store indexes, in index order: the part of `indexFields` that re-tagging can
 * change, for stores that update only that part (`VideoStore.updateTags`).
 */
export function labelFields(video: Video): Pick<IndexFields, 'tags' | 'categories' | 'actions'> {
  return {
    // the record's own: what the model answered reaches them through tagging and classification, which a rule or
    // a setting may overrule
    tags: uniqBy(video.tags, (t) => tagLabel(t.name)),
    categories: uniqBy(video.categories, (c) => label(c.name)),
    actions: uniq([...video.categories.filter((c) => c.kind === 'action').map((c) => label(c.name)), ...actionLabels(video)]),
  };
}

/** The model's actions in its own words. */
function actionLabels(video: Video): string[] {
  return uniq((video.ai?.actions ?? []).filter((a): a is string => typeof a === 'string').map(label));
}

/**
 * The indexed tag text (`text.tags` of `indexFields`): tags, categories and the model's actions. Re-tagging
 * changes it and nothing else of the text, so stores that update only labels build just this.
 */
export function tagText(video: Video, labels: Pick<IndexFields, 'tags' | 'categories'> = labelFields(video)): string {
  return capIndexText(indexText([...labels.tags, ...labels.categories, ...actionLabels(video)].join(' \n ')));
}

/** Same labels in the same order. */
export const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether re-tagging changed the indexed labels (the same arrays, as retag passes them when equal, did not). */
export function labelsMoved(before: Video, after: Video): boolean {
  if (before.tags === after.tags && before.categories === after.categories && before.ai === after.ai) return false;
  const was = labelFields(before);
  const now = labelFields(after);
  return !sameList(was.tags, now.tags) || !sameList(was.categories, now.categories) || !sameList(was.actions, now.actions);
}

/**
 * Whether re-tagging changed only the record's stage bookkeeping: retag passes the record it read with new
 * `stages` and every other field the same object, when the tags, categories and tagging state came out equal.
 */
export function onlyStagesMoved(before: Video, after: Video): boolean {
  if (before.stages === after.stages) return false;
  for (const k in after) {
    if (k !== 'stages' && (after as unknown as Record<string, unknown>)[k] !== (before as unknown as Record<string, unknown>)[k]) return false;
  }
  for (const k in before) if (!(k in after)) return false;
  return true;
}

/** Whether a stage failed: the index's `failed` flag (`is:failed`). */
export function hasFailedStage(video: Video): boolean {
  for (const k in video.stages) if (video.stages[k]!.status === 'failed') return true;
  return false;
}

export function indexFields(video: Video): IndexFields {
  const m = video.metadata;
  const fileName = baseName(video.file.path || video.source.url || '');
  const title = video.source.title ?? m?.containerTags?.title ?? '';
  const { tags, categories, actions } = labelFields(video);
  const description = [video.ai?.description ?? '', ...video.scenes.map((s) => s.description ?? ''), video.source.description ?? '']
    .filter(Boolean)
    .join('\n');
  const added = isoDate(video.createdAt) ?? new Date(0).toISOString();
  return {
    id: video.id,
    name: cappedName(normalizeText(title || fileName)),
    duration: m?.durationSec ?? -1,
    durationSec: m?.durationSec ?? null,
    width: m?.width ?? null,
    height: m?.height ?? null,
    fps: m?.fps ?? null,
    scenes: video.scenes.length,
    bytes: video.file.bytes ?? 0,
    codec: m?.videoCodec ? label(m.videoCodec) : null,
    audioCodec: m?.audio?.codec ? label(m.audio.codec) : null,
    container: m?.container ? label(m.container.split(',')[0]!) : null,
    sourceKind: video.source.kind,
    resolution: resolutionClass(m?.width ?? null, m?.height ?? null),
    created: isoDate(m?.creationTime) ?? isoDate(video.source.uploadedAt) ?? added,
    added,
    hasAudio: Boolean(m?.audio),
    hasAi: video.ai !== null,
    hasDescription: Boolean(video.ai?.description || video.scenes.some((s) => s.description)),
    hasMetadata: m !== null,
    failed: hasFailedStage(video),
    tags,
    categories,
    actions,
    text: {
      title: capIndexText(indexText([title, video.source.uploader ?? ''].join(' '))),
      tags: tagText(video, { tags, categories }),
      description: capIndexText(indexText(description)),
      // camelCase split too, so "beachDay_2024.mp4" finds "beach".
      file: capIndexText(indexText(fileName.replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2'))),
    },
  };
}
