import type { SourceKind } from '../core/index.js';

export interface Range {
  min?: number;
  max?: number;
}

export type SortKey =
  | 'relevance'
  | 'created-desc'
  | 'created-asc'
  | 'duration-desc'
  | 'duration-asc'
  | 'name-asc'
  | 'name-desc'
  | 'size-desc'
  | 'size-asc';

/** A parsed search: the same model from CLI flags, the HTTP query string and the web page. */
export interface SearchQuery {
  /** Free text (FTS syntax of the store: words, "phrases", prefix*). */
  text?: string;
  /** All of these tags. */
  tags?: string[];
  /** At least one of these tags. */
  anyTags?: string[];
  /** None of these tags. */
  notTags?: string[];
  /** All of these categories. */
  categories?: string[];
  duration?: Range;
  width?: Range;
  height?: Range;
  fps?: Range;
  codec?: string;
  sourceKind?: SourceKind;
  /** Records with a failed stage only. */
  failed?: boolean;
  sort?: SortKey;
  limit?: number;
  offset?: number;
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
  hits: Array<SearchHit & { video: import('../core/index.js').Video }>;
  total: number;
  facets: Facets;
}
