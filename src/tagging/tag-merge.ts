import type { Category, Tag, TagSource } from '../core/index.js';

/** When two pieces of evidence are equally sure, the one from the more trusted source wins. */
const SOURCE_RANK: Record<string, number> = { user: 7, rule: 6, metadata: 5, list: 4, ai: 3, plugin: 2, filename: 1 };

function rank(source: string): number {
  return SOURCE_RANK[source] ?? 0;
}

/** A tag without a confidence is a certain fact (metadata, rules): it counts as 1. */
export function confidenceOf(item: { confidence?: number }): number {
  return item.confidence ?? 1;
}

/** The stronger of two pieces of evidence for the same name. */
export function stronger<T extends { source: TagSource | string; confidence?: number }>(a: T, b: T): T {
  const ca = confidenceOf(a);
  const cb = confidenceOf(b);
  if (ca !== cb) return ca > cb ? a : b;
  return rank(b.source) > rank(a.source) ? b : a;
}

/**
 * One tag per name, keeping the strongest evidence: the highest confidence, then the most trusted source.
 * Order is that of first appearance, so output is stable for the same input.
 */
export function mergeTags(tags: Iterable<Tag>): Tag[] {
  const byName = new Map<string, Tag>();
  for (const t of tags) {
    if (!t.name) continue;
    const prev = byName.get(t.name);
    byName.set(t.name, prev ? stronger(prev, t) : t);
  }
  return [...byName.values()];
}

/** Categories merged the same way; a category's identity is its name and kind. */
export function mergeCategories(categories: Iterable<Category>): Category[] {
  const byKey = new Map<string, Category>();
  for (const c of categories) {
    if (!c.name) continue;
    const key = `${c.kind ?? 'category'}\u0000${c.name}\u0000${c.name === UNMAPPED ? (c.label ?? '') : ''}`;
    const prev = byKey.get(key);
    byKey.set(key, prev ? stronger(prev, c) : c);
  }
  return [...byKey.values()];
}

/** The category name given to model answers that match nothing in the taxonomy, kept for review. */
export const UNMAPPED = 'unmapped';
