import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskSecret } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { runCliInProcess, expectConfigError } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

// `videodex db migrate` / `db copy`: a SQLite target is printed as its path (not ***), a URL keeps its password
// starred, and --schema is applied or refused, never silently dropped.
const t = tempDir('videodex-db-flags-');
const data = path.join(t.dir, 'data');
afterAll(() => t.cleanup());

beforeAll(async () => {
  const source = new SqliteStore(path.join(data, 'videodex.db'));
  await source.migrate();
  await source.upsertMany([makeRecord(), makeRecord(), makeRecord()]);
  await source.close();
});

/** A config file whose [Database] section is `lines`. */
function configWith(name: string, lines: string[]): string {
  const file = path.join(t.dir, `${name}.ini`);
  writeFileSync(file, ['[Database]', ...lines, ''].join('\n'));
  return file;
}

describe('videodex db migrate / db copy print a SQLite target as its path', () => {
  it('db migrate --url <sqlite file> prints the file, not ***', async () => {
    const file = path.join(t.dir, 'other.db');
    const r = await runCliInProcess('db', 'migrate', '--url', file, '--data-dir', data);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`migrated sqlite at ${file}\n`);
    expect(existsSync(file)).toBe(true);
  });

  it('db copy --to <sqlite file> prints the file, not ***', async () => {
    const file = path.join(t.dir, 'copy.db');
    const r = await runCliInProcess('db', 'copy', '--to', file, '--data-dir', data);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`copied 3 records and 0 input rows to sqlite at ${file}; counts verified (3 = 3), 3 records compared whole\n`);
    expect(r.stdout).not.toContain('***');
  });

  it('a URL is still printed with its password starred (in the --schema error, before any connection)', async () => {
    const r = await runCliInProcess('db', 'migrate', '--url', 'mongodb://vdx:s3cret-pw@127.0.0.1:1/named', '--schema', 'other', '--data-dir', data);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('videodex: --schema other: --url mongodb://vdx:***@127.0.0.1:1/named names its MongoDB database (named) in the URL, which wins over --schema\n');
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    expect(maskSecret('postgres://vdx:s3cret-pw@db.internal:5432/videodex')).toBe('postgres://vdx:***@db.internal:5432/videodex');
  });
});

describe('videodex db migrate --schema without --url', () => {
  it('is refused on a SQLite library, naming the flag (exit 3), and makes nothing', async () => {
    const empty = path.join(t.dir, 'no-library');
    const r = await runCliInProcess('db', 'migrate', '--schema', 'foo', '--data-dir', empty);
    await expectConfigError(r, '--schema foo: the configured store is a SQLite store, which has no schemas (--schema is for PostgreSQL and MongoDB)');
    expect(existsSync(path.join(empty, 'videodex.db'))).toBe(false);
  });

  it('is refused for a SQLite --url or --to as well (exit 3)', async () => {
    const file = path.join(t.dir, 'schema.db');
    const m = await runCliInProcess('db', 'migrate', '--url', file, '--schema', 'foo', '--data-dir', data);
    expect(m.code).toBe(3);
    expect(m.stderr).toBe(`videodex: --schema foo: --url ${file} is a SQLite store, which has no schemas (--schema is for PostgreSQL and MongoDB)\n`);
    const c = await runCliInProcess('db', 'copy', '--to', file, '--schema', 'foo', '--data-dir', data);
    expect(c.code).toBe(3);
    expect(c.stderr).toBe(`videodex: --schema foo: --to ${file} is a SQLite store, which has no schemas (--schema is for PostgreSQL and MongoDB)\n`);
    expect(existsSync(file)).toBe(false);
  });

  it('is refused when the configured MongoDB URL names its database, which would win over it (exit 3)', async () => {
    const config = configWith('mongo', ['Backend = mongodb', 'Url = mongodb://vdx:s3cret-pw@127.0.0.1:1/named']);
    const r = await runCliInProcess('db', 'migrate', '--schema', 'other', '--config', config, '--data-dir', data);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('videodex: --schema other: the configured store names its MongoDB database (named) in the URL, which wins over --schema\n');
  });

  it('a PostgreSQL schema name the store cannot take is a config error (exit 3, was 4), before any connection', async () => {
    // port 1: nothing listens, so a connection attempt would fail differently
    const m = await runCliInProcess('db', 'migrate', '--url', 'postgres://vdx:s3cret-pw@127.0.0.1:1/db', '--schema', 'my-lib', '--data-dir', data);
    expect(m.code).toBe(3);
    expect(m.stderr).toBe('videodex: --schema my-lib: not allowed for PostgreSQL: letters, digits and _, not starting with a digit, up to 63 characters\n');
    const config = configWith('pg-bad-schema', ['Backend = postgres', 'Url = postgres://vdx:s3cret-pw@127.0.0.1:1/db', 'Schema = team-a', 'SearchReplica = false']);
    const s = await runCliInProcess('search', 'cat', '--config', config, '--data-dir', data);
    expect(s.code).toBe(3);
    expect(s.stderr).toBe('videodex: [Database] Schema = team-a is not allowed for PostgreSQL: letters, digits and _, not starting with a digit, up to 63 characters\n');
  });

  const pgUrl = process.env.VIDEODEX_TEST_PG_URL;
  it.skipIf(!pgUrl)('migrates that schema of the configured PostgreSQL store, in place of [Database] Schema', async () => {
    const schema = `vdx_cli_${randomBytes(4).toString('hex')}`;
    const dir = path.join(t.dir, 'pg');
    mkdirSync(dir, { recursive: true });
    const config = configWith('pg', ['Backend = postgres', `Url = ${pgUrl}`, 'SearchReplica = false']);
    const pg = new PostgresStore({ url: pgUrl!, schema });
    try {
      const r = await runCliInProcess('db', 'migrate', '--schema', schema, '--config', config, '--data-dir', dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`migrated postgres at ${maskSecret(pgUrl!)}, schema ${schema}\n`);
      expect(await pg.count()).toBe(0); // the schema's tables exist
    } finally {
      await pg.dropSchema().catch(() => undefined);
      await pg.close();
    }
  });
});

describe('db copy resuming', () => {
  it('one interrupted copy per target, however its SQLite path is written', async () => {
    const { copyCheckpointKey } = await import('../../src/cli/commands/db-command.js');
    const rel = path.relative(process.cwd(), path.join(t.dir, 'target.db'));
    expect(copyCheckpointKey(rel, undefined)).toBe(copyCheckpointKey(path.join(t.dir, 'target.db'), undefined));
    expect(copyCheckpointKey(`sqlite://${path.join(t.dir, 'target.db')}`, undefined)).toBe(copyCheckpointKey(rel, undefined));
    expect(copyCheckpointKey(rel, undefined)).not.toBe(copyCheckpointKey(path.join(t.dir, 'other.db'), undefined));
    expect(copyCheckpointKey('postgres://db/x', 'a')).not.toBe(copyCheckpointKey('postgres://db/x', 'b'));
  });
});

describe('a command that reads the library, pointed at a PostgreSQL schema with none', () => {
  const pgUrl = process.env.VIDEODEX_TEST_PG_URL;
  it.skipIf(!pgUrl)('stops with no library at ... (exit 3) and makes no schema there; doctor says so and makes none either', async () => {
    // a mistyped [Database] Schema used to be migrated into a new empty library: "(no matches)", exit 0
    const schema = `vdx_none_${randomBytes(4).toString('hex')}`;
    const dir = path.join(t.dir, 'pg-none');
    mkdirSync(dir, { recursive: true });
    const config = configWith('pg-none', ['Backend = postgres', `Url = ${pgUrl}`, `Schema = ${schema}`, 'SearchReplica = false']);
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    const schemaThere = async () => (await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount;
    try {
      for (const args of [['search', 'cat'], ['show', 'abcd'], ['export'], ['tags']]) {
        const r = await runCliInProcess(...args, '--config', config, '--data-dir', dir);
        expect(r.code, args.join(' ')).toBe(3);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(new RegExp(`^videodex: no library at postgres .* schema ${schema}: process some videos first`));
      }
      const doctor = await runCliInProcess('doctor', '--json', '--config', config, '--data-dir', dir);
      const line = JSON.parse(doctor.stdout).checks.find((c: { what: string }) => c.what === 'database');
      expect(line).toMatchObject({ ok: true });
      expect(line.detail).toMatch(new RegExp(`schema ${schema}\\): no library there yet`));
      expect(await schemaThere()).toBe(0);
      // what makes one still does
      expect((await runCliInProcess('db', 'migrate', '--config', config, '--data-dir', dir)).code).toBe(0);
      expect(await schemaThere()).toBe(1);
      const found = await runCliInProcess('search', 'cat', '--config', config, '--data-dir', dir);
      expect(found.code, found.stderr).toBe(0);
      expect(found.stdout).toContain('(no matches)');
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});

describe('--db with a server backend', () => {
  it('is refused naming where Backend was set (exit 3), instead of being passed by for the server library', async () => {
    // port 1: no connection is tried before the refusal
    const config = configWith('pg-with-db', ['Backend = postgres', 'Url = postgres://vdx:pw@127.0.0.1:1/db']);
    const r = await runCliInProcess('search', 'cat', '--config', config, '--db', path.join(data, 'videodex.db'));
    // matched from "names": an earlier test's PostgreSQL password (the test server's "videodex") is starred in what this process prints
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^videodex: --db \S+ names a SQLite file, but \[Database\] Backend = postgres \(set in the config file\); drop --db, or set Backend = sqlite\n$/);
    const ok = await runCliInProcess('search', 'cat', '--db', path.join(data, 'videodex.db'));
    expect(ok.code, ok.stderr).toBe(0);
  });
});
