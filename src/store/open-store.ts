import { createHash } from 'node:crypto';
import path from 'node:path';
import { ConfigError, maskSecret, type Logger } from '../core/index.js';
import type { VideoStore } from './video-store.js';

export type Backend = 'sqlite' | 'postgres' | 'mongodb';

export interface OpenStoreOptions {
  backend: Backend;
  /** SQLite file. */
  path?: string;
  /** postgres:// or mongodb:// (mongodb+srv://) URL. */
  url?: string;
  /** PostgreSQL schema, or MongoDB database when the URL names none. */
  schema?: string;
  poolSize?: number;
  /** MongoDB flavour: auto (from the host name), mongodb, or cosmos (Azure Cosmos DB for MongoDB). */
  compat?: 'auto' | 'mongodb' | 'cosmos';
  logger?: Logger;
  /** postgres: the folder of local search replicas (see search-replica.ts); absent: searches run in PostgreSQL. */
  replicaDir?: string;
  /** sqlite: `others` when another connection of this process writes the same file and checkpoints it (see SqliteStore). */
  checkpoints?: 'others';
}

/**
 * The replica file of one PostgreSQL library: named by server, database, user and schema, never by the
 * password (which may change without the library changing).
 */
export function replicaFileFor(dir: string, url: string, schema: string): string {
  let where = url;
  try {
    const u = new URL(url);
    where = `${u.username}@${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // not a URL the driver would accept either; the hash of the text still names it
  }
  return path.join(dir, `postgres-${createHash('sha256').update(`${where}\u0000${schema}`).digest('hex').slice(0, 16)}.db`);
}

/** What the PostgreSQL store takes as a schema name: one it can quote without escaping (see postgres-store.ts). */
export const PG_SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The backend a URL points at, or null: `postgres://`, `postgresql://`, `mongodb://`, `mongodb+srv://`, or a file path. */
export function backendOfUrl(url: string): Backend | null {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^mongodb(\+srv)?:\/\//i.test(url)) return 'mongodb';
  if (/^sqlite:/i.test(url) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return 'sqlite';
  return null;
}

/**
 * Builds (does not migrate) the store a config asks for. Only the chosen adapter's driver is loaded:
 * `pg` and `mongodb` are imported on demand.
 */
export async function openStore(o: OpenStoreOptions): Promise<VideoStore> {
  switch (o.backend) {
    case 'sqlite': {
      const { SqliteStore } = await import('./sqlite/sqlite-store.js');
      if (!o.path) throw new ConfigError('[Database] Path is empty: the SQLite backend needs a file');
      return new SqliteStore(o.path.replace(/^sqlite:(\/\/)?/i, ''), o.checkpoints ? { checkpoints: o.checkpoints } : {});
    }
    case 'postgres': {
      if (!o.url || backendOfUrl(o.url) !== 'postgres') throw new ConfigError(`[Database] Url = ${maskSecret(o.url ?? '') || '(empty)'} is not allowed: expected postgres://user:password@host:5432/database for Backend = postgres`);
      const { PostgresStore } = await import('./postgres/postgres-store.js');
      const schema = o.schema ?? 'public';
      // a config mistake, stopped as one (exit 3) before any connection, rather than a store failure
      if (!PG_SCHEMA_NAME.test(schema)) throw new ConfigError(`[Database] Schema = ${schema} is not allowed for PostgreSQL: letters, digits and _, not starting with a digit, up to 63 characters`);
      return new PostgresStore({
        url: o.url,
        schema,
        poolSize: o.poolSize ?? 10,
        ...(o.logger ? { logger: o.logger } : {}),
        ...(o.replicaDir ? { replicaFile: replicaFileFor(o.replicaDir, o.url, schema) } : {}),
      });
    }
    case 'mongodb': {
      if (!o.url || backendOfUrl(o.url) !== 'mongodb') throw new ConfigError(`[Database] Url = ${maskSecret(o.url ?? '') || '(empty)'} is not allowed: expected mongodb://user:password@host:27017/database (or mongodb+srv://) for Backend = mongodb`);
      const { MongoStore } = await import('./mongodb/mongo-store.js');
      return MongoStore.connect({
        url: o.url,
        ...(o.schema && o.schema !== 'public' ? { database: o.schema } : {}),
        poolSize: o.poolSize ?? 10,
        compat: o.compat ?? 'auto',
        ...(o.logger ? { logger: o.logger } : {}),
      });
    }
  }
}
