import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, StoreError, type Video } from '../../src/core/index.js';
import Database from 'better-sqlite3';
import { copyStore, INPUTS_PAGE, SqliteStore, type InputRecord, type VideoStore } from '../../src/store/index.js';
import { MongoStore } from '../../src/store/mongodb/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { fixtureVideos } from './fixtures.js';
import { makeRecord } from '../helpers/records.js';
import { mingoCollections } from './mingo-collection.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vdx-copy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function seeded(file: string, videos: Video[]): Promise<SqliteStore> {
  const s = new SqliteStore(file);
  await s.migrate();
  await s.upsertMany(videos);
  await s.putInput({ key: '/in/a.mp4', status: 'done', videoId: videos[0]!.id, attempts: 1, bytes: 1, error: null, errorCode: null, fileSize: 1, fileMtimeMs: 1, listFile: null, updatedAt: 'now' });
  return s;
}

/** The store with some methods replaced (the rest bound to it): to count, fail or add to its calls. */
function withMethods<S extends VideoStore>(store: S, methods: Partial<Record<keyof S, unknown>>): S {
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(methods, prop)) return methods[prop as keyof S];
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The acquisition log read through `iterateInputs`, each row counted by `onRow`. */
const countingInputReads = <S extends VideoStore>(store: S, onRow: () => void): S =>
  withMethods(store, {
    iterateInputs: async function* (o?: { afterKey?: string }) {
      for await (const r of store.iterateInputs!(o)) {
        onRow();
        yield r;
      }
    },
  } as Partial<Record<keyof S, unknown>>);

/** Fails every upsertMany after `n` batches, like a crash or a dropped connection mid-copy. */
function failingAfter(store: VideoStore, n: number): VideoStore {
  let batches = 0;
  return withMethods(store, {
    upsertMany: async (vs: Video[]) => {
      if (batches++ >= n) throw new StoreError('connection lost', { retryable: true });
      return store.upsertMany!(vs);
    },
  });
}

async function allIdsOf(store: VideoStore, text: string): Promise<string[]> {
  return (await store.search({ text, limit: 1000 })).hits.map((h) => h.id).sort();
}

describe('db copy', () => {
  const videos = fixtureVideos();

  it('copies SQLite to MongoDB (mingo), resumes after a failure and verifies counts', async () => {
    const from = await seeded(path.join(dir, 'a.db'), videos);
    const c = mingoCollections();
    const to = new MongoStore(c, 'cosmos', 'mongodb mingo');
    const checkpointFile = path.join(dir, 'ck.json');
    await expect(copyStore(from, failingAfter(to, 2), { batchSize: 7, checkpointFile })).rejects.toThrow('connection lost');
    expect(c.videos.docs.size).toBe(14);
    expect(existsSync(checkpointFile)).toBe(true);
    const progress: number[] = [];
    const report = await copyStore(from, to, { batchSize: 7, checkpointFile, onProgress: (p) => progress.push(p.copied) });
    expect(report.resumedAfter).toBe(14);
    expect(report.copied).toBe(videos.length);
    expect(report.sourceCount).toBe(videos.length);
    expect(report.targetCount).toBe(videos.length);
    expect(report.inputs).toBe(1);
    expect(report.sampled).toBeGreaterThan(10);
    expect(progress[0]).toBe(21); // picked up where it stopped
    expect(existsSync(checkpointFile)).toBe(false);
    expect((await to.search({ text: 'tag:outdoor' })).total).toBe((await from.search({ text: 'tag:outdoor' })).total);
    await from.close();
  });

  it('a resumed copy that missed records the source gained meanwhile fails once, and the next run copies them', async () => {
    // the checkpoint stayed, so every later run resumed after its id, skipped them again and failed the same way
    const from = await seeded(path.join(dir, 'gained.db'), videos.slice(0, 20));
    const to = new SqliteStore(path.join(dir, 'gained-to.db'));
    const checkpointFile = path.join(dir, 'ck-gained.json');
    await expect(copyStore(from, failingAfter(to, 2), { batchSize: 5, checkpointFile })).rejects.toThrow('connection lost');
    await from.upsert({ ...videos[30]!, id: '0000-gained' }); // before every id copied, in id order
    await expect(copyStore(from, to, { batchSize: 5, checkpointFile })).rejects.toThrow(/counts differ after copying: source has 21 records, target 20 .*run it again to copy every record/);
    const report = await copyStore(from, to, { batchSize: 5, checkpointFile });
    expect(report.resumedAfter).toBe(0);
    expect(report.targetCount).toBe(21);
    expect(await to.get('0000-gained')).toEqual(await from.get('0000-gained'));
    expect(existsSync(checkpointFile)).toBe(false);
    await from.close();
    await to.close();
  });

  it('streams a large acquisition log: rows are written while the source is still being read, a bounded batch at a time', async () => {
    // the whole log was read into memory (listInputs) before the first row was written, one commit per row
    const file = path.join(dir, 'big-log.db');
    const from = await seeded(file, videos.slice(0, 3));
    await from.close();
    const rows = 25_000;
    const db = new Database(file);
    const insert = db.prepare(`INSERT INTO inputs (key, status, video_id, attempts, bytes, error, error_code, file_size, file_mtime_ms, list_file, updated_at) VALUES (?, 'done', NULL, 1, ?, NULL, NULL, ?, 1, 'urls.txt', 'now')`);
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(`https://cdn.example.com/videos/${String(i).padStart(6, '0')}.mp4`, i, i);
    })();
    db.close();
    const source = new SqliteStore(file);
    const target = new SqliteStore(path.join(dir, 'big-log-to.db'));
    let read = 0;
    let written = 0;
    let readAtFirstWrite = -1;
    let mostHeld = 0;
    let largestWrite = 0;
    const wrote = (n: number) => {
      if (readAtFirstWrite < 0) readAtFirstWrite = read;
      mostHeld = Math.max(mostHeld, read - written);
      largestWrite = Math.max(largestWrite, n);
      written += n;
    };
    const countingReads = withMethods(countingInputReads(source, () => read++), {
      listInputs: async (status?: InputRecord['status']) => {
        const all = await source.listInputs(status);
        read += all.length;
        return all;
      },
    });
    const countingWrites = withMethods(target, {
      putInput: async (r: InputRecord) => {
        wrote(1);
        return target.putInput(r);
      },
      putInputs: async (rs: readonly InputRecord[]) => {
        wrote(rs.length);
        return target.putInputs(rs);
      },
    });
    const report = await copyStore(countingReads, countingWrites);
    expect(report.inputs).toBe(rows + 1);
    expect(await target.countInputs()).toBe(rows + 1);
    expect(await target.getInput('https://cdn.example.com/videos/012345.mp4')).toEqual(await source.getInput('https://cdn.example.com/videos/012345.mp4'));
    expect(written).toBe(rows + 1);
    // the first rows reached the target before the source's log had been read to its end
    expect(readAtFirstWrite).toBeGreaterThan(0);
    expect(readAtFirstWrite).toBeLessThan(rows);
    // and no more than a page or two was ever held between reading and writing
    expect(mostHeld).toBeLessThanOrEqual(2 * INPUTS_PAGE);
    expect(largestWrite).toBeLessThanOrEqual(INPUTS_PAGE);
    expect(largestWrite).toBeGreaterThan(1);
    await source.close();
    await target.close();
  }, 60_000);

  it('a copy stopped in the acquisition log resumes after the last page it wrote', async () => {
    const file = path.join(dir, 'log-resume.db');
    await (await seeded(file, videos.slice(0, 2))).close();
    const db = new Database(file);
    const insert = db.prepare(`INSERT INTO inputs (key, status, video_id, attempts, bytes, error, error_code, file_size, file_mtime_ms, list_file, updated_at) VALUES (?, 'failed', NULL, 1, NULL, 'HTTP 404', 'E_HTTP_404', NULL, NULL, NULL, 'now')`);
    db.transaction(() => {
      for (let i = 0; i < 3 * INPUTS_PAGE; i++) insert.run(`https://h/${String(i).padStart(5, '0')}.mp4`);
    })();
    db.close();
    const source = new SqliteStore(file);
    const target = new SqliteStore(path.join(dir, 'log-resume-to.db'));
    const checkpointFile = path.join(dir, 'ck-log.json');
    let writes = 0;
    const failing = withMethods(target, {
      putInputs: async (rs: readonly InputRecord[]) => {
        if (writes++ >= 2) throw new StoreError('connection lost', { retryable: true });
        return target.putInputs(rs);
      },
    });
    await expect(copyStore(source, failing, { checkpointFile })).rejects.toThrow('connection lost');
    expect(await target.countInputs()).toBe(2 * INPUTS_PAGE);
    let read = 0;
    const counting = countingInputReads(source, () => read++);
    const report = await copyStore(counting, target, { checkpointFile });
    // the rows after the last page written: not the whole log again
    expect(read).toBe(3 * INPUTS_PAGE + 1 - 2 * INPUTS_PAGE);
    expect(report.inputs).toBe(3 * INPUTS_PAGE + 1);
    expect(await target.countInputs()).toBe(3 * INPUTS_PAGE + 1);
    expect(existsSync(checkpointFile)).toBe(false);
    await source.close();
    await target.close();
  }, 60_000);

  it("refuses a target holding another library's records before writing anything; a copy started over is fine", async () => {
    const from = await seeded(path.join(dir, 'b.db'), videos.slice(0, 5));
    const to = await seeded(path.join(dir, 'c.db'), videos.slice(10, 12));
    // the two were merged, then the counts failed: a target that was neither library
    await expect(copyStore(from, to)).rejects.toThrow(/already holds 2 record\(s\), some not in the library being copied .*nothing was copied/);
    await expect(copyStore(from, to)).rejects.toBeInstanceOf(ConfigError);
    expect(await to.count()).toBe(2);
    // a target holding part of this library (a copy stopped, then started over without its checkpoint) is written
    const partial = await seeded(path.join(dir, 'c2.db'), videos.slice(0, 2));
    await expect(copyStore(from, partial)).resolves.toMatchObject({ copied: 5 });
    await from.close();
    await to.close();
    await partial.close();
  });

  it('a copy started over writes the hand tag edits the source has now, not those the target kept from before', async () => {
    for (const to of [new SqliteStore(path.join(dir, 'edits-to.db')), new MongoStore(mingoCollections(), 'cosmos', 'mongodb mingo')] as VideoStore[]) {
      const from = await seeded(path.join(dir, `edits-from-${to.kind.replace(/\W/g, '')}.db`), videos.slice(0, 3));
      const id = videos[1]!.id;
      await from.updateUserTags(id, () => ({ add: ['old'], remove: [] }), 'then');
      await copyStore(from, to);
      expect((await to.get(id))!.extra._userTags).toEqual({ add: ['old'], remove: [] });
      // edited in the library since the last copy: the next copy (no checkpoint left) brings the edit, and verifies
      await from.updateUserTags(id, () => ({ add: ['new'], remove: ['old'] }), 'now');
      await expect(copyStore(from, to)).resolves.toMatchObject({ copied: 3 });
      expect(await to.get(id)).toEqual(await from.get(id));
      await from.updateUserTags(id, () => undefined, 'later');
      await copyStore(from, to);
      expect((await to.get(id))!.extra).not.toHaveProperty('_userTags');
      await from.close();
      await to.close();
    }
  });

  it('still refuses to call a copy good when the target gained other records during it', async () => {
    const from = await seeded(path.join(dir, 'b3.db'), videos.slice(0, 5));
    const to = new SqliteStore(path.join(dir, 'c3.db'));
    await to.migrate();
    const racing = withMethods(to, { upsertMany: async (vs: Video[]) => to.upsertMany([...vs, ...videos.slice(10, 12)]) });
    await expect(copyStore(from, racing)).rejects.toThrow(/counts differ after copying: source has 5 records, target 7/);
    await from.close();
    await to.close();
  });

  it('runs as `videodex db migrate` and `videodex db copy --to` from the CLI', async () => {
    const data = path.join(dir, 'data');
    const src = await seeded(path.join(data, 'videodex.db'), videos.slice(0, 9));
    await src.close();
    const target = path.join(dir, 'copy.db');
    const m = await runCli(['db', 'migrate', '--data-dir', data]);
    expect(m.stderr).toBe('');
    expect(m.stdout).toMatch(/^migrated sqlite at .*videodex\.db/);
    const r = await runCli(['db', 'copy', '--to', target, '--batch', '4', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/copied 9 records and 1 input rows to sqlite .*counts verified \(9 = 9\), 9 records compared whole/);
    expect(r.stderr).toMatch(/db copy: 8\/9 records/);
    expect(readdirSync(data).filter((f) => f.startsWith('db-copy-'))).toEqual([]);
    const bad = await runCli(['search', 'durtion:5', '--data-dir', data]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("videodex: query: unknown field 'durtion' at 1:1 (did you mean duration?)");
  });

  it('refuses a target that is the library being copied, however its path is written', async () => {
    // it was "copied" onto itself and reported verified: a backup that was not one
    const data = path.join(dir, 'data-self');
    await (await seeded(path.join(data, 'videodex.db'), videos.slice(0, 3))).close();
    for (const to of [path.join(data, 'videodex.db'), path.join(data, 'sub', '..', 'videodex.db'), `sqlite:${path.join(data, 'videodex.db')}`]) {
      const r = await runCliInProcess('db', 'copy', '--to', to, '--data-dir', data);
      // a flag value the command refuses, nothing was run: exit 3, as README's table says (4 is for a store that fails)
      expect(r.code, to).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`db copy: the target SQLite ${path.join(data, 'videodex.db')} is the library being copied`);
    }
    const from = await seeded(path.join(dir, 'self-a.db'), videos.slice(0, 3));
    await expect(copyStore(from, from)).rejects.toThrow(/is the library being copied.*nothing was copied/);
    await from.close();
  });

  const pgUrl = process.env.VIDEODEX_TEST_PG_URL;
  it.skipIf(!pgUrl)('copies SQLite to PostgreSQL and back exactly, but for a NUL and a lone surrogate PostgreSQL cannot hold', async () => {
    // SQLite keeps both (an older library's model answers, a Python-written info.json's \udcXX); PostgreSQL
    // refused the lone surrogate's whole batch ("invalid input syntax for type json") and the copy of a NUL was
    // called a difference, failing a copy that had written everything.
    const odd = makeRecord({ id: 'odd1', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'nul\u0000 lone\udc80 pair😀' }, extra: { 'k\u0000ey': 'v\ud800', ok: 'ünï' } });
    const huge = makeRecord({ id: 'odd2', source: { url: 'x', kind: 'local', fetchedAt: 'x', title: 'big' }, extra: { blob: 'ä€😀 '.repeat(300_000) } });
    const all = [...videos, odd, huge];
    const from = await seeded(path.join(dir, 'rt-from.db'), all);
    await from.putInput({ key: '/in/b.mp4', status: 'failed', videoId: null, attempts: 2, bytes: null, error: 'tool said \u0000 it', errorCode: 'E_TOOL', fileSize: null, fileMtimeMs: 1.5, listFile: 'l.txt', updatedAt: 'now' });
    const schema = `vdx_copy_${randomBytes(4).toString('hex')}`;
    const pg = new PostgresStore({ url: pgUrl!, schema, poolSize: 2 });
    const back = new SqliteStore(path.join(dir, 'rt-back.db'));
    try {
      const there = await copyStore(from, pg, { sample: 1000 });
      expect(there.sampled).toBe(all.length);
      expect(await pg.get('odd1')).toEqual({ ...odd, source: { ...odd.source, title: 'nul lone\ufffd pair😀' }, extra: { key: 'v\ufffd', ok: 'ünï' } });
      expect((await pg.listInputs()).find((r) => r.key === '/in/b.mp4')?.error).toBe('tool said  it');
      expect(await allIdsOf(pg, 'lone')).toEqual(['odd1']);
      await copyStore(pg, back, { sample: 1000 });
      for (const v of all) expect(await back.get(v.id)).toEqual(pg.storedForm(v));
      expect(await back.get('odd2')).toEqual(huge);
      expect(await back.listInputs()).toEqual(await pg.listInputs());
    } finally {
      await pg.dropSchema();
      await pg.close();
      await back.close();
      await from.close();
    }
  });

  it.skipIf(!pgUrl)('copies SQLite to PostgreSQL through the CLI, password masked', async () => {
    const data = path.join(dir, 'data-pg');
    await (await seeded(path.join(data, 'videodex.db'), videos.slice(0, 9))).close();
    const schema = `vdx_copy_${randomBytes(4).toString('hex')}`;
    const r = await runCli(['db', 'copy', '--to', pgUrl!, '--schema', schema, '--data-dir', data]);
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('counts verified (9 = 9)');
      const u = new URL(pgUrl!);
      if (u.password) expect(r.stdout + r.stderr).not.toContain(`:${u.password}@`);
      expect(r.stdout).toContain(':***@');
      const pg = new PostgresStore({ url: pgUrl!, schema });
      expect(await pg.count()).toBe(9);
      expect(await pg.count({ text: 'has:metadata' })).toBe(8);
      await pg.dropSchema();
      await pg.close();
    } finally {
      const pg = new PostgresStore({ url: pgUrl!, schema });
      await pg.dropSchema().catch(() => undefined);
      await pg.close();
    }
  });
});
