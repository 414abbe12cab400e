import type { Video } from '../core/index.js';
import { MAX_LIMIT, queryTree } from './query/index.js';
import type { SearchQuery, SortKey } from './search-query.js';
import type { IterateOptions, VideoStore } from './video-store.js';

/** What picks and orders records out of a match, as the query asked for it (flags or `sort:`/`limit:` words). */
export interface Selection {
  sort?: SortKey;
  limit?: number;
  offset?: number;
  cursor?: string;
}

/** The query's sort, limit, offset and cursor, flags over words; null when it asks for none (every match). */
export function selectionOf(q: SearchQuery): Selection | null {
  const { options } = queryTree(q);
  const s: Selection = {};
  const sort = q.sort ?? options.sort;
  const limit = q.limit ?? options.limit;
  const offset = q.offset ?? options.offset;
  const cursor = q.cursor ?? options.cursor;
  if (sort) s.sort = sort;
  if (limit !== undefined) s.limit = limit;
  if (offset) s.offset = offset;
  if (cursor) s.cursor = cursor;
  return Object.keys(s).length > 0 ? s : null;
}

/** Whether the query matches every record, in no particular order (no condition, sort, limit, offset or cursor). */
export function matchesEveryRecord(q: SearchQuery): boolean {
  return queryTree(q).where === null && selectionOf(q) === null;
}

/**
 * The records a command over a query acts on (export, retag, remove, dataset, the tag and category counts).
 * Without a sort, limit, offset or cursor: every match, streamed by `iterate`. With any of them: the records
 * `search` pages through, in its order, the limit counting over all pages, so `export --sort duration-desc
 * --limit 10` writes the ten longest and `remove --limit 1` removes one. Their ids are taken first, so a command
 * that writes as it goes (remove, retag) cannot move records into or out of its own pass; each record is then
 * read when its turn comes, and one removed meanwhile is skipped.
 */
export async function* selectedRecords(store: VideoStore, q: SearchQuery = {}, options: IterateOptions = {}): AsyncGenerator<Video> {
  const selection = selectionOf(q);
  if (!selection) {
    yield* store.iterate(q, options);
    return;
  }
  if (options.shard) throw new Error('a sorted or limited selection of records cannot be split into shards');
  const ids: string[] = [];
  let remaining = selection.limit ?? Number.POSITIVE_INFINITY;
  let page: SearchQuery = { ...q, facets: false };
  while (remaining > 0) {
    const r = await store.search({ ...page, limit: Math.min(MAX_LIMIT, remaining) });
    for (const h of r.hits) ids.push(h.id);
    remaining -= r.hits.length;
    if (!r.nextCursor || r.hits.length === 0) break;
    // later pages follow the cursor, which carries the position (an offset asked for applies to the first)
    const { offset: _offset, ...rest } = page;
    page = { ...rest, cursor: r.nextCursor };
  }
  for (const id of ids) {
    const v = await store.get(id);
    if (v) yield v;
  }
}
