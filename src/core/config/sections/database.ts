import { bool, int, oneOf, str } from '../config-key.js';

export const Database = {
  Backend: oneOf(['sqlite', 'postgres', 'mongodb'] as const, 'sqlite', 'sqlite (embedded, default), postgres or mongodb (also Cosmos DB for MongoDB).'),
  Path: str('', 'SQLite file (default: <DataDir>/videodex.db).'),
  Url: str('', 'postgres:// or mongodb:// URL for the team backends. Its password is masked everywhere.', { secret: true }),
  PoolSize: int(10, { min: 1, max: 1000 }, 'Connections in the pool (postgres, mongodb).'),
  Schema: str('public', 'PostgreSQL schema (letters, digits and _, not starting with a digit, up to 63 characters); for MongoDB the database name when the URL names none (default videodex).'),
  SearchReplica: bool(
    true,
    'postgres: answer searches from a local SQLite copy of the library in <CacheDir>/search-replica, brought up to date from the server before each search (fast totals, facets and ranking; see docs/stores.md). false: searches run in PostgreSQL.',
  ),
  Compat: oneOf(['auto', 'mongodb', 'cosmos'] as const, 'auto', 'MongoDB flavour: auto (Cosmos DB when the host ends in .cosmos.azure.com), mongodb, or cosmos (Azure Cosmos DB for MongoDB: no $text, smaller indexes; see docs/stores.md).'),
} as const;
