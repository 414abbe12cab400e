import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { makeVideo } from './fixtures.js';

const t = tempDir();
afterAll(() => t.cleanup());

/** Frames in the log and frames copied back, read from the WAL index (`-shm`): its header, then the checkpoint info. */
function walIndex(file: string): { mxFrame: number; nBackfill: number } {
  const shm = readFileSync(`${file}-shm`);
  return { mxFrame: shm.readUInt32LE(16), nBackfill: shm.readUInt32LE(96) };
}

const batch = (from: number, n: number, words = 'checkpoint') =>
  Array.from({ length: n }, (_, k) => makeVideo({ n: from + k, title: `${words} ${from + k}`, description: `${words} `.repeat(200), tags: ['bulk'] }));

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const walBytes = (file: string) => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

describe('SQLite checkpoints on the checkpoint thread', () => {
  it('copies the log back after writes, which the writer alone leaves in the log', async () => {
    const threaded = path.join(t.dir, 'threaded.db');
    const inline = path.join(t.dir, 'inline.db');
    const a = new SqliteStore(threaded);
    const b = new SqliteStore(inline, { checkpoints: 'inline' });
    for (const s of [a, b]) {
      await s.migrate();
      await s.upsertMany(batch(0, 40));
    }
    // the thread reports a checkpoint of every frame, and the WAL index says the same
    await until(() => (a.checkpoints?.last?.log ?? 0) > 0 && a.checkpoints!.last!.checkpointed === a.checkpoints!.last!.log);
    const w = walIndex(threaded);
    expect(w.mxFrame).toBeGreaterThan(0);
    expect(w.nBackfill).toBe(w.mxFrame);
    // SQLite's own checkpoint waits for 1000 pages: the same writes stay in the log
    const i = walIndex(inline);
    expect(i.mxFrame).toBeGreaterThan(0);
    expect(i.nBackfill).toBeLessThan(i.mxFrame);
    expect(b.checkpoints).toBeNull();
    // and the records are all there, read back through either path
    expect(await a.count()).toBe(40);
    expect((await a.search({ text: 'checkpoint', limit: 5 })).total).toBe(40);
    await a.close();
    await b.close();
  });

  it('keeps the log bounded while a writer commits without pause', async () => {
    const file = path.join(t.dir, 'bounded.db');
    const limit = 1 << 20;
    const store = new SqliteStore(file, { walLimitBytes: limit });
    await store.migrate();
    let largest = 0;
    // no await that yields to the event loop between commits: the writer never pauses, so only the thread's
    // restart (with the writer waiting for it after a commit) lets the log start over
    for (let n = 0; n < 5000; n += 50) {
      await store.upsertMany(batch(n, 50));
      largest = Math.max(largest, walBytes(file));
    }
    await until(() => (store.checkpoints?.restarts ?? 0) > 0);
    // 45-70 MB of log without the restarts (or with the thread restarting it but the writer not waiting); the
    // limit is 1 MiB, and about 6 MB is reached with them on an idle machine.
    expect(largest).toBeLessThan(20 << 20);
    expect(await store.count()).toBe(5000);
    await store.close();
  });

  it('a connection that leaves checkpoints to another of its process starts no thread, and SQLite bounds its log', async () => {
    const file = path.join(t.dir, 'others.db');
    const main = new SqliteStore(file);
    await main.migrate();
    // a retag worker thread's connection: the main thread's store checkpoints the file
    const other = new SqliteStore(file, { checkpoints: 'others' });
    await other.migrate();
    for (let n = 0; n < 600; n += 50) await other.upsertMany(batch(n, 50));
    expect(other.checkpoints).toBeNull();
    // SQLite's own checkpoint at the backstop's size (64 MB), not at its default 1000 pages
    const db = new Database(file);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    expect((other as unknown as { db: Database.Database }).db.pragma('wal_autocheckpoint', { simple: true })).toBe(Math.floor((64 << 20) / pageSize));
    // the main store's thread copies back what the other connection wrote
    await main.upsertMany(batch(600, 10));
    await until(() => (main.checkpoints?.last?.log ?? 0) > 0 && main.checkpoints!.last!.checkpointed === main.checkpoints!.last!.log);
    expect(walIndex(file).nBackfill).toBe(walIndex(file).mxFrame);
    expect(await main.count()).toBe(610);
    await other.close();
    await main.close();
  });

  it('a reader holding the log open does not park the writer after every commit', async () => {
    const file = path.join(t.dir, 'reader.db');
    const store = new SqliteStore(file, { walLimitBytes: 1 << 20 });
    await store.migrate();
    await store.upsertMany(batch(0, 50));
    // another connection in a read transaction: the log cannot start over while it reads
    const reader = new Database(file);
    reader.prepare('BEGIN').run();
    expect((reader.prepare('SELECT count(*) AS n FROM videos').get() as { n: number }).n).toBe(50);
    for (let n = 50; n < 3000; n += 50) {
      await store.upsertMany(batch(n, 50));
      if (n % 500 === 0) await new Promise((r) => setTimeout(r, 20)); // let the thread report
    }
    const during = store.checkpoints!;
    expect(during.restarts).toBe(0);
    // each failed restart doubles the log the next request waits for: a handful of parks for ~25 MB of log, where
    // asking after every commit parked the writer ~60 times, 200 ms each
    expect(during.parked).toBeLessThan(12);
    reader.prepare('COMMIT').run();
    reader.close();
    // with the reader gone, every frame is copied back again and the log starts over
    for (let n = 3000; n < 3000 + 4000 && store.checkpoints!.restarts === 0; n += 50) {
      await store.upsertMany(batch(n, 50));
      if (n % 500 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => store.checkpoints!.restarts > 0);
    await store.close();
  });

  it('removes the log on close (the thread let go of the file first)', async () => {
    const file = path.join(t.dir, 'close.db');
    const store = new SqliteStore(file);
    await store.migrate();
    await store.upsertMany(batch(0, 20));
    await until(() => (store.checkpoints?.done ?? 0) > 0);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await store.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const again = new SqliteStore(file);
    expect(await again.count()).toBe(20);
    await again.close();
  });

  it('goes back to SQLite’s own checkpoints if the thread dies', async () => {
    const file = path.join(t.dir, 'dead.db');
    const store = new SqliteStore(file);
    await store.migrate();
    await store.upsert(makeVideo({ n: 1 }));
    const db = (store as unknown as { db: { pragma(s: string, o?: object): unknown } }).db;
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThan(1000);
    const thread = (store as unknown as { checkpointer: { s: { worker: { terminate(): Promise<number> } } } }).checkpointer.s.worker;
    await thread.terminate();
    await until(() => db.pragma('wal_autocheckpoint', { simple: true }) === 1000);
    await store.upsertMany(batch(10, 30));
    expect(await store.count()).toBe(31);
    // a new store starts a new thread
    const other = new SqliteStore(path.join(t.dir, 'after.db'));
    await other.migrate();
    await other.upsert(makeVideo({ n: 2 }));
    await until(() => (other.checkpoints?.done ?? 0) > 0);
    await other.close();
    await store.close();
  });

  it('does not keep a process alive that never closed its store', async () => {
    const file = path.join(t.dir, 'exit.db');
    const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
    const script = `
      import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'src/store/index.ts')).href)};
      const store = new SqliteStore(${JSON.stringify(file)});
      await store.migrate();
      await store.upsert({ ...(await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, 'test/store/fixtures.ts')).href)})).makeVideo({ n: 5 }) });
      process.stdout.write('wrote\\n');
    `;
    const child = spawn(process.execPath, ['--import', loader, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (errText += d));
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 60 s');
      }, 60_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    expect(code, errText).toBe(0);
    expect(out).toContain('wrote');
  });
});
