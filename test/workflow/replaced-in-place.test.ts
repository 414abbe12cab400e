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
});
