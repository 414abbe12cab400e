import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const t = tempDir('videodex-remove-copies-');
let master = '';
beforeAll(async () => {
  master = await makeTestVideo(path.join(t.dir, 'master.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, source: 'testsrc' });
});
afterAll(() => t.cleanup());

let n = 0;
/** Two byte-identical copies processed into one data dir (one record: file.path is the first, the second in alsoFrom). */
async function twoCopies(): Promise<{ data: string; a: string; b: string; record: () => Promise<Video[]>; run: (...args: string[]) => ReturnType<typeof runCli> }> {
  const dir = path.join(t.dir, `case${++n}`);
  mkdirSync(dir, { recursive: true });
  const a = path.join(dir, 'a.mp4');
  const b = path.join(dir, 'b.mp4');
  copyFileSync(master, a);
  copyFileSync(master, b);
  const data = path.join(dir, 'data');
  const run = (...args: string[]) => runCli([...args, '--data-dir', data]);
  for (const f of [a, b]) {
    const p = await run('process', f);
    expect(p.code, p.stderr).toBe(0);
  }
  const record = async () => JSON.parse((await run('export', '--format', 'json')).stdout) as Video[];
  return { data, a, b, record, run };
}

describe('videodex remove --missing with another copy of the same video on disk', () => {
  it('keeps the record and points it at the copy that is still there (it used to remove it: the library emptied)', async () => {
    const { a, b, record, run } = await twoCopies();
    const [before] = await record();
    expect(before!.file.path).toBe(a);
    expect(before!.alsoFrom.map((s) => s.url)).toEqual([b]);
    rmSync(a);

    const dry = await run('remove', '--missing', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`would re-point ${before!.id} ${a} -> ${b}`);
    expect((await record())[0]!.file.path).toBe(a);

    const r = await run('remove', '--missing', '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.removed).toEqual([]);
    expect(summary.repointed).toEqual([{ id: before!.id, from: a, to: b }]);
    expect(r.stderr).toContain(`re-pointed ${before!.id} ${a} -> ${b} (file missing; the same video is still there)`);
    expect(r.stderr).toMatch(/removed 0 video\(s\); re-pointed 1/);

    const after = await record();
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(before!.id);
    expect(after[0]!.file.path).toBe(b);
    expect(after[0]!.file.storage).toBe('reference');
    // the vanished path is listed nowhere now, and alsoFrom does not repeat the record's own file
    const listed = [after[0]!.source.url, ...after[0]!.alsoFrom.map((s) => s.url)];
    expect(listed).not.toContain(a);
    expect(after[0]!.alsoFrom.map((s) => s.url)).not.toContain(b);
    expect(after[0]!.source.url).toBe(b);
    // the derived data stays: the record was kept, not re-made
    expect(after[0]!.stages).toEqual(before!.stages);
    expect(after[0]!.metadata).toEqual(before!.metadata);

    // nothing left to do; once the last copy goes too, the record is removed
    const again = await run('remove', '--missing', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ removed: [], repointed: [] });
    rmSync(b);
    const last = await run('remove', '--missing', '--json');
    expect(JSON.parse(last.stdout).removed.map((x: { id: string }) => x.id)).toEqual([before!.id]);
    expect(await record()).toEqual([]);
  });

  it('removes the record when the listed path holds some other file (not a regular file of the record size) or nothing', async () => {
    const { a, b, record, run } = await twoCopies();
    const [before] = await record();
    rmSync(a);
    writeFileSync(b, 'not the video any more');
    const r = await run('remove', '--missing', '--json');
    const summary = JSON.parse(r.stdout);
    expect(summary.repointed).toEqual([]);
    expect(summary.removed.map((x: { id: string }) => x.id)).toEqual([before!.id]);
    expect(await record()).toEqual([]);

    const other = await twoCopies();
    const [rec] = await other.record();
    rmSync(other.a);
    rmSync(other.b);
    mkdirSync(other.b); // a folder where the copy was
    const r2 = await other.run('remove', '--missing', '--json');
    expect(JSON.parse(r2.stdout).removed.map((x: { id: string }) => x.id)).toEqual([rec!.id]);
    expect(existsSync(other.b)).toBe(true);
  });

  it('--missing --limit counts removals only: a re-pointed record does not use up the limit', async () => {
    const { a, b, data, record, run } = await twoCopies();
    const [kept] = await record();
    // a second record whose file is simply gone
    const lone = path.join(path.dirname(a), 'lone.mp4');
    await makeTestVideo(lone, { seconds: 1, width: 160, height: 120, fps: 10, source: 'smptebars' });
    expect((await run('process', lone)).code).toBe(0);
    rmSync(lone);
    rmSync(a);
    const r = await run('remove', '--missing', '--sort', 'added-asc', '--limit', '1', '--json');
    const summary = JSON.parse(r.stdout);
    expect(summary.removed).toHaveLength(1);
    expect(summary.removed[0].path).toBe(lone);
    expect(summary.repointed.map((x: { id: string }) => x.id)).toEqual([kept!.id]);
    const after = await record();
    expect(after.map((v) => v.file.path)).toEqual([b]);
    expect(existsSync(data)).toBe(true);
  });

  it('re-processed after its first file went, then that file back and the second gone: re-pointed to the first, the gone one leaves the list', async () => {
    const { a, b, record, run } = await twoCopies();
    rmSync(a);
    expect((await run('process', b)).code).toBe(0);
    const [before] = await record();
    expect(before!.file.path).toBe(b);
    // the first copy comes back, the second goes
    copyFileSync(master, a);
    rmSync(b);
    const r = await run('remove', '--missing', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: [], repointed: [{ id: before!.id, from: b, to: a }] });
    const [after] = await record();
    expect(after!.file.path).toBe(a);
    expect(after!.source.url).toBe(a);
    expect(after!.alsoFrom).toEqual([]);
  });
});

describe('process again after the indexed copy vanished', () => {
  it("points the record at the copy it has now, which becomes its source; the vanished one stays listed, not the record's own file", async () => {
    const { a, b, record, run } = await twoCopies();
    rmSync(a);
    const p = await run('process', b);
    expect(p.code, p.stderr).toBe(0);
    const [v] = await record();
    expect(v!.file.path).toBe(b);
    expect(v!.source.url).toBe(b);
    expect(v!.alsoFrom.map((s) => s.url)).toEqual([a]);
  });
});

describe('a file replaced in place by another video, before it is processed again', () => {
  it('remove --missing prunes the old record as replaced and keeps the file; process then indexes the new video, and show names it', async () => {
    const dir = path.join(t.dir, 'replaced');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'm.mp4');
    copyFileSync(master, file);
    const data = path.join(dir, 'data');
    const run = (...args: string[]) => runCli([...args, '--data-dir', data]);
    expect((await run('process', dir)).code).toBe(0);
    const [stale] = JSON.parse((await run('export', '--format', 'json')).stdout) as Video[];
    const other = await makeTestVideo(path.join(t.dir, 'other.mp4'), { seconds: 3, width: 240, height: 180, fps: 10, source: 'smptebars' });
    copyFileSync(other, file);
    const r = await run('remove', '--missing', '--media', '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ removed: [{ id: stale!.id, fileExists: true, fileChanged: true }], repointed: [] });
    // its keyframes go; the file, which is the other video now, does not
    expect(summary.removed[0].deleted).toEqual([expect.stringContaining(path.join('keyframes', stale!.id))]);
    expect(r.stderr).toContain(`removed ${stale!.id} ${file} (file replaced: another video is there now)`);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse((await run('export', '--format', 'json')).stdout)).toEqual([]);
    // (processed again without the prune, the run itself replaces the old record: replaced-in-place.test.ts)
    expect((await run('process', dir)).code).toBe(0);
    const shown = JSON.parse((await run('show', file)).stdout) as Video;
    expect(shown.metadata?.width).toBe(240);
    expect(shown.file.path).toBe(file);
  });
});
