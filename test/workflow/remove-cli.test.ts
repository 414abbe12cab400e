import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import type { Video } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const cli = runCliInProcess;

const t = tempDir('videodex-remove-');
afterAll(() => t.cleanup());

/** A library with: my own file (indexed where it is), a download in MediaDir, and a record whose file is gone. */
let n = 0;
async function library(): Promise<{ data: string; own: Video; downloaded: Video; gone: Video; ids: () => Promise<string[]> }> {
  const data = path.join(t.dir, `lib${++n}`);
  const file = (p: string, bytes = 1000) => {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, 'x'.repeat(bytes));
    return p;
  };
  const own = makeRecord({ tags: [{ name: 'mine', source: 'rule' }] });
  // each file the size its record says: a file of another size is one replaced in place (remove --missing)
  own.file = { ...own.file, path: file(path.join(t.dir, `videos${n}`, 'own.mp4'), 2000), bytes: 2000, storage: 'reference' };
  const downloaded = makeRecord({ tags: [{ name: 'web', source: 'rule' }] });
  downloaded.file = { ...downloaded.file, path: file(path.join(data, 'media', 'clip.mp4')), bytes: 1000, storage: 'download' };
  const gone = makeRecord();
  gone.file = { ...gone.file, path: path.join(t.dir, 'moved-away.mp4'), storage: 'reference' };
  for (const v of [own, downloaded, gone]) file(path.join(data, 'keyframes', v.id, '0.jpg'));
  const db = path.join(data, 'videodex.db');
  const store = new SqliteStore(db);
  await store.migrate();
  for (const v of [own, downloaded, gone]) await store.upsert(v);
  await store.close();
  const ids = async () => {
    const s = new SqliteStore(db);
    const out: string[] = [];
    for await (const v of s.iterate()) out.push(v.id);
    await s.close();
    return out.sort();
  };
  return { data, own, downloaded, gone, ids };
}

describe('videodex remove', () => {
  let lib: Awaited<ReturnType<typeof library>>;
  beforeEach(async () => {
    lib = await library();
  });

  it('refuses to run with no query unless told --all, and removes nothing', async () => {
    const r = await cli('remove', '--data-dir', lib.data);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/remove: give a query or filter flags naming what to remove, or --all/);
    expect(await lib.ids()).toHaveLength(3);
  });

  it('prunes records whose file is gone (--missing), after a dry run that changes nothing', async () => {
    const dry = await cli('remove', '--missing', '--dry-run', '--data-dir', lib.data);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain(`would remove ${lib.gone.id} ${lib.gone.file.path} (file missing)`);
    expect(dry.stderr).toMatch(/\(dry run\) would remove 1 video\(s\)/);
    expect(await lib.ids()).toHaveLength(3);
    const r = await cli('remove', '--missing', '--json', '--data-dir', lib.data);
    expect(JSON.parse(r.stdout).removed.map((x: Video) => x.id)).toEqual([lib.gone.id]);
    expect(await lib.ids()).toEqual([lib.own.id, lib.downloaded.id].sort());
    expect(existsSync(path.join(lib.data, 'keyframes', lib.gone.id))).toBe(false);
    expect(existsSync(path.join(lib.data, 'keyframes', lib.own.id))).toBe(true);
  });

  it('--media deletes what videodex downloaded, never your own file', async () => {
    const r = await cli('remove', 'tag:web', '--media', '--data-dir', lib.data);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/removed 1 video\(s\), 0\.0 MB of media/);
    expect(existsSync(lib.downloaded.file.path)).toBe(false);
    expect(existsSync(path.join(lib.data, 'keyframes', lib.downloaded.id))).toBe(false);
    const mine = await cli('remove', `id:${lib.own.id}`, '--media', '--data-dir', lib.data);
    expect(mine.stderr).toMatch(/file kept: it is your own file/);
    expect(existsSync(lib.own.file.path)).toBe(true);
    expect(await lib.ids()).toEqual([lib.gone.id]);
  });

  it('--limit removes that many of the matches, in the order asked for (it used to remove every match)', async () => {
    const sizes = await cli('export', '--format', 'csv', '--fields', 'id,bytes', '--sort', 'size-asc', '--data-dir', lib.data);
    const smallest = sizes.stdout.trim().split('\n')[1]!.split(',')[0];
    expect(smallest).toBe(lib.downloaded.id);
    const r = await cli('remove', '--all', '--sort', 'size-asc', '--limit', '1', '--data-dir', lib.data);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/removed 1 video\(s\)/);
    expect(await lib.ids()).toEqual([lib.own.id, lib.gone.id].sort());
    // words that only sort or limit name nothing to remove: --all is still needed, and then they count the same way
    const bare = await cli('remove', 'limit:1 sort:size-desc', '--data-dir', lib.data);
    expect(bare.code).toBe(3);
    expect(await lib.ids()).toHaveLength(2);
    await cli('remove', 'limit:1 sort:size-desc', '--all', '--data-dir', lib.data);
    expect(await lib.ids()).toHaveLength(1);
  });

  it('--missing --limit counts missing records: the first record in that order has its file, the limit still finds the missing one', async () => {
    const first = await cli('export', '--format', 'csv', '--fields', 'id', '--sort', 'added-asc', '--limit', '1', '--data-dir', lib.data);
    expect(first.stdout.trim().split('\n')[1]).not.toBe(lib.gone.id);
    // the offset skips missing records too: past the only one, nothing
    const past = await cli('remove', '--missing', '--sort', 'added-asc', '--limit', '1', '--offset', '1', '--dry-run', '--json', '--data-dir', lib.data);
    expect(JSON.parse(past.stdout).removed).toEqual([]);
    const r = await cli('remove', '--missing', '--sort', 'added-asc', '--limit', '1', '--json', '--data-dir', lib.data);
    expect(JSON.parse(r.stdout).removed.map((x: Video) => x.id)).toEqual([lib.gone.id]);
  });
});
