export { parseQuery, FIELDS, MAX_QUERY_LENGTH, MAX_LIMIT, MAX_OFFSET, sortKeyOf, checkedSortKey } from './query-parser.js';
export {
  planQuery,
  queryTree,
  simplify,
  positiveTerms,
  encodeCursor,
  decodeCursor,
  nextCursor,
  sortSpec,
  DEFAULT_LIMIT,
  FACET_SIZE,
} from './query-plan.js';
export type { QueryPlan, TextTerm, KeysetCursor, SortField } from './query-plan.js';
export { indexFields, labelFields, tagLabel, tagText, labelsMoved, onlyStagesMoved, sameList, hasFailedStage, INDEX_VERSION, resolutionClass, isoDate, TEXT_FIELDS, TEXT_WEIGHTS } from './index-fields.js';
export type { IndexFields, TextField } from './index-fields.js';
export { matches, compareBySort, facetCounts, topFacet, inRange, inTime } from './evaluate.js';
export { highlight, highlightParts } from './highlight.js';
export type { SnippetPart } from './highlight.js';
export { normalizeText, tokenize, indexText } from './text.js';
