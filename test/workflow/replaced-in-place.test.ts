import { copyFileSync, existsSync, mkdirSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const t = tempDir('videodex-replaced-');
let first = '';
let second = '';
beforeAll(async () => {
  first = await makeTestVideo(path.join(t.dir, 'first.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, source: 'testsrc' });
  second = await makeTestVideo(path.join(t.dir, 'second.mp4'), { seconds: 3, width: 160, height: 120, fps: 10, source: 'testsrc2' });
});
afterAll(() => t.cleanup());

let n = 0;
function library() {
  const dir = path.join(t.dir, `case${++n}`);
  mkdirSync(dir, { recursive: true });
  const data = path.join(dir, 'data');
  const run = (...args: string[]) => runCli([...args, '--data-dir', data]);
  const records = async () => JSON.parse((await run('export', '--format', 'json')).stdout) as Video[];
  return { dir, data, run, records };
}

/** Saves `from` over `file` with a new modification time, as an editor saving over the original does. */
function saveOver(from: string, file: string, at: number): void {
  copyFileSync(from, file);
  utimesSync(file, at, at);
}

describe('a file replaced in place by another video', () => {
  it('leaves one record at the path, the new video, and says it removed the old one (both were listed before)', async () => {
    const { dir, data, run, records } = library();
    const file = path.join(dir, 'clip.mp4');
    saveOver(first, file, 1_700_000_000);
    const a = await run('process', file);
    expect(a.code, a.stderr).toBe(0);
    const [old] = await records();
    expect(existsSync(path.join(data, 'keyframes', old!.id))).toBe(true);

    saveOver(second, file, 1_700_000_100);
    const b = await run('process', file, '--json');
    expect(b.code, b.stderr).toBe(0);
    const now = await records();
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(old!.id);
    expect(now[0]!.file.path).toBe(file);
    expect(now[0]!.metadata?.durationSec).toBeCloseTo(3, 0);
    expect(b.stderr).toContain(`the file was replaced by another video (${now[0]!.id}); the record of the one that was there (${old!.id}) is removed`);
    expect(b.stderr).toContain('1 file(s) replaced in place: 1 old record(s) removed, 0 re-pointed');
    const summary = b.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.type === 'summary');
    expect(summary.replaced).toEqual([{ input: file, id: old!.id, by: now[0]!.id }]);
    // its derived files went with it; the user's file (the new video now) is untouched
    expect(existsSync(path.join(data, 'keyframes', old!.id))).toBe(false);
    expect(existsSync(path.join(data, 'keyframes', now[0]!.id))).toBe(true);
    expect(existsSync(file)).toBe(true);
    const search = await run('search', '--json');
    expect(search.stdout.trim().split('\n').filter(Boolean)).toHaveLength(1);

    // nothing more to do on the next run
    const c = await run('process', file);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr, c.stderr).not.toContain("replaced by another video");
    expect(await records()).toHaveLength(1);
  });

  it('keeps the old record, pointed at a copy of its video it lists, when one is still there', async () => {
    const { dir, run, records } = library();
    const file = path.join(dir, 'clip.mp4');
    const copy = path.join(dir, 'copy.mp4');
    saveOver(first, file, 1_700_000_000);
    saveOver(first, copy, 1_700_000_000);
    for (const f of [file, copy]) expect((await run('process', f)).code).toBe(0);
    const [old] = await records();
    expect(old!.file.path).toBe(file);

    saveOver(second, file, 1_700_000_100);
    const b = await run('process', file);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain(`the record of the one that was there (${old!.id}) now points at its copy`);
    const now = await records();
    expect(now).toHaveLength(2);
    const kept = now.find((v) => v.id === old!.id)!;
    expect(kept.file.path).toBe(copy);
    expect(kept.stages).toEqual(old!.stages);
    // the replaced path is no longer listed as a place of the old video
    expect([kept.source.url, ...kept.alsoFrom.map((s) => s.url)]).not.toContain(file);
    expect(now.find((v) => v.id !== old!.id)!.file.path).toBe(file);
  });

  it('does not touch the record of the whole file when a list row cuts a segment of it', async () => {
    const { dir, run, records } = library();
    const file = path.join(dir, 'long.mp4');
    saveOver(second, file, 1_700_000_000);
    expect((await run('process', file)).code).toBe(0);
    const list = path.join(dir, 'rows.csv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(list, `url,label,start,end\n${file},waving,0.5,1.5\n`);
    const r = await run('process', '-i', list);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr, r.stderr).not.toContain("replaced by another video");
    const all = await records();
    expect(all).toHaveLength(2);
    expect(all.some((v) => v.file.path === file)).toBe(true);
  });

  describe('two files that exchanged their contents (beach.mp4 and party.mp4 swapped in place)', () => {
    /** Two videos processed at beach.mp4 and party.mp4, then swapped, each saved over the other with a new time. */
    async function swapped() {
      const lib = library();
      const a = path.join(lib.dir, 'beach.mp4');
      const b = path.join(lib.dir, 'party.mp4');
      saveOver(first, a, 1_700_000_000);
      saveOver(second, b, 1_700_000_000);
      const r = await lib.run('process', a, b);
      expect(r.code, r.stderr).toBe(0);
      const before = await lib.records();
      const x = before.find((v) => v.file.path === a)!;
      const y = before.find((v) => v.file.path === b)!;
      saveOver(second, a, 1_700_000_100);
      saveOver(first, b, 1_700_000_100);
      return { ...lib, a, b, x, y };
    }

    /** Both records kept (nothing removed and made again), each at the path that holds its video now. */
    async function expectBothKept(lib: Awaited<ReturnType<typeof swapped>>) {
      const now = await lib.records();
      expect(now.map((v) => v.id).sort()).toEqual([lib.x.id, lib.y.id].sort());
      const x = now.find((v) => v.id === lib.x.id)!;
      const y = now.find((v) => v.id === lib.y.id)!;
      expect(x.file.path).toBe(lib.b);
      expect(y.file.path).toBe(lib.a);
      // listed only where it is now: the other path holds the other video
      expect([x.source.url, ...x.alsoFrom.map((s) => s.url)]).toEqual([lib.b]);
      expect([y.source.url, ...y.alsoFrom.map((s) => s.url)]).toEqual([lib.a]);
      // the tags of the file names follow the files
      expect(x.tags.map((t) => t.name)).toContain('party');
      expect(x.tags.map((t) => t.name)).not.toContain('beach');
      expect(y.tags.map((t) => t.name)).toContain('beach');
      expect(y.tags.map((t) => t.name)).not.toContain('party');
      // nothing of the videos themselves run again: the records as they were made, their keyframes on disk
      for (const [was, is] of [[lib.x, x], [lib.y, y]] as const) {
        expect(is.createdAt).toBe(was.createdAt);
        for (const stage of ['probe', 'scenes', 'keyframes']) expect(is.stages[stage]?.at, `${was.id} ${stage}`).toBe(was.stages[stage]?.at);
        expect(is.scenes).toEqual(was.scenes);
        for (const sc of is.scenes) if (sc.keyframe) expect(existsSync(sc.keyframe), sc.keyframe).toBe(true);
      }
      // and nothing to do on the next run
      const again = await lib.run('process', lib.a, lib.b, '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.type === 'summary')).toMatchObject({ done: 0, unchanged: 2 });
    }

    it('processed together in one run: both records kept, each pointing at its new path', async () => {
      const lib = await swapped();
      const r = await lib.run('process', lib.a, lib.b);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('is removed');
      await expectBothKept(lib);
    });

    it('processed one file a run (as queue jobs take them), in either order: both records kept', async () => {
      for (const order of ['ab', 'ba']) {
        const lib = await swapped();
        for (const f of order === 'ab' ? [lib.a, lib.b] : [lib.b, lib.a]) {
          const r = await lib.run('process', f);
          expect(r.code, r.stderr).toBe(0);
          expect(r.stderr, order).not.toContain('is removed');
        }
        await expectBothKept(lib);
      }
    });
      it('three files that went round in one run (a holds b\'s video, b c\'s, c a\'s): all three records kept', async () => {
      const third = await makeTestVideo(path.join(t.dir, 'third.mp4'), { seconds: 3, width: 176, height: 144, fps: 10, source: 'testsrc' });
      const lib = library();
      const [a, b, c] = ['alpha.mp4', 'bravo.mp4', 'charlie.mp4'].map((f) => path.join(lib.dir, f)) as [string, string, string];
      const videos = [first, second, third];
      [a, b, c].forEach((f, i) => saveOver(videos[i]!, f, 1_700_000_000));
      expect((await lib.run('process', a!, b!, c!)).code).toBe(0);
      const before = await lib.records();
      const at = (f: string, list = before) => list.find((v) => v.file.path === f)!;
      const [x, y, z] = [at(a!), at(b!), at(c!)];
      saveOver(second, a!, 1_700_000_100);
      saveOver(third, b!, 1_700_000_100);
      saveOver(first, c!, 1_700_000_100);
      const r = await lib.run('process', a!, b!, c!);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('is removed');
      const now = await lib.records();
      expect(now.map((v) => v.id).sort()).toEqual([x.id, y.id, z.id].sort());
      expect(at(a!, now).id).toBe(y.id);
      expect(at(b!, now).id).toBe(z.id);
      expect(at(c!, now).id).toBe(x.id);
      for (const was of [x, y, z]) {
        const is = now.find((v) => v.id === was.id)!;
        expect(is.createdAt).toBe(was.createdAt);
        for (const stage of ['probe', 'scenes', 'keyframes']) expect(is.stages[stage]?.at, `${was.id} ${stage}`).toBe(was.stages[stage]?.at);
      }
    });
  });
});
