import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { startTestServer } from '../helpers/http-server.js';
import { withSharedWholes } from '../../src/workflow/queue/video-queue.js';
import type { InputItem } from '../../src/sources/index.js';

const redisUrl = process.env.VIDEODEX_TEST_REDIS_URL;

describe('list rows of one video queued as separate jobs', () => {
  const t = tempDir();
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    const long = readFileSync(await makeTestVideo(path.join(t.dir, 'long.mp4'), { seconds: 4, width: 160, height: 120, fps: 10 }));
    const other = readFileSync(await makeTestVideo(path.join(t.dir, 'other.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, source: 'testsrc' }));
    // slow enough to answer that jobs taken at once really overlap
    const slow = (body: Buffer) => (_q: unknown, res: import('node:http').ServerResponse) =>
      void setTimeout(() => res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) }).end(body), 300);
    const third = readFileSync(await makeTestVideo(path.join(t.dir, 'third.mp4'), { seconds: 3, width: 176, height: 144, fps: 10 }));
    server = await startTestServer({ '/long.mp4': slow(long), '/other.mp4': slow(other), '/third.mp4': slow(third) });
  });
  afterAll(async () => {
    await server.close();
    t.cleanup();
  });

  it('are told they share their video: rows of one address with a time range, counted once a key', () => {
    const row = (url: string, start: number | undefined, key = `${url}#${start}`): InputItem => ({ key, raw: url, kind: 'url', url, list: { file: 'l.csv', label: 'x', ...(start !== undefined ? { start, end: start + 1 } : {}) } });
    const out = withSharedWholes([row('http://h/a.mp4', 0), row('http://h/a.mp4', 1), row('http://h/b.mp4', 0), row('http://h/a.mp4', undefined, 'http://h/a.mp4')]);
    expect(out[0]!.shared).toEqual({ group: expect.stringMatching(/^[0-9a-f]{24}$/), rows: 2 });
    expect(out[1]!.shared).toEqual(out[0]!.shared);
    // alone, or the whole video (no range): nothing to share
    expect(out[2]!.shared).toBeUndefined();
    expect(out[3]!.shared).toBeUndefined();
    // the same rows queued again name the same group
    expect(withSharedWholes([row('http://h/a.mp4', 1), row('http://h/a.mp4', 0)])[0]!.shared).toEqual(out[0]!.shared);
  });

  it.skipIf(!redisUrl)('download the video once for all of them, whichever of two workers takes each, and keep only the clips', async () => {
    const list = path.join(t.dir, 'segments.csv');
    writeFileSync(
      list,
      `url,label,start,end\n${server.base}/long.mp4,a,0,1\n${server.base}/long.mp4,b,1,2\n${server.base}/long.mp4,c,2,3\n${server.base}/long.mp4,d,3,4\n${server.base}/other.mp4,e,0,1\n`,
    );
    const data = path.join(t.dir, 'data');
    const q = ['--redis', redisUrl!, '--queue', `videodex-shared-whole-${process.pid}-${Date.now()}`, '--data-dir', data];
    const env = { ...process.env, VIDEODEX_QUEUE_REDISURL: '' };
    const enq = await runCli(['enqueue', '-i', list, '--json', ...q], { env });
    expect(JSON.parse(enq.stdout)).toMatchObject({ added: 5 });
    const workers = await Promise.all([0, 1].map(() => runCli(['worker', '--exit-when-empty', '--concurrency', '2', ...q], { env })));
    for (const w of workers) expect(w.code, w.stderr).toBe(0);
    expect(workers.reduce((n, w) => n + Number(/worker finished (\d+) job/.exec(w.stderr)?.[1] ?? NaN), 0)).toBe(5);
    expect(server.hitsOf('/long.mp4')).toHaveLength(1);
    expect(server.hitsOf('/other.mp4')).toHaveLength(1);
    const media = path.join(data, 'media');
    expect(readdirSync(media).filter((f) => !f.startsWith('.')).sort()).toEqual([
      'long_000000_000001.mp4',
      'long_000001_000002.mp4',
      'long_000002_000003.mp4',
      'long_000003_000004.mp4',
      'other_000000_000001.mp4',
    ]);
    // the whole video kept for the rows is gone once the last of them has its clip
    const partial = path.join(media, '.partial');
    expect(existsSync(partial) ? readdirSync(partial).filter((f) => f.includes('.whole')) : []).toEqual([]);
    const found = JSON.parse((await runCli(['search', '--json', '--data-dir', data])).stdout);
    expect(found.total).toBe(5);
  }, 180_000);

  it.skipIf(!redisUrl)('a row of them done before (by process) is counted done: the whole video kept for the others still goes', async () => {
    const data = path.join(t.dir, 'data-before');
    const one = path.join(t.dir, 'one.csv');
    writeFileSync(one, `url,label,start,end\n${server.base}/third.mp4,a,0,1\n`);
    expect((await runCli(['process', '-i', one, '-q', '--data-dir', data])).code).toBe(0);
    const list = path.join(t.dir, 'three.csv');
    writeFileSync(list, `url,label,start,end\n${server.base}/third.mp4,a,0,1\n${server.base}/third.mp4,b,1,2\n${server.base}/third.mp4,c,2,3\n`);
    const q = ['--redis', redisUrl!, '--queue', `videodex-shared-before-${process.pid}-${Date.now()}`, '--data-dir', data];
    const env = { ...process.env, VIDEODEX_QUEUE_REDISURL: '' };
    // the row done before first, as a queue takes jobs in order: it needs no download and must not be waited for
    expect(JSON.parse((await runCli(['enqueue', '-i', list, '--json', ...q], { env })).stdout)).toMatchObject({ added: 3 });
    const w = await runCli(['worker', '--exit-when-empty', '--concurrency', '1', ...q], { env });
    expect(w.code, w.stderr).toBe(0);
    // one download for the row of the first run, one for the two new rows
    expect(server.hitsOf('/third.mp4')).toHaveLength(2);
    const partial = path.join(data, 'media', '.partial');
    expect(existsSync(partial) ? readdirSync(partial).filter((f) => f.includes('.whole')) : []).toEqual([]);
    expect(JSON.parse((await runCli(['search', '--json', '--data-dir', data])).stdout).total).toBe(3);
  }, 180_000);
});
