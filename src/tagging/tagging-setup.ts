import { sha256Hex, stableHash, type Category, type Config, type Tag, type Video } from '../core/index.js';
import { aiTags, buildSynonymTable, BUILTIN_SYNONYMS, createAiTagger, type SynonymTable } from './ai-tagger.js';
import { createFilenameTagger, type FilenameTaggerOptions } from './filename-tagger.js';
import { createMetadataTagger } from './metadata-tagger.js';
import { readTextFile } from './structured-file.js';
import { mergeCategories, mergeTags, UNMAPPED } from './tag-merge.js';
import { applyCategoryRules, applyTagRules, categoryKey, NO_RULES, parseRules, type RuleCategoryLabel, type RuleSet } from './tag-rules.js';
import type { Tagger, TaggerContext } from './tagger.js';
import { ancestors, EMPTY_TAXONOMY, LabelMapper, parseActionLabels, parseTaxonomy, type Taxonomy } from './taxonomy.js';
import { normalizeTag } from './words.js';
import { userAddedTags, userTagEdits, withUserEdits } from './user-tags.js';

/** Everything tagging and classification need, loaded and checked once before any work. */
export interface TaggingSetup {
  /** Built-in taggers that are switched on, in order. */
  readonly taggers: readonly Tagger[];
  readonly rules: RuleSet;
  readonly taxonomy: Taxonomy;
  readonly synonyms: SynonymTable;
  /** Null when there is no taxonomy: model categories are kept as answered ('open'). */
  readonly categoryMapper: LabelMapper | null;
  /** Null when there is no action vocabulary: model actions are kept as answered ('open'). */
  readonly actionMapper: LabelMapper | null;
  /** Changes whenever a file or setting that shapes tags or categories changes; part of the stage input hash. */
  readonly fingerprint: string;
  /** The same without the rules: two setups whose rules alone differ share it (a rule edit, see rule-diff.ts). */
  readonly baseFingerprint: string;
  readonly reviewBelow: number;
  /** What it was built from (plain data): how a worker thread builds the same setup. */
  readonly options: TaggingSetupOptions;
}

export interface TaggingSetupOptions {
  rulesText?: string;
  rulesName?: string;
  taxonomyText?: string;
  taxonomyName?: string;
  actionLabelsText?: string;
  actionLabelsName?: string;
  filename?: boolean | FilenameTaggerOptions;
  metadata?: boolean;
  ai?: boolean;
  fuzzyThreshold?: number;
  reviewBelow?: number;
}

/** A setup's `fingerprint` and `baseFingerprint` from its options alone, without parsing its files. */
export function setupFingerprints(options: TaggingSetupOptions): { fingerprint: string; baseFingerprint: string } {
  const shaping = {
    taxonomy: options.taxonomyText === undefined ? null : sha256Hex(options.taxonomyText),
    actions: options.actionLabelsText === undefined ? null : sha256Hex(options.actionLabelsText),
    filename: options.filename ?? true,
    metadata: options.metadata ?? true,
    ai: options.ai ?? true,
    threshold: options.fuzzyThreshold ?? 0.8,
  };
  return { fingerprint: stableHash({ rules: options.rulesText === undefined ? null : sha256Hex(options.rulesText), ...shaping }), baseFingerprint: stableHash(shaping) };
}

/** Builds a setup from texts and switches (tests, library users, and `loadTaggingSetup`). */
export function createTaggingSetup(options: TaggingSetupOptions = {}): TaggingSetup {
  const rules = options.rulesText !== undefined ? parseRules(options.rulesText, options.rulesName ?? '<rules>') : NO_RULES;
  const base = options.taxonomyText !== undefined ? parseTaxonomy(options.taxonomyText, options.taxonomyName ?? '<taxonomy>') : EMPTY_TAXONOMY;
  const listed = options.actionLabelsText !== undefined ? parseActionLabels(options.actionLabelsText, options.actionLabelsName ?? '<actions>') : [];
  const seen = new Set(base.actions.map((a) => a.toLowerCase()));
  const taxonomy: Taxonomy = { ...base, actions: [...base.actions, ...listed.filter((a) => !seen.has(a.toLowerCase()))] };
  const synonyms = buildSynonymTable(BUILTIN_SYNONYMS, taxonomy.synonyms);
  const threshold = options.fuzzyThreshold ?? 0.8;
  // a synonyms entry names its label in any spelling (`Street Food:` for the category `street food`), as rules do
  const variantsOf = new Map<string, string[]>();
  for (const [preferred, variants] of Object.entries(taxonomy.synonyms)) {
    const key = normalizeTag(preferred);
    variantsOf.set(key, [...(variantsOf.get(key) ?? []), ...variants]);
  }
  const synonymsOf = (name: string) => variantsOf.get(normalizeTag(name)) ?? [];
  const categoryMapper =
    taxonomy.categories.length > 0 ? new LabelMapper(taxonomy.categories.map((c) => ({ name: c.name, synonyms: [...c.keywords, ...synonymsOf(c.name)] })), threshold) : null;
  const actionMapper = taxonomy.actions.length > 0 ? new LabelMapper(taxonomy.actions.map((a) => ({ name: a, synonyms: synonymsOf(a) })), threshold) : null;
  const taggers: Tagger[] = [];
  if (options.filename !== false) taggers.push(createFilenameTagger(typeof options.filename === 'object' ? options.filename : {}));
  if (options.metadata !== false) taggers.push(createMetadataTagger());
  if (options.ai !== false) taggers.push(createAiTagger(synonyms));
  const { fingerprint, baseFingerprint } = setupFingerprints(options);
  return { taggers, rules, taxonomy, synonyms, categoryMapper, actionMapper, fingerprint, baseFingerprint, reviewBelow: options.reviewBelow ?? 0.75, options };
}

/** Reads `[Tagging]`: the rules, taxonomy and action files are parsed now, so a bad file stops the run first. */
export function loadTaggingSetup(config: Config): TaggingSetup {
  const t = config.Tagging;
  return createTaggingSetup({
    ...(t.RulesFile ? { rulesText: readTextFile(t.RulesFile, 'tag rules'), rulesName: t.RulesFile } : {}),
    ...(t.Taxonomy ? { taxonomyText: readTextFile(t.Taxonomy, 'taxonomy'), taxonomyName: t.Taxonomy } : {}),
    ...(t.ActionLabels ? { actionLabelsText: readTextFile(t.ActionLabels, 'action labels'), actionLabelsName: t.ActionLabels } : {}),
    filename: t.FilenameTags ? { stopWords: t.StopWords, folderDepth: t.FolderDepth, minWordLength: t.MinWordLength } : false,
    metadata: t.MetadataTags,
    ai: t.AiTags,
    fuzzyThreshold: t.FuzzyThreshold,
    reviewBelow: t.ReviewBelow,
  });
}

/** Tags that plugin stages left in `extra[plugin].tags` (strings or tags), credited to the plugin. */
export function pluginStageTags(video: Pick<Video, 'extra'>): Tag[] {
  const out: Tag[] = [];
  for (const [plugin, value] of Object.entries(video.extra ?? {})) {
    if (!value || typeof value !== 'object') continue;
    const tags = (value as { tags?: unknown }).tags;
    if (!Array.isArray(tags)) continue;
    for (const t of tags) {
      if (typeof t === 'string' && t) out.push({ name: t, source: 'plugin', rule: plugin });
      else if (t && typeof t === 'object' && typeof (t as Tag).name === 'string' && (t as Tag).name) {
        const tag = t as Tag;
        out.push({ name: tag.name, source: 'plugin', rule: tag.rule ?? plugin, ...(typeof tag.confidence === 'number' ? { confidence: tag.confidence } : {}) });
      }
    }
  }
  return out;
}

/**
 * What the rules' `category:` conditions see while they tag: the categories classification starts from (the
 * model's answers mapped, the list label) and `carried`, the ones acquisition gave. Worked out only when a
 * condition reads them.
 */
export function categoriesBeforeRules(video: Video, setup: TaggingSetup, carried: () => readonly Category[] = () => []): Iterable<string> {
  return { [Symbol.iterator]: () => [...answerCategories(video, setup), ...carried()].map((c) => c.name)[Symbol.iterator]() };
}

/**
 * The tags of a record, from scratch: every tagger (built-in, then `extra` ones such as plugin taggers), the
 * tags plugin stages recorded, merged keeping the strongest evidence, then the user rules. Pure apart from
 * what the extra taggers do; a throwing tagger throws here (the stage fails for this video only). `categories`:
 * what the rules' `category:` conditions see (see `categoriesBeforeRules`).
 */
export async function computeTags(video: Video, setup: TaggingSetup, ctx: TaggerContext, extra: readonly Tagger[] = [], categories: Iterable<string> = categoriesBeforeRules(video, setup)): Promise<Tag[]> {
  const all: Tag[] = [];
  for (const tagger of setup.taggers) {
    const r = tagger.tag(video, ctx);
    all.push(...(Array.isArray(r) ? r : await r));
  }
  for (const tagger of extra) {
    const r = await tagger.tag(video, ctx);
    for (const t of r) all.push({ ...t, source: t.source ?? 'plugin' });
  }
  all.push(...pluginStageTags(video));
  const edits = userTagEdits(video);
  all.push(...userAddedTags(edits));
  return withUserEdits(applyTagRules(setup.rules, video, all, categories), edits);
}

/** Synchronous `computeTags` for the built-in taggers only (retag's hot path). */
export function computeTagsSync(video: Video, setup: TaggingSetup, ctx: TaggerContext, categories: Iterable<string> = categoriesBeforeRules(video, setup)): Tag[] {
  const all: Tag[] = [];
  for (const tagger of setup.taggers) {
    const r = tagger.tag(video, ctx);
    if (!Array.isArray(r)) throw new Error(`tagger ${tagger.name} is asynchronous; use computeTags`);
    all.push(...r);
  }
  all.push(...pluginStageTags(video));
  const edits = userTagEdits(video);
  all.push(...userAddedTags(edits));
  return withUserEdits(applyTagRules(setup.rules, video, all, categories), edits);
}

/** Model confidence for answers kept as given when there is no vocabulary to map them onto. */
export const OPEN_CONFIDENCE = 0.6;

function mapAnswer(answer: string, kind: 'category' | 'action', mapper: LabelMapper | null, setup: TaggingSetup): Category[] {
  const label = answer.trim();
  if (!label) return [];
  if (!mapper) return [{ name: label, source: 'ai', confidence: OPEN_CONFIDENCE, kind, label, match: 'open' }];
  const m = mapper.map(label);
  if (m.name === null) {
    return [{ name: UNMAPPED, source: 'ai', confidence: m.best ? m.best.similarity : 0, kind, label, match: 'none', ...(m.best ? { rule: `closest: ${m.best.name}` } : {}) }];
  }
  const out: Category[] = [{ name: m.name, source: 'ai', confidence: m.confidence, kind, label, match: m.match }];
  if (kind === 'category') {
    for (const parent of ancestors(setup.taxonomy, m.name)) {
      out.push({ name: parent, source: 'ai', confidence: m.confidence, kind, label, match: 'parent', rule: `parent of ${m.name}` });
    }
  }
  return out;
}

/**
 * The categories of a record whose tags are final: the model's category and actions mapped onto the taxonomy
 * and action vocabulary (unmapped answers kept under the name `unmapped` with the model's words in `label`),
 * the label of a labelled list, then the rules' category actions; merged keeping the strongest evidence.
 */
export function classify(video: Video, setup: TaggingSetup): Category[] {
  return classifyWith(video, setup, []).computed;
}

/**
 * `classify` with `carried`, the categories acquisition gave (yt-dlp's, the list label's copy): the rules see them
 * (`category:`) and may remove them (`removeCategories`), as tag rules see and remove the tags of every source.
 * `computed`: classification's own categories, merged; `kept`: the carried ones no rule removed, as they were.
 */
export function classifyWith(video: Video, setup: TaggingSetup, carried: readonly Category[]): { computed: Category[]; kept: Category[] } {
  const ruled = applyCategoryRules(setup.rules, video, [...answerCategories(video, setup), ...carried], ruleCategoryLabel(setup));
  if (carried.length === 0) return { computed: mergeCategories(ruled), kept: [] };
  const others = new Set(carried);
  return { computed: mergeCategories(ruled.filter((c) => !others.has(c))), kept: ruled.filter((c) => others.has(c)) };
}

/** What classification gives before the rules: the model's category and actions mapped, and the list label. */
function answerCategories(video: Video, setup: TaggingSetup): Category[] {
  const out: Category[] = [];
  if (video.ai) {
    if (video.ai.category) out.push(...mapAnswer(video.ai.category, 'category', setup.categoryMapper, setup));
    for (const a of video.ai.actions ?? []) if (typeof a === 'string') out.push(...mapAnswer(a, 'action', setup.actionMapper, setup));
  }
  const listLabel = video.source?.list?.label;
  if (listLabel) out.push({ name: listLabel, source: 'list', confidence: 1, kind: 'action', rule: 'list label' });
  return mergeCategories(out);
}

const labelsBySetup = new WeakMap<TaggingSetup, RuleCategoryLabel>();

/**
 * A category a rule adds under the vocabulary's own name and kind: a taxonomy category, else an action when it
 * names a label of the action vocabulary (so `action:` and the datasets' action labels see it and it merges with
 * the model's mapped action), else a category as the rule names it.
 */
function ruleCategoryLabel(setup: TaggingSetup): RuleCategoryLabel {
  let labelOf = labelsBySetup.get(setup);
  if (!labelOf) {
    const known = new Map<string, { name: string; kind: 'category' | 'action' }>();
    for (const a of setup.taxonomy.actions) known.set(categoryKey(a), { name: a, kind: 'action' });
    for (const c of setup.taxonomy.categories) known.set(categoryKey(c.name), { name: c.name, kind: 'category' });
    labelOf = (name) => known.get(name) ?? { name, kind: 'category' };
    labelsBySetup.set(setup, labelOf);
  }
  return labelOf;
}

/** Whether a category needs a person's look: unmapped, or below the review threshold. */
export function needsReview(c: Category, reviewBelow: number): boolean {
  return c.name === UNMAPPED || (c.confidence ?? 1) < reviewBelow;
}

export { aiTags };
