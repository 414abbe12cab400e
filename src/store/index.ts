export type { VideoStore, InputRecord, IterateOptions, TagUpdate } from './video-store.js';
export { BULK_WRITE_BATCH } from './video-store.js';
export * from './search-query.js';
export * from './query/index.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export { replicaFileFor, openStore, backendOfUrl } from './open-store.js';
export type { Backend, OpenStoreOptions } from './open-store.js';
export { copyStore } from './copy-store.js';
export type { CopyOptions, CopyProgress, CopyReport } from './copy-store.js';
