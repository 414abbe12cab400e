import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';
import { startTestServer } from '../helpers/http-server.js';
import type { InputItem } from '../../src/sources/index.js';
import { relisted } from '../../src/workflow/record-merge.js';

/** A row of a labelled list that changes after its video was processed: the next run takes it, acquiring nothing. */
describe('a list row changed after its video was processed', () => {
  const t = tempDir();
  const data = () => ['--data-dir', path.join(t.dir, 'data')];
  const video = () => path.join(t.dir, 'a.mp4');
  const show = async () => JSON.parse((await runCli(['show', video(), ...data()])).stdout) as { source: { list?: Record<string, unknown> }; categories: Array<{ name: string; source: string; kind?: string }>; stages: Record<string, { at: string }> };
  const run = async (list: string) => {
    const r = await runCli(['process', '-i', list, '--json', ...data()]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; done?: number; unchanged?: number });
  };

  beforeAll(async () => {
    await makeTestVideo(video(), { seconds: 1 });
  });
  afterAll(() => t.cleanup());

  it('relabels it (a label fixed in the list, the same file in another list), with no old label left behind', async () => {
    const list = path.join(t.dir, 'train.csv');
    writeFileSync(list, 'url,label,split\na.mp4,cooking,train\n');
    await run(list);
    const first = await show();
    expect(first.source.list).toMatchObject({ label: 'cooking', split: 'train', row: 2 });
    const acquiredAt = first.stages.acquire!.at;

    // the label and split fixed in the list
    writeFileSync(list, 'url,label,split\na.mp4,baking,val\n');
    expect((await run(list)).at(-1)).toMatchObject({ type: 'summary', done: 1, unchanged: 0 });
    const fixed = await show();
    expect(fixed.source.list).toMatchObject({ file: list, row: 2, label: 'baking', split: 'val' });
    expect(fixed.categories.filter((c) => c.source === 'list').map((c) => c.name)).toEqual(['baking']);
    expect(fixed.stages.acquire!.at).toBe(acquiredAt);
    expect(JSON.parse((await runCli(['search', 'category:baking', '--json', ...data()])).stdout).total).toBe(1);
    expect(JSON.parse((await runCli(['search', 'category:cooking', '--json', ...data()])).stdout).total).toBe(0);
    // nothing changed since: nothing to do
    expect((await run(list)).at(-1)).toMatchObject({ type: 'summary', done: 0, unchanged: 1 });

    // another list naming the same file: the last list run wins
    const other = path.join(t.dir, 'more.csv');
    writeFileSync(other, '# relabelled\nurl,label\na.mp4,frying\n');
    await run(other);
    const moved = await show();
    expect(moved.source.list).toEqual({ file: other, row: 3, label: 'frying' });
    expect(moved.categories.filter((c) => c.source === 'list').map((c) => c.name)).toEqual(['frying']);
  });
});

describe('relisted', () => {
  const record = (url: string, list?: Record<string, unknown>) => makeRecord({ source: { url, kind: 'ytdlp', fetchedAt: '2024-01-01T00:00:00.000Z', ...(list ? { list } : {}) } as never });
  const row = { file: '/lists/a.csv', row: 2, label: 'new' };

  it('finds the source of a ytdl: row, of a row by its list place, and a record with one source', () => {
    const item: InputItem = { key: 'ytdl:https://h/page', raw: 'ytdl:https://h/page', kind: 'url', url: 'ytdl:https://h/page', list: row };
    expect(relisted(record('https://h/page', { file: '/lists/a.csv', row: 2, label: 'old' }), item)?.source.list?.label).toBe('new');
    // yt-dlp recorded another form of the address: the same list row
    expect(relisted(record('https://www.h/page?v=1', { file: '/lists/a.csv', row: 2, label: 'old' }), item)?.source.list?.label).toBe('new');
    // the record's only source, from no list before
    expect(relisted(record('https://www.h/other'), item)?.source.list).toEqual(row);
    // two sources, neither this row's: nothing to say
    const two = { ...record('https://x/1'), alsoFrom: [{ url: 'https://x/2', kind: 'http' as const, fetchedAt: '2024-01-01T00:00:00.000Z' }] };
    expect(relisted(two, item)).toBeNull();
    // unchanged
    expect(relisted(record('https://h/page', row), item)).toBeNull();
  });
});

describe('several rows cutting clips from one video', () => {
  const t = tempDir();
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    const clip = readFileSync(await makeTestVideo(path.join(t.dir, 'long.mp4'), { seconds: 4, width: 160, height: 120, fps: 10 }));
    server = await startTestServer({ '/long.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(clip.length) }).end(clip) });
  });
  afterAll(async () => {
    await server.close();
    t.cleanup();
  });

  it('download the video once for all of them, and keep only the clips', async () => {
    const list = path.join(t.dir, 'segments.csv');
    writeFileSync(list, `url,label,start,end\n${server.base}/long.mp4,a,0,1\n${server.base}/long.mp4,b,1,2\n${server.base}/long.mp4,c,2,3.5\n`);
    const data = path.join(t.dir, 'data');
    const r = await runCli(['process', '-i', list, '--json', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ done: 3, failed: 0 });
    expect(server.hitsOf('/long.mp4')).toHaveLength(1);
    expect(readdirSync(path.join(data, 'media')).filter((f) => !f.startsWith('.')).sort()).toEqual(['long_000000_000001.mp4', 'long_000001_000002.mp4', 'long_000002_000003.500.mp4']);
  });
});
