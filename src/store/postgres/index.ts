export { PostgresStore } from './postgres-store.js';
export type { PostgresStoreOptions } from './postgres-store.js';
export { PG_MIGRATIONS } from './postgres-migrations.js';
