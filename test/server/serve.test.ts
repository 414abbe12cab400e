import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { startServe } from '../helpers/serve.js';

const t = tempDir();
const data = path.join(t.dir, 'data');
let stop: (() => void) | undefined;
let base = '';
let ids: string[] = [];

beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'surfing_beach.mp4'), { seconds: 2, width: 320, height: 240, audio: true });
  await makeTestVideo(path.join(t.dir, 'city-night.mp4'), { seconds: 1, width: 640, height: 360, source: 'smptebars' });
  const r = await runCli(['process', t.dir, '--json', '--data-dir', data]);
  ids = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId).map((x) => x.videoId);
  ({ base, stop } = await startServe(data));
});
afterAll(() => {
  stop?.();
  t.cleanup();
});

describe('videodex serve', () => {
  it('serves the web page and a health check', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<title>videodex</title>');
    expect(await (await fetch(`${base}/api/health`)).json()).toMatchObject({ ok: true, backend: 'sqlite', videos: 2 });
  });

  it('searches with the query language and returns summaries, facets and thumbnails', async () => {
    expect(ids).toHaveLength(2);
    const all = await (await fetch(`${base}/api/search?q=`)).json();
    expect(all.total).toBe(2);
    const r = await (await fetch(`${base}/api/search?q=${encodeURIComponent('surfing height:<=240')}`)).json();
    expect(r.total).toBe(1);
    expect(r.hits[0]).toMatchObject({ name: 'surfing_beach.mp4', width: 320, hasAudio: true });
    expect(r.hits[0].thumbnail).toMatch(/^\/api\/videos\/[0-9a-f]+\/keyframes\/\d+$/);
    expect(r.facets.codecs).toEqual({ h264: 1 });
  });

  it('answers a bad query with 400 and the column', async () => {
    const res = await fetch(`${base}/api/search?q=${encodeURIComponent('durtion:5')}`);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatch(/unknown field 'durtion'.*did you mean duration/);
    expect(body.column).toBe(1);
    expect((await fetch(`${base}/api/search?limit=0`)).status).toBe(400);
  });

  it('returns records, 404 for unknown ids, and never serves a path a request names', async () => {
    const v = await (await fetch(`${base}/api/videos/${ids[0]}`)).json();
    expect(v.id).toBe(ids[0]);
    expect((await fetch(`${base}/api/videos/0123456789abcdef`)).status).toBe(404);
    expect((await fetch(`${base}/api/videos/..%2F..%2Fetc%2Fpasswd/file`)).status).toBe(404);
  });

  it('streams the video with byte ranges (for seeking to a scene) and keyframes as JPEG', async () => {
    const res = await fetch(`${base}/api/videos/${ids[0]}/file`, { headers: { range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toMatch(/^bytes 0-99\/\d+$/);
    expect((await res.arrayBuffer()).byteLength).toBe(100);
    const whole = await fetch(`${base}/api/videos/${ids[0]}/file`);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    const v = await (await fetch(`${base}/api/videos/${ids[0]}`)).json();
    const jpg = await fetch(`${base}/api/videos/${ids[0]}/keyframes/${v.scenes[0].index}`);
    expect(jpg.headers.get('content-type')).toBe('image/jpeg');
    const bytes = new Uint8Array(await jpg.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  });

  it('checks sort, limit and offset as the query language does: a bad one is a 400, a shorthand means what sort: means', async () => {
    for (const sort of ['bogus', 'toString', 'constructor-asc', '-desc']) {
      const res = await fetch(`${base}/api/search?sort=${sort}`);
      expect(res.status, sort).toBe(400);
      expect((await res.json()).error, sort).toMatch(/is not a sort order/);
    }
    const order = async (query: string) => ((await (await fetch(`${base}/api/search?${query}`)).json()).hits as Array<{ id: string }>).map((h) => h.id);
    for (const word of ['size', 'longest', 'ADDED']) expect(await order(`sort=${word}`), word).toEqual(await order(`q=sort:${word}`));
    expect(await order('sort=size')).toEqual(await order('sort=size-desc'));
    for (const limit of ['1e2', '0x10', '%20%205', '5.0']) expect((await fetch(`${base}/api/search?limit=${limit}`)).status, limit).toBe(400);
  });

  it('answers unknown API paths with a JSON 404', async () => {
    const res = await fetch(`${base}/api/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'no such path: /api/nothing-here' });
  });

  it('takes the range unit in any case, and ignores a range whose end comes before its start', async () => {
    const res = await fetch(`${base}/api/videos/${ids[0]}/file`, { headers: { range: 'Bytes=0-9' } });
    expect(res.status).toBe(206);
    expect((await res.arrayBuffer()).byteLength).toBe(10);
    const backwards = await fetch(`${base}/api/videos/${ids[0]}/file`, { headers: { range: 'bytes=100-50' } });
    expect(backwards.status).toBe(200);
    expect(Number(backwards.headers.get('content-length'))).toBeGreaterThan(100);
    await backwards.arrayBuffer();
  });

  it('listening on 127.0.0.1, answers only requests addressed to a loopback name (no DNS rebinding)', async () => {
    const port = Number(new URL(base).port);
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        // fetch may not set Host; a raw request says what a rebinding page's browser would send
        http.get({ host: '127.0.0.1', port, path: '/api/health', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await status('evil.example')).toBe(403);
    expect(await status(`evil.example:${port}`)).toBe(403);
    expect(await status(`127.0.0.1:${port}`)).toBe(200);
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(await status(`[::1]:${port}`)).toBe(200);
  });

  it('revalidates files by an ETag: 304 while unchanged, the new bytes once a keyframe is rewritten', async () => {
    const v = await (await fetch(`${base}/api/videos/${ids[0]}`)).json();
    const url = `${base}/api/videos/${ids[0]}/keyframes/${v.scenes[0].index}`;
    const first = await fetch(url);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    await first.arrayBuffer();
    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    // processing again rewrites keyframes under the same names: the old tag must no longer match
    const { appendFileSync, utimesSync } = await import('node:fs');
    appendFileSync(v.scenes[0].keyframe, Buffer.from([0]));
    utimesSync(v.scenes[0].keyframe, new Date(), new Date(Date.now() + 5000));
    const changed = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    await changed.arrayBuffer();
  });
});
