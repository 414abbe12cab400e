import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, maskSecret } from '../../core/index.js';
import { backendOfUrl, BULK_WRITE_BATCH, copyStore, openStore, PG_SCHEMA_NAME } from '../../store/index.js';
import { appFrom, err, out, positiveInt, nonNegativeInt, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface DbFlags extends CommonFlags {
  url?: string;
  to?: string;
  schema?: string;
  batch?: number;
  resume?: boolean;
  sample?: number;
}

/**
 * How a store location is printed: a SQLite file path as given (maskSecret would star the whole of anything that
 * is not a `scheme://` URL), a URL through maskSecret, so its password stays starred.
 */
export function shownLocation(url: string): string {
  return backendOfUrl(url) === 'sqlite' ? url : maskSecret(url);
}

/** Which interrupted copy a `db copy --to` resumes: one per target, however its SQLite path was written. */
export function copyCheckpointKey(to: string, schema: string | undefined): string {
  const target = backendOfUrl(to) === 'sqlite' ? path.resolve(to.replace(/^sqlite:(\/\/)?/i, '')) : to;
  return createHash('sha256').update(`${target}\n${schema ?? ''}`).digest('hex').slice(0, 12);
}

/** The database a MongoDB URL names in its path, if any (then it wins over --schema, as over [Database] Schema). */
function mongoDatabaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url.replace(/^mongodb\+srv:/i, 'mongodb:')).pathname.replace(/^\//, ''));
  } catch {
    return '';
  }
}

/** Refuses a --schema the store at `url` would not use, rather than ignoring it. */
function checkSchemaApplies(schema: string | undefined, backend: string, url: string, where: string): void {
  if (schema === undefined) return;
  if (backend === 'sqlite') throw new ConfigError(`--schema ${schema}: ${where} is a SQLite store, which has no schemas (--schema is for PostgreSQL and MongoDB)`);
  if (backend === 'postgres' && !PG_SCHEMA_NAME.test(schema)) throw new ConfigError(`--schema ${schema}: not allowed for PostgreSQL: letters, digits and _, not starting with a digit, up to 63 characters`);
  const named = backend === 'mongodb' ? mongoDatabaseOf(url) : '';
  if (named) throw new ConfigError(`--schema ${schema}: ${where} names its MongoDB database (${named}) in the URL, which wins over --schema`);
}

/** Opens the store a URL (or SQLite path) names, with the config's pool size. */
async function storeAt(url: string, flags: DbFlags, poolSize: number, compat: 'auto' | 'mongodb' | 'cosmos', where: string) {
  const backend = backendOfUrl(url);
  if (!backend) throw new ConfigError(`${maskSecret(url)}: not a store URL (expected postgres://, mongodb://, mongodb+srv:// or a SQLite file path)`);
  checkSchemaApplies(flags.schema, backend, url, where);
  return openStore({ backend, url, path: path.resolve(url.replace(/^sqlite:(\/\/)?/i, '')), schema: flags.schema ?? 'public', poolSize, compat });
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('database schema and moving a library between backends');

  withConfigOptions(
    db
      .command('migrate')
      .description(
        'create or upgrade the schema of the configured store (or --url); --schema names the PostgreSQL schema ' +
          '(MongoDB: the database, when the URL names none) of either, in place of [Database] Schema, and is refused for SQLite',
      ),
  )
    .option('--url <url>', 'another store: postgres://, mongodb:// or a SQLite file')
    .option('--schema <name>', 'PostgreSQL schema / MongoDB database of --url, or of the configured store (default: [Database] Schema for the configured store, public / from the URL for --url); not for SQLite')
    .action(async (flags: DbFlags) => {
      // Without --url, --schema is the configured store's [Database] Schema for this run.
      const app = appFrom(flags, flags.url ? {} : { 'Database.Schema': flags.schema });
      try {
        if (flags.url) {
          const store = await storeAt(flags.url, flags, app.config.Database.PoolSize, app.config.Database.Compat, `--url ${shownLocation(flags.url)}`);
          try {
            await store.migrate();
            out(`migrated ${store.kind} at ${shownLocation(flags.url)}${flags.schema ? `, schema ${flags.schema}` : ''}`);
          } finally {
            await store.close();
          }
        } else {
          const d = app.config.Database;
          checkSchemaApplies(flags.schema, d.Backend, d.Url, 'the configured store');
          const store = await app.store(); // migrates
          out(`migrated ${store.kind} at ${d.Backend === 'sqlite' ? d.Path : maskSecret(d.Url)}${flags.schema ? `, schema ${flags.schema}` : ''}`);
        }
      } finally {
        await app.close();
      }
    });

  withConfigOptions(db.command('copy').description('copy every record of the configured store into another (streamed, resumable, counts verified)'))
    .requiredOption('--to <url>', 'target: postgres://user:pass@host/db, mongodb://host/db, or a SQLite file path')
    .option('--schema <name>', 'PostgreSQL schema / MongoDB database of the target (default public / from the URL); not for a SQLite target')
    .option('--batch <n>', 'records per write', positiveInt, BULK_WRITE_BATCH)
    .option('--no-resume', 'start over instead of resuming an interrupted copy')
    .option('--sample <n>', 'records compared whole after the copy (0: counts only)', nonNegativeInt, 100)
    .action(async (flags: DbFlags) => {
      const app = appFrom(flags);
      const to = flags.to!;
      try {
        const from = await app.library();
        const target = await storeAt(to, flags, app.config.Database.PoolSize, app.config.Database.Compat, `--to ${shownLocation(to)}`);
        const key = copyCheckpointKey(to, flags.schema);
        const checkpointFile = path.join(app.config.Paths.DataDir, `db-copy-${key}.json`);
        if (flags.resume === false) (await import('node:fs')).rmSync(checkpointFile, { force: true });
        const started = Date.now();
        try {
          const report = await copyStore(from, target, {
            batchSize: flags.batch ?? BULK_WRITE_BATCH,
            checkpointFile,
            sample: flags.sample ?? 100,
            onProgress: (p) => {
              const secs = (Date.now() - started) / 1000;
              err(`db copy: ${p.copied}/${p.total} records (${Math.round((p.copied - p.skipped) / Math.max(secs, 0.001))}/s)`);
            },
          });
          out(
            `copied ${report.copied} records${report.resumedAfter ? ` (resumed: ${report.resumedAfter} already there)` : ''} and ${report.inputs} input rows to ${target.kind} at ${shownLocation(to)}; ` +
              `counts verified (${report.sourceCount} = ${report.targetCount}), ${report.sampled} records compared whole`,
          );
        } finally {
          await target.close();
        }
      } finally {
        await app.close();
      }
    });
}
