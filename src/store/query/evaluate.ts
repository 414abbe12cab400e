/**
 * The reference meaning of a query, evaluated in memory over IndexFields. The contract suite checks every
 * store's answers against it, so the backends agree with each other by construction.
 */
import type { QueryNode, Range, TimeRange } from '../search-query.js';
import type { IndexFields } from './index-fields.js';
import { TEXT_FIELDS } from './index-fields.js';
import type { QueryPlan } from './query-plan.js';
import { sortSpec } from './query-plan.js';

export function inRange(x: number | null, r: Range): boolean {
  if (x === null) return false;
  if (r.min !== undefined && (r.minExclusive ? x <= r.min : x < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? x >= r.max : x > r.max)) return false;
  return true;
}

export function inTime(x: string, r: TimeRange): boolean {
  if (r.from !== undefined && x < r.from) return false;
  if (r.to !== undefined && x >= r.to) return false;
  return true;
}

function textMatch(f: IndexFields, value: string, phrase: boolean, prefix: boolean): boolean {
  for (const field of TEXT_FIELDS) {
    const t = f.text[field];
    if (!t) continue;
    if (phrase) {
      if (` ${t} `.includes(` ${value} `)) return true;
    } else if (prefix) {
      if (t.startsWith(value) || t.includes(` ${value}`)) return true;
    } else if (` ${t} `.includes(` ${value} `)) return true;
  }
  return false;
}

function rangeValue(f: IndexFields, field: string): number | null {
  switch (field) {
    case 'duration':
      return f.durationSec;
    case 'width':
      return f.width;
    case 'height':
      return f.height;
    case 'fps':
      return f.fps;
    case 'scenes':
      return f.scenes;
    default:
      return f.bytes;
  }
}

export function matches(f: IndexFields, node: QueryNode | null): boolean {
  if (!node) return true;
  switch (node.kind) {
    case 'and':
      return node.nodes.every((n) => matches(f, n));
    case 'or':
      return node.nodes.some((n) => matches(f, n));
    case 'not':
      return !matches(f, node.node);
    case 'text':
      return textMatch(f, node.value, Boolean(node.phrase), Boolean(node.prefix));
    case 'label':
      switch (node.field) {
        case 'tag':
          return f.tags.includes(node.value);
        case 'category':
          return f.categories.includes(node.value);
        case 'action':
          return f.actions.includes(node.value);
        case 'codec':
          return f.codec === node.value;
        case 'audio-codec':
          return f.audioCodec === node.value;
        case 'container':
          return f.container === node.value;
        case 'source':
          return f.sourceKind === node.value;
        case 'resolution':
          return f.resolution === node.value;
      }
      return false;
    case 'range':
      return inRange(rangeValue(f, node.field), node.range);
    case 'time':
      return inTime(node.field === 'created' ? f.created : f.added, node.range);
    case 'has':
      switch (node.what) {
        case 'audio':
          return f.hasAudio;
        case 'ai':
          return f.hasAi;
        case 'description':
          return f.hasDescription;
        case 'scenes':
          return f.scenes > 0;
        case 'tags':
          return f.tags.length > 0;
        case 'metadata':
          return f.hasMetadata;
      }
      return false;
    case 'failed':
      return f.failed;
    case 'name':
      return f.name.includes(node.value);
    case 'id':
      return f.id === node.value;
  }
}

/** Ordering of two records under a non-relevance sort (ties by id ascending). */
export function compareBySort(plan: Pick<QueryPlan, 'sort'>, a: IndexFields, b: IndexFields): number {
  const spec = sortSpec(plan.sort);
  if (spec) {
    const x = a[spec.field];
    const y = b[spec.field];
    if (x !== y) {
      const c = x < y ? -1 : 1;
      return spec.desc ? -c : c;
    }
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Facet counts over matching records, the way stores must compute them (count desc, then name). */
export function facetCounts(values: Iterable<string | null>, size: number): Record<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  return topFacet([...counts.entries()], size);
}

export function topFacet(entries: Array<[string, number]>, size: number): Record<string, number> {
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(entries.slice(0, size));
}
