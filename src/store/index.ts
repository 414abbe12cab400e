export type { VideoStore, InputRecord } from './video-store.js';
export * from './search-query.js';
export * from './query/index.js';
