import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

// Another program's SQLite file given as --db (or db copy --to) by mistake: opening it as a library, even for a
// search, switched it to WAL and added videodex's tables to it.
describe('a SQLite file that is not a videodex library', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  function foreign(name: string): string {
    const file = path.join(t.dir, name);
    const db = new Database(file);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine')");
    db.close();
    return file;
  }

  const tablesOf = (file: string): string[] => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    } finally {
      db.close();
    }
  };

  it('is refused when opened, and left byte for byte as it was', () => {
    const file = foreign('other.db');
    const before = readFileSync(file);
    let e: unknown;
    try {
      new SqliteStore(file);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(StoreError);
    expect((e as Error).message).toBe(`cannot open SQLite database ${file}: it is a SQLite database but not a videodex library (its tables: notes); nothing was changed: give a videodex library or a new file`);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(tablesOf(file)).toEqual(['notes']);
  });

  it('is refused by videodex search --db and db copy --to, which change nothing', async () => {
    const file = foreign('app data.db');
    const before = readFileSync(file);
    const data = path.join(t.dir, 'data');
    const s = await runCliInProcess('search', 'cat', '--db', file, '--data-dir', data);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain('not a videodex library');
    const lib = new SqliteStore(path.join(data, 'videodex.db'));
    await lib.migrate();
    await lib.close();
    const c = await runCliInProcess('db', 'copy', '--to', file, '--data-dir', data);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('not a videodex library');
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a new file and a library still open', async () => {
    const file = path.join(t.dir, 'new.db');
    const s = new SqliteStore(file);
    await s.migrate();
    await s.close();
    const again = new SqliteStore(file);
    await again.migrate();
    expect(await again.count()).toBe(0);
    await again.close();
  });
});
