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

describe('videodex remove --strays', () => {
  it('deletes the files and keyframe folders no record names, after a dry run; recent ones, dot-folders and others are kept', async () => {
    const lib = await library();
    const put = (p: string, bytes: number) => {
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, 'y'.repeat(bytes));
      return p;
    };
    // a download moved into MediaDir by a run killed before it wrote the record
    const orphan = put(path.join(lib.data, 'media', 'orphan.mp4'), 3000);
    // a keyframe folder of a record `remove` deleted just before it was killed
    const strayFrames = put(path.join(lib.data, 'keyframes', 'abcdef0123456789', '0.jpg'), 500);
    // a download in progress (its own run resumes or cleans it) and a folder not named like a record's id
    const part = put(path.join(lib.data, 'media', '.partial', 'next.mp4.part'), 100);
    const notes = put(path.join(lib.data, 'keyframes', 'notes', 'readme.txt'), 10);
    // a file of a record on another machine that mounts the folder elsewhere: same name and size as its record's
    const store = new SqliteStore(path.join(lib.data, 'videodex.db'));
    const elsewhere = makeRecord();
    elsewhere.file = { ...elsewhere.file, path: '/mnt/shared/media/shared.mp4', bytes: 700, storage: 'download' };
    await store.upsert(elsewhere);
    await store.close();
    const shared = put(path.join(lib.data, 'media', 'shared.mp4'), 700);

    // everything was made just now: a run may be about to record it, so the default age keeps it all
    const fresh = await cli('remove', '--strays', '--data-dir', lib.data);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(/removed 0 stray file\(s\) and folder\(s\), 0\.0 MB; 2 changed in the last 60 minute\(s\) kept/);
    expect(existsSync(orphan)).toBe(true);

    const dry = await cli('remove', '--strays', '--stray-age', '0', '--dry-run', '--data-dir', lib.data);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`would remove stray file ${orphan} (0.0 MB)`);
    expect(dry.stderr).toContain(`would remove stray keyframe folder ${path.dirname(strayFrames)}`);
    expect(dry.stderr).toMatch(/\(dry run\) would remove 2 stray file\(s\) and folder\(s\)/);
    expect(existsSync(orphan)).toBe(true);

    const r = await cli('remove', '--strays', '--stray-age', '0', '--json', '--data-dir', lib.data);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { removed: Array<{ path: string; kind: string; bytes: number }>; bytesFreed: number };
    expect(summary.removed.map((s) => [s.kind, s.path]).sort()).toEqual([['keyframes', path.dirname(strayFrames)], ['media', orphan]]);
    expect(summary.bytesFreed).toBe(3500);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(path.dirname(strayFrames))).toBe(false);
    for (const kept of [part, notes, shared, lib.downloaded.file.path, path.join(lib.data, 'keyframes', lib.own.id, '0.jpg')]) expect(existsSync(kept), kept).toBe(true);
    // the records are untouched
    expect(await lib.ids()).toHaveLength(4);
  });

  it('takes no query and no record flags, and a bad age is a config error', async () => {
    const lib = await library();
    const withQuery = await cli('remove', '--strays', 'tag:web', '--data-dir', lib.data);
    expect(withQuery.code).toBe(3);
    expect(withQuery.stderr).toMatch(/remove --strays takes no query/);
    const badAge = await cli('remove', '--strays', '--stray-age', 'soon', '--data-dir', lib.data);
    expect(badAge.code).toBe(3);
    expect(badAge.stderr).toMatch(/--stray-age must be a number of minutes/);
    expect(await lib.ids()).toHaveLength(3);
  });
});
