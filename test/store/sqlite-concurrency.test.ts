import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { fixtureVideos } from './fixtures.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('SQLite WAL', () => {
  it('serves searches from another process while a writer runs', async () => {
    const file = path.join(t.dir, 'wal.db');
    const reader = new SqliteStore(file);
    await reader.migrate();
    await reader.upsertMany(fixtureVideos());
    const base = await reader.count();
    const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', loader, path.join(repoRoot, 'test/store/sqlite-writer.ts'), file, '3000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (errText += d));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    let done = false;
    void exited.then(() => (done = true));
    const deadline = Date.now() + 100_000;
    while (!out.includes('started') && !done && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    let reads = 0;
    let readsDuringWrites = 0;
    let last = base;
    while (!done && Date.now() < deadline) {
      const r = await reader.search({ text: 'tag:written OR beach', limit: 5 });
      const n = await reader.count();
      expect(n).toBeGreaterThanOrEqual(last); // never a torn or rolled-back view
      last = n;
      reads++;
      if (n > base && n < base + 3000) readsDuringWrites++;
      expect(r.total).toBeGreaterThan(0);
      await new Promise((res) => setImmediate(res));
    }
    expect(await exited, errText).toBe(0);
    expect(readsDuringWrites).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(readsDuringWrites - 1);
    expect(await reader.count()).toBe(base + 3000);
    await reader.close();
  });
});
