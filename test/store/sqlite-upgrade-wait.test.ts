import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

// An upgrade holds the write lock for as long as its step runs (a reindex: about a minute per 100k records). A
// second process opening the library meanwhile waited 10 s, as writes do, and failed with "database is locked".
describe('opening a SQLite library while another process upgrades it', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('waits for the upgrade past the 10 s a write waits, then finds it done', async () => {
    const file = path.join(t.dir, 'lib', 'videodex.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.upsert(makeRecord({ id: 'r1' }));
    await s.close();
    const last = SQLITE_MIGRATIONS.at(-1)!.version;
    const raw = new Database(file);
    raw.prepare('DELETE FROM schema_migrations WHERE version = ?').run(last);
    raw.close();

    // the other process: takes the write lock as a step does, holds it past 10 s, then records the step
    const script = path.join(t.dir, 'upgrading.mjs');
    const sqlite = pathToFileURL(path.resolve(import.meta.dirname, '../../node_modules/better-sqlite3/lib/index.js')).href;
    writeFileSync(
      script,
      `import Database from ${JSON.stringify(sqlite)};
       const db = new Database(process.argv[2]);
       db.exec('BEGIN IMMEDIATE');
       process.stdout.write('holding\\n');
       setTimeout(() => {
         db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(Number(process.argv[3]), 'other');
         db.exec('COMMIT');
         db.close();
       }, 11_500);`,
    );
    const other = spawn(process.execPath, [script, file, String(last)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => other.on('close', resolve));
    await new Promise((resolve) => other.stdout.once('data', resolve));

    const opening = new SqliteStore(file);
    try {
      await opening.migrate();
      expect(await exited).toBe(0);
      expect((await opening.get('r1'))?.id).toBe('r1');
      // the step is the other process's, not run twice
      const check = new Database(file, { readonly: true });
      expect(check.prepare('SELECT applied_at FROM schema_migrations WHERE version = ?').pluck().get(last)).toBe('other');
      check.close();
      await opening.upsert(makeRecord({ id: 'r2' }));
      expect(await opening.count()).toBe(2);
    } finally {
      await opening.close();
    }
  }, 60_000);
});
