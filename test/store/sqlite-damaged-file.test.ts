import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { PAGE_SIZE } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/media.js';
import { fixtureVideos } from './fixtures.js';

// SQLite says only "database disk image is malformed", and a search's error did not even name the file.
describe('a damaged SQLite library', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('fails naming the file and what to do', async () => {
    const file = path.join(t.dir, 'lib', 'videodex.db');
    const s = new SqliteStore(file);
    await s.migrate();
    const videos = fixtureVideos();
    for (let i = 0; i < 20; i++) await s.upsertMany(videos.map((v) => ({ ...v, id: `${v.id}-${i}` })));
    await s.close();
    // the root page of the documents' table overwritten, as a disk fault might
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(file, { readonly: true });
    const root = raw.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'video_docs'").pluck().get() as number;
    raw.close();
    expect(root).toBeGreaterThan(1);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(PAGE_SIZE, 0x5a), 0, PAGE_SIZE, (root - 1) * PAGE_SIZE);
    closeSync(fd);
    const e = await (async () => {
      const damaged = new SqliteStore(file);
      try {
        await damaged.get(`${videos[0]!.id}-3`);
      } finally {
        await damaged.close();
      }
    })().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as Error).message).toContain(file);
    expect((e as Error).message).toMatch(/malformed \(the library file is damaged: restore it from a backup; see "A damaged library" in docs\/stores\.md\)$/);
  });
});
