import { z } from 'zod';
import { ConfigError } from '../core/index.js';
import { normalizeTag, similarityTokens, tokenSimilarity } from './words.js';
import { parseStructuredText, readTextFile } from './structured-file.js';

/** One category of the user's taxonomy. */
export interface TaxonomyCategory {
  readonly name: string;
  readonly description: string;
  /** Words that mean this category; model answers equal to one map here as synonyms. */
  readonly keywords: readonly string[];
  readonly parent: string | null;
}

export interface Taxonomy {
  readonly categories: readonly TaxonomyCategory[];
  /** Action labels: the `actions` list of the taxonomy file plus the `[Tagging] ActionLabels` file. */
  readonly actions: readonly string[];
  /** preferred → variants, for tags and actions. */
  readonly synonyms: Readonly<Record<string, readonly string[]>>;
}

export const EMPTY_TAXONOMY: Taxonomy = { categories: [], actions: [], synonyms: {} };

const stringList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const categoryBody = z.strictObject({
  description: z.string().default(''),
  keywords: stringList.default([]),
  synonyms: stringList.default([]),
  parent: z.string().trim().min(1).nullable().default(null),
});
const categoryEntry = categoryBody.extend({ name: z.string().trim().min(1, 'a category needs a name') });

const taxonomySchema = z.strictObject({
  version: z.literal(1).optional(),
  categories: z
    .union([
      z.array(categoryEntry).transform((list) => list.map((c, i) => ({ ...c, at: ['categories', i] as (string | number)[] }))),
      z
        .record(z.string(), categoryBody.nullable())
        .transform((m) => Object.entries(m).map(([name, body]) => ({ name, ...categoryBody.parse(body ?? {}), at: ['categories', name] as (string | number)[] }))),
    ])
    .default([]),
  actions: stringList.default([]),
  synonyms: z.record(z.string(), stringList).default({}),
});

/** Parses a taxonomy (YAML or JSON text), checking names are unique and parents exist without cycles. */
export function parseTaxonomy(text: string, shownName = '<taxonomy>'): Taxonomy {
  const { data, locator } = parseStructuredText(text, taxonomySchema, 'taxonomy', shownName);
  const at = (i: number, _name: string, field?: string) => locator.at([...data.categories[i]!.at, ...(field ? [field] : [])]);
  // a parent names its category in any spelling (`parent: Sports` for `sports`), as rules and synonyms do
  const spelled = new Map(data.categories.map((c) => [normalizeTag(c.name), c.name]));
  const categories: TaxonomyCategory[] = data.categories.map((c) => ({
    name: c.name,
    description: c.description,
    keywords: [...c.keywords, ...c.synonyms],
    parent: c.parent === null ? null : (spelled.get(normalizeTag(c.parent)) ?? c.parent),
  }));
  const byKey = new Map<string, number>();
  categories.forEach((c, i) => {
    const key = normalizeTag(c.name);
    const prev = byKey.get(key);
    if (prev !== undefined) throw new ConfigError(`${at(i, c.name)}: taxonomy: category "${c.name}" repeats "${categories[prev]!.name}"`);
    byKey.set(key, i);
  });
  // A keyword can mean one category only: the mapper would give an answer equal to it to the first one, or to the
  // category so named, and the user's other entry would silently never match.
  const keywordOf = new Map<string, number>();
  categories.forEach((c, i) => {
    for (const k of c.keywords) {
      const key = normalizeTag(k);
      const named = byKey.get(key);
      if (named !== undefined && named !== i) {
        throw new ConfigError(`${at(i, c.name, 'keywords')}: taxonomy: keyword "${k}" of category "${c.name}" is the name of category "${categories[named]!.name}", so answers "${k}" map there`);
      }
      const prev = keywordOf.get(key);
      if (prev !== undefined && prev !== i) {
        throw new ConfigError(`${at(i, c.name, 'keywords')}: taxonomy: keyword "${k}" is given to both "${categories[prev]!.name}" and "${c.name}"; an answer can map to one category only`);
      }
      keywordOf.set(key, i);
    }
  });
  const names = new Set(categories.map((c) => c.name));
  categories.forEach((c, i) => {
    if (c.parent !== null && !names.has(c.parent)) {
      throw new ConfigError(`${at(i, c.name, 'parent')}: taxonomy: category "${c.name}" has parent "${c.parent}", which is not a category`);
    }
    const seen = new Set([c.name]);
    let p = c.parent;
    while (p !== null) {
      if (seen.has(p)) throw new ConfigError(`${at(i, c.name, 'parent')}: taxonomy: category "${c.name}" is its own ancestor (${[...seen, p].join(' → ')})`);
      seen.add(p);
      p = categories.find((x) => x.name === p)!.parent;
    }
  });
  const variantOf = new Map<string, string>();
  for (const [preferred, variants] of Object.entries(data.synonyms)) {
    for (const v of variants) {
      const key = normalizeTag(v);
      const prev = variantOf.get(key);
      if (prev !== undefined && normalizeTag(prev) !== normalizeTag(preferred)) {
        throw new ConfigError(`${locator.at(['synonyms', preferred])}: taxonomy: synonym "${v}" is given to both "${prev}" and "${preferred}"; a word can stand for one name only`);
      }
      variantOf.set(key, preferred);
    }
  }
  return { categories, actions: dedupe(data.actions), synonyms: data.synonyms };
}

/** Reads the taxonomy file and the action labels file (either may be empty: not configured). */
export function loadTaxonomy(taxonomyFile: string, actionLabelsFile: string): Taxonomy {
  const base = taxonomyFile ? parseTaxonomy(readTextFile(taxonomyFile, 'taxonomy'), taxonomyFile) : EMPTY_TAXONOMY;
  const extra = actionLabelsFile ? parseActionLabels(readTextFile(actionLabelsFile, 'action labels'), actionLabelsFile) : [];
  return { ...base, actions: dedupe([...base.actions, ...extra]) };
}

/**
 * An action vocabulary: one label a line; blank lines and `#` comments skipped; a CSV-ish first column
 * (Kinetics' `label,...` files) and surrounding quotes are accepted.
 */
export function parseActionLabels(text: string, shownName = '<actions>'): string[] {
  const out: string[] = [];
  let first = true;
  text.split(/\r?\n/).forEach((raw, i) => {
    let line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const header = first && /^(label|name|class)(,|$)/i.test(line);
    first = false;
    if (header) return;
    if (line.includes(',') && !line.startsWith('"')) line = line.split(',')[0]!.trim();
    line = line.replace(/^"(.*)"$/, '$1').trim();
    if (!line) return;
    if (line.length > 120) throw new ConfigError(`${shownName}:${i + 1}: action labels: a label is at most 120 characters`);
    out.push(line);
  });
  return dedupe(out);
}

function dedupe(list: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const x of list) {
    const k = normalizeTag(x);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(x);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- mapping

export type MatchKind = 'exact' | 'synonym' | 'fuzzy';

export type Mapping =
  | { readonly name: string; readonly match: MatchKind; readonly confidence: number; readonly similarity: number }
  | { readonly name: null; readonly match: 'none'; readonly best: { name: string; similarity: number } | null; readonly why: string };

/** A synonym match is nearly as sure as an exact one; fuzzy matches are scaled so they never tie with it. */
export const SYNONYM_CONFIDENCE = 0.95;
export const FUZZY_SCALE = 0.9;

interface Candidate {
  name: string;
  tokens: string[];
}

/**
 * Maps free-text answers onto a closed vocabulary: exact (same normalised name), synonym (a keyword or
 * synonym of the label), then the closest label by token similarity when it reaches the threshold and is not
 * a near-tie between two labels. Anything else is not mapped: the caller keeps it as `unmapped`. Results are
 * memoised per answer, since libraries repeat answers.
 */
export class LabelMapper {
  private readonly exact = new Map<string, string>();
  private readonly synonyms = new Map<string, string>();
  private readonly candidates: Candidate[] = [];
  private readonly memo = new Map<string, Mapping>();

  constructor(
    labels: ReadonlyArray<{ name: string; synonyms?: readonly string[] }>,
    readonly threshold: number,
  ) {
    for (const l of labels) {
      this.exact.set(normalizeTag(l.name), l.name);
      this.candidates.push({ name: l.name, tokens: similarityTokens(l.name) });
    }
    for (const l of labels) {
      for (const s of l.synonyms ?? []) {
        const k = normalizeTag(s);
        if (k && !this.exact.has(k) && !this.synonyms.has(k)) this.synonyms.set(k, l.name);
        const tokens = similarityTokens(s);
        if (tokens.length > 0) this.candidates.push({ name: l.name, tokens });
      }
    }
  }

  get size(): number {
    return this.exact.size;
  }

  map(answer: string): Mapping {
    const cached = this.memo.get(answer);
    if (cached) return cached;
    const result = this.compute(answer);
    if (this.memo.size > 50_000) this.memo.clear();
    this.memo.set(answer, result);
    return result;
  }

  private compute(answer: string): Mapping {
    const key = normalizeTag(answer);
    if (!key) return { name: null, match: 'none', best: null, why: 'empty answer' };
    const exact = this.exact.get(key);
    if (exact !== undefined) return { name: exact, match: 'exact', confidence: 1, similarity: 1 };
    const syn = this.synonyms.get(key);
    if (syn !== undefined) return { name: syn, match: 'synonym', confidence: SYNONYM_CONFIDENCE, similarity: 1 };
    const tokens = similarityTokens(answer);
    let best: { name: string; similarity: number } | null = null;
    let second = 0;
    for (const c of this.candidates) {
      const s = tokenSimilarity(tokens, c.tokens);
      if (!best || s > best.similarity) {
        if (best && best.name !== c.name) second = Math.max(second, best.similarity);
        best = { name: c.name, similarity: s };
      } else if (c.name !== best.name && s > second) {
        second = s;
      }
    }
    if (!best || best.similarity < this.threshold) {
      return { name: null, match: 'none', best: best && best.similarity > 0 ? round(best) : null, why: `no label reaches similarity ${this.threshold}` };
    }
    if (best.similarity - second < 0.02) {
      return { name: null, match: 'none', best: round(best), why: 'two labels are equally close' };
    }
    return { name: best.name, match: 'fuzzy', confidence: round3(best.similarity * FUZZY_SCALE), similarity: round3(best.similarity) };
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function round(b: { name: string; similarity: number }): { name: string; similarity: number } {
  return { name: b.name, similarity: round3(b.similarity) };
}

/** Ancestors of a category, nearest first. */
export function ancestors(taxonomy: Taxonomy, name: string): string[] {
  const out: string[] = [];
  let current = taxonomy.categories.find((c) => c.name === name)?.parent ?? null;
  while (current !== null && !out.includes(current)) {
    out.push(current);
    current = taxonomy.categories.find((c) => c.name === current)?.parent ?? null;
  }
  return out;
}

/**
 * What the model templates offer: category names (parents before children), the categories as an indented
 * tree with descriptions and a few keywords ({{taxonomyGuide}}), and the action labels.
 */
export function labelVocabulary(taxonomy: Taxonomy): { categories: string[]; categoryGuide: string; actions: string[] } {
  const names: string[] = [];
  const lines: string[] = [];
  const walk = (parent: string | null, depth: number): void => {
    for (const c of taxonomy.categories.filter((x) => x.parent === parent)) {
      const extra = [c.description, c.keywords.length ? `e.g. ${c.keywords.slice(0, 8).join(', ')}` : ''].filter(Boolean).join('; ');
      names.push(c.name);
      lines.push(`${'  '.repeat(depth)}- ${c.name}${extra ? `: ${extra}` : ''}`);
      walk(c.name, depth + 1);
    }
  };
  walk(null, 0);
  return { categories: names, categoryGuide: lines.join('\n'), actions: [...taxonomy.actions] };
}
