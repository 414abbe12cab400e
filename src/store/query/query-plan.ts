import { QueryError } from '../../core/index.js';
import type { QueryNode, SearchQuery, SortKey } from '../search-query.js';
import { labelValue, type IndexFields } from './index-fields.js';
import { checkedSortKey, MAX_LIMIT, MAX_OFFSET, parseQuery, sortKeyOf } from './query-parser.js';
import { normalizeText } from './text.js';

export const DEFAULT_LIMIT = 20;
/** Entries per facet (most frequent first). */
export const FACET_SIZE = 50;

/** A text term that adds to relevance and highlights: a positive text leaf. */
export interface TextTerm {
  value: string;
  phrase: boolean;
  prefix: boolean;
}

/** Where a keyset page starts: after this sort value and id. */
export interface KeysetCursor {
  sort: SortKey;
  value: string | number;
  id: string;
}

/** What an adapter executes: one tree, one sort, one page. */
export interface QueryPlan {
  where: QueryNode | null;
  terms: TextTerm[];
  sort: SortKey;
  limit: number;
  offset: number;
  /** Keyset position for non-relevance sorts. */
  after: KeysetCursor | null;
  facets: boolean;
}

function labels(field: 'tag' | 'category' | 'action', values: string[] | undefined, mode: 'all' | 'any' | 'none'): QueryNode[] {
  if (!values?.length) return [];
  const leaves: QueryNode[] = values.map((v) => ({ kind: 'label', field, value: labelValue(field, v) }));
  if (mode === 'all') return leaves;
  if (mode === 'none') return leaves.map((node) => ({ kind: 'not', node }));
  return [{ kind: 'or', nodes: leaves }];
}

/** Flattens nested and/or, removes double negation and single-child groups. */
export function simplify(node: QueryNode): QueryNode {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const out: QueryNode[] = [];
      for (const child of node.nodes.map(simplify)) {
        if (child.kind === node.kind) out.push(...child.nodes);
        else out.push(child);
      }
      return out.length === 1 ? out[0]! : { kind: node.kind, nodes: out };
    }
    case 'not': {
      const inner = simplify(node.node);
      return inner.kind === 'not' ? inner.node : { kind: 'not', node: inner };
    }
    default:
      return node;
  }
}

/** The whole query as one tree (flat fields, `text` and `where` ANDed), or null for "everything". */
export function queryTree(q: SearchQuery): { where: QueryNode | null; options: SearchQuery } {
  const parts: QueryNode[] = [];
  let options: SearchQuery = {};
  if (q.text && q.text.trim()) {
    const parsed = parseQuery(q.text);
    options = parsed;
    if (parsed.where) parts.push(parsed.where);
  }
  if (q.where) parts.push(q.where);
  parts.push(...labels('tag', q.tags, 'all'), ...labels('tag', q.anyTags, 'any'), ...labels('tag', q.notTags, 'none'));
  parts.push(...labels('category', q.categories, 'all'), ...labels('category', q.notCategories, 'none'));
  parts.push(...labels('action', q.actions, 'all'));
  for (const f of ['duration', 'width', 'height', 'fps', 'scenes'] as const) {
    const r = q[f];
    if (r && (r.min !== undefined || r.max !== undefined)) parts.push({ kind: 'range', field: f, range: r });
  }
  if (q.created && (q.created.from || q.created.to)) parts.push({ kind: 'time', field: 'created', range: q.created });
  if (q.codec) parts.push({ kind: 'label', field: 'codec', value: normalizeText(q.codec).trim() });
  if (q.sourceKind) parts.push({ kind: 'label', field: 'source', value: q.sourceKind });
  if (q.hasAudio !== undefined) parts.push(q.hasAudio ? { kind: 'has', what: 'audio' } : { kind: 'not', node: { kind: 'has', what: 'audio' } });
  if (q.failed) parts.push({ kind: 'failed' });
  const where = parts.length === 0 ? null : simplify(parts.length === 1 ? parts[0]! : { kind: 'and', nodes: parts });
  return { where, options };
}

/** Positive text leaves (not under a negation): what relevance and highlights use. */
export function positiveTerms(node: QueryNode | null, negated = false, out: TextTerm[] = []): TextTerm[] {
  if (!node) return out;
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const n of node.nodes) positiveTerms(n, negated, out);
      break;
    case 'not':
      positiveTerms(node.node, !negated, out);
      break;
    case 'text':
      if (!negated && !out.some((t) => t.value === node.value && t.prefix === Boolean(node.prefix))) {
        out.push({ value: node.value, phrase: Boolean(node.phrase), prefix: Boolean(node.prefix) });
      }
      break;
    default:
      break;
  }
  return out;
}

export function encodeCursor(c: KeysetCursor | { offset: number }): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

export function decodeCursor(s: string): KeysetCursor | { offset: number } {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof v.offset === 'number' && Number.isSafeInteger(v.offset) && v.offset >= 0) return { offset: v.offset };
    const sort = typeof v.sort === 'string' ? sortKeyOf(v.sort) : null;
    const spec = sort ? sortSpec(sort) : null;
    // the value is the sort column's: a number for duration and size, text otherwise (a hand-made cursor with the
    // other type matched nothing and answered an empty page)
    const numeric = spec?.field === 'duration' || spec?.field === 'bytes';
    if (sort && spec && typeof v.id === 'string' && typeof v.value === (numeric ? 'number' : 'string') && (!numeric || Number.isFinite(v.value))) {
      return { sort, value: v.value as string | number, id: v.id };
    }
  } catch {
    // fall through
  }
  // no column: a cursor comes from a parameter or flag as often as from the query text
  throw new QueryError('cursor: not a cursor from this search', 0);
}

/** Resolves defaults, parses `text`, folds flat fields and decodes the cursor. Throws QueryError. */
export function planQuery(q: SearchQuery = {}): QueryPlan {
  const { where, options } = queryTree(q);
  const terms = positiveTerms(where);
  // a sort given outside the text (HTTP, the library API) is checked as `sort:` is: never a column name unchecked
  const sort: SortKey = (q.sort !== undefined ? checkedSortKey(q.sort) : options.sort) ?? (terms.length > 0 ? 'relevance' : 'added-desc');
  const limitRaw = q.limit ?? options.limit ?? DEFAULT_LIMIT;
  // A page the query language or the HTTP API would refuse, given through `--offset` or the library API: as
  // numbers past what the databases take (1e20, Infinity, NaN) they failed as store errors, or were read as
  // different pages by different stores.
  if (Number.isNaN(limitRaw)) throw new QueryError('limit: not a number', 0);
  const offsetRaw = q.offset ?? options.offset ?? 0;
  if (Number.isNaN(offsetRaw) || offsetRaw > MAX_OFFSET) throw new QueryError(`offset: ${offsetRaw} is not a whole number from 0 to ${MAX_OFFSET} (a cursor goes further)`, 0);
  const limit = Math.max(0, Math.min(MAX_LIMIT, Math.floor(limitRaw)));
  let offset = Math.max(0, Math.floor(offsetRaw));
  let after: KeysetCursor | null = null;
  const cursor = q.cursor ?? options.cursor;
  if (cursor) {
    const c = decodeCursor(cursor);
    if ('offset' in c) offset = c.offset;
    else {
      if (c.sort !== sort) throw new QueryError(`cursor: made for sort ${c.sort}, not ${sort}`, 1);
      after = c;
      offset = 0;
    }
  }
  return { where, terms, sort, limit, offset, after, facets: q.facets ?? true };
}

/** The column a sort orders by (an IndexFields key) and its direction; relevance has none. */
export type SortField = 'created' | 'added' | 'duration' | 'name' | 'bytes';

export function sortSpec(sort: SortKey): { field: SortField; desc: boolean } | null {
  if (sort === 'relevance') return null;
  const [f, dir] = sort.split('-') as [string, string];
  const field: SortField = f === 'size' ? 'bytes' : (f as SortField);
  return { field, desc: dir === 'desc' };
}

/** The cursor for the page after one ending with `last`, or null when nothing follows (`hasMore`: the adapter fetched one row past the page). */
export function nextCursor(plan: QueryPlan, hasMore: boolean, pageLength: number, last: Pick<IndexFields, 'id' | SortField> | undefined): string | null {
  if (!last || !hasMore) return null;
  const spec = sortSpec(plan.sort);
  if (!spec) return encodeCursor({ offset: plan.offset + pageLength });
  return encodeCursor({ sort: plan.sort, value: last[spec.field], id: last.id });
}

