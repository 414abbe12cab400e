export type { VideoStore, InputRecord } from './video-store.js';
export type { SearchQuery, SearchResult, SearchHit, Facets, Range, SortKey } from './search-query.js';
export { SqliteStore, toFtsQuery } from './sqlite/sqlite-store.js';
export { searchFields, resolutionClass, hasFailedStage } from './search-text.js';
