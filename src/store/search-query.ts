import type { SourceKind, Video } from '../core/index.js';

/** A numeric range; bounds are inclusive unless marked exclusive. */
export interface Range {
  min?: number;
  max?: number;
  /** `fps:>30`: the minimum itself does not match. */
  minExclusive?: boolean;
  /** `duration:<60`: the maximum itself does not match. */
  maxExclusive?: boolean;
}

/** A time range over ISO-8601 UTC strings (`2024-01-01T00:00:00.000Z`); `from` inclusive, `to` exclusive. */
export interface TimeRange {
  from?: string;
  to?: string;
}

export type SortKey =
  | 'relevance'
  | 'created-desc'
  | 'created-asc'
  | 'added-desc'
  | 'added-asc'
  | 'duration-desc'
  | 'duration-asc'
  | 'name-asc'
  | 'name-desc'
  | 'size-desc'
  | 'size-asc';

export const SORT_KEYS: readonly SortKey[] = [
  'relevance',
  'created-desc',
  'created-asc',
  'added-desc',
  'added-asc',
  'duration-desc',
  'duration-asc',
  'name-asc',
  'name-desc',
  'size-desc',
  'size-asc',
];

/** Numeric fields a range can apply to. `size` is the file size in bytes. */
export type RangeField = 'duration' | 'width' | 'height' | 'fps' | 'scenes' | 'size';
/** Exact-match label fields (lower-cased on both sides). */
export type LabelField = 'tag' | 'category' | 'action' | 'codec' | 'container' | 'source' | 'resolution' | 'audio-codec';
/** Time fields: `created` is when the video was made (container creation time, else upload date, else when it was added); `added` is when the record was made. */
export type TimeField = 'created' | 'added';
export type HasWhat = 'audio' | 'ai' | 'description' | 'scenes' | 'tags' | 'metadata';

/**
 * One node of a parsed query. Leaves are predicates on one record; `and`/`or`/`not` combine them.
 * Text leaves match whole tokens of the searchable text (title, tags, AI description and actions, categories,
 * scene descriptions, file name), lower-cased and without diacritics; `prefix` matches tokens that start with
 * the value; `phrase` matches consecutive tokens within one field.
 */
export type QueryNode =
  | { kind: 'and'; nodes: QueryNode[] }
  | { kind: 'or'; nodes: QueryNode[] }
  | { kind: 'not'; node: QueryNode }
  | { kind: 'text'; value: string; phrase?: boolean; prefix?: boolean }
  | { kind: 'label'; field: LabelField; value: string }
  | { kind: 'range'; field: RangeField; range: Range }
  | { kind: 'time'; field: TimeField; range: TimeRange }
  | { kind: 'has'; what: HasWhat }
  | { kind: 'failed' }
  /** Substring of the file name or title (fuzzy-indexed where the store can: pg_trgm). */
  | { kind: 'name'; value: string }
  | { kind: 'id'; value: string };

/**
 * A search: the same model from CLI flags, the HTTP query string, the web page and the library API.
 * `where` is the parsed boolean query (see `parseQuery`); the flat fields are shortcuts for code that builds
 * queries by hand and are ANDed with `where`. Adapters translate `queryTree(q)`, never the flat fields.
 */
export interface SearchQuery {
  /** Free text in the query language (words, "phrases", prefix*, -negation, OR). */
  text?: string;
  /** The parsed query tree. */
  where?: QueryNode;
  /** All of these tags. */
  tags?: string[];
  /** At least one of these tags. */
  anyTags?: string[];
  /** None of these tags. */
  notTags?: string[];
  /** All of these categories. */
  categories?: string[];
  /** None of these categories. */
  notCategories?: string[];
  /** All of these actions (from the model's answer). */
  actions?: string[];
  duration?: Range;
  width?: Range;
  height?: Range;
  fps?: Range;
  /** Number of scenes. */
  scenes?: Range;
  created?: TimeRange;
  codec?: string;
  sourceKind?: SourceKind;
  hasAudio?: boolean;
  /** Records with a failed stage only. */
  failed?: boolean;
  /** Relevance when the query has positive text, else `added-desc`. */
  sort?: SortKey;
  /** Page size (default 20, at most 1000). */
  limit?: number;
  offset?: number;
  /** Opaque cursor from a previous result's `nextCursor`; wins over `offset`. */
  cursor?: string;
  /** Compute facets (default true). */
  facets?: boolean;
}

export interface SearchHit {
  id: string;
  score: number;
  /** A snippet of the matching text, with [matches] marked. */
  highlight?: string;
}

export interface Facets {
  tags: Record<string, number>;
  categories: Record<string, number>;
  codecs: Record<string, number>;
  sourceKinds: Record<string, number>;
  resolutions: Record<string, number>;
}

export interface SearchResult {
  hits: Array<SearchHit & { video: Video }>;
  total: number;
  facets: Facets;
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor?: string | null;
}

export function emptyFacets(): Facets {
  return { tags: {}, categories: {}, codecs: {}, sourceKinds: {}, resolutions: {} };
}
