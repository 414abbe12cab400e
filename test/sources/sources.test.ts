import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWith, createLogger, MediaTools, runTool, type Config } from '../../src/core/index.js';
import { createSources, expandInputs, mapYtDlpInfo, parseProgressLine, readInputList, type AcquireContext, type InputItem, type Source } from '../../src/sources/index.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';
import { sha256, startTestServer } from '../helpers/http-server.js';

const t = tempDir('videodex-sources-');
let tools: MediaTools;
let clip: Buffer;
let server: Awaited<ReturnType<typeof startTestServer>>;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  tools = await MediaTools.resolve({ ffmpeg: 'auto', ffprobe: 'auto' });
  // 4 s at 10 fps with a keyframe every 10 frames: cuts at whole seconds can be stream-copied, at 1.25 s cannot.
  const file = await makeTestVideo(path.join(t.dir, 'clip.mp4'), { seconds: 4, width: 160, height: 120, fps: 10, extra: ['-g', '10', '-keyint_min', '10', '-sc_threshold', '0'] });
  clip = readFileSync(file);
  const hlsDir = path.join(t.dir, 'hls');
  mkdirSync(hlsDir);
  await runTool(testFfmpeg(), ['-hide_banner', '-loglevel', 'error', '-i', file, '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', path.join(hlsDir, 'index.m3u8')]);
  const hlsFiles = Object.fromEntries(
    readdirSync(hlsDir).map((f) => [
      `/show/ep1/${f}`,
      (_q: unknown, res: import('node:http').ServerResponse) =>
        void res.writeHead(200, { 'content-type': f.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' }).end(readFileSync(path.join(hlsDir, f))),
    ]),
  );
  server = await startTestServer({
    '/clip.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(clip.length) }).end(clip),
    // yt-dlp asks twice per run (looks, then downloads): the fourth answer sends half, then the rest a second later
    '/slow-clip.mp4': (_q, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(clip.length) });
      if (server.hitsOf('/slow-clip.mp4').length !== 4) return void res.end(clip);
      res.write(clip.subarray(0, clip.length >> 1));
      setTimeout(() => res.end(clip.subarray(clip.length >> 1)), 1000);
    },
    '/page.html': (_q, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>My Clip</title></head><body><video src="clip.mp4" controls></video></body></html>'),
    '/watch': (_q, res) =>
      void res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><title>Surf page</title><script type="application/ld+json">${JSON.stringify({
        '@context': 'https://schema.org', '@type': 'VideoObject', name: 'Surf Day', description: 'Waves at dawn', uploadDate: '2024-05-01T08:00:00Z',
        duration: 'PT4S', contentUrl: `${server.base}/clip.mp4`, author: { '@type': 'Person', name: 'Ann' }, keywords: 'surf,beach',
      })}</script></head><body>surf</body></html>`),
    '/evil.m3u8': (_q, res) =>
      void res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'),
    '/nothing.html': (_q, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>no video here</body></html>'),
    // an expired link: a login page served as the video it was
    '/expired.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4' }).end('<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>log in</form></body></html>'),
    '/live': (_q, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(path.join(hlsDir, 'index.m3u8')).toString().replace(/^(index\d+\.ts)$/gm, '/show/ep1/$1')),
    ...hlsFiles,
    // the same stream with its second segment missing (404), always failing (503), or failing (503) until ffmpeg
    // fetches the manifest again, i.e. on the first attempt only (the manifest is read once before it)
    ...streamVariant(hlsFiles, '/gap/', () => 404),
    ...streamVariant(hlsFiles, '/down/', () => 503),
    ...streamVariant(hlsFiles, '/flaky/', () => (server.hitsOf('/flaky/ep1/index.m3u8').length < 3 ? 503 : null)),
    // the same stream, each file 100 ms late: two copies of it overlap from start to end
    ...Object.fromEntries(
      Object.entries(hlsFiles).map(([p, h]) => [p.replace('/show/', '/slow/'), (q: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void setTimeout(() => h(q, res), 100)]),
    ),
  });
});
type Route = (q: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

/** The stream's routes under another folder, its second segment answering `status()` (or served when null). */
function streamVariant(files: Record<string, Route>, prefix: string, status: () => number | null): Record<string, Route> {
  return Object.fromEntries(
    Object.entries(files).map(([p, h]) => [
      p.replace('/show/', prefix),
      (q, res) => {
        const code = p.endsWith('/index1.ts') ? status() : null;
        if (code === null) h(q, res);
        else res.writeHead(code, { 'content-type': 'text/plain' }).end('no');
      },
    ]),
  );
}

afterAll(async () => {
  for (const c of closers) await c();
  await server?.close();
  t.cleanup();
});

function setup(name: string, sections: Parameters<typeof configWith>[0] = {}, envPath?: string): { sources: readonly Source[]; ctx: AcquireContext; mediaDir: string; config: Config } {
  const mediaDir = path.join(t.dir, name);
  const config = configWith({ ...sections, Sources: { Retries: 1, RetryBackoffMs: 5, ...(sections.Sources ?? {}) } });
  const set = createSources(config, envPath !== undefined ? { envPath } : {});
  closers.push(() => set.close());
  const ctx: AcquireContext = { config, logger: createLogger({ file: null, level: 'silent', secrets: [] }), signal: new AbortController().signal, tools, mediaDir, progress: () => {} };
  return { sources: set.sources, ctx, mediaDir, config };
}

function acquire(sources: readonly Source[], item: InputItem, ctx: AcquireContext) {
  const source = sources.find((s) => s.canHandle(item));
  if (!source) throw new Error(`no source for ${item.raw}`);
  return source.acquire(item, ctx).then((a) => ({ ...a, kind: source.kind }));
}

const url = (u: string, list?: InputItem['list']): InputItem => ({ key: u, raw: u, kind: 'url', url: u, ...(list ? { list } : {}) });

async function durationOf(file: string): Promise<number> {
  const { stdout } = await runTool(tools.ffprobe.path, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.toString().trim());
}

describe('yt-dlp source (generic extractor against a local page)', () => {
  it('takes the <video> of a page that answered HTML, and maps info.json', async () => {
    const { sources, ctx, mediaDir } = setup('yt1');
    const a = await acquire(sources, url(`${server.base}/page.html`), ctx);
    expect(a.kind).toBe('http'); // asked HTTP first, which handed the HTML page to yt-dlp
    expect(a.source.kind).toBe('ytdlp');
    expect(a.source.title).toMatch(/My Clip/);
    expect(a.source.pageUrl).toBe(`${server.base}/page.html`);
    expect(a.sha256).toBe(sha256(clip));
    expect(path.dirname(a.path)).toBe(mediaDir);
    expect(readdirSync(path.join(mediaDir, '.partial'))).toEqual([]);
  });

  it('maps JSON-LD metadata (title, uploader, date, duration, description, tags) through ytdl: URLs, with yt-dlp progress', async () => {
    const { sources, ctx: base } = setup('yt2');
    const reports: Array<[number, number | null]> = [];
    const ctx = { ...base, progress: (done: number, total: number | null) => void reports.push([done, total]) };
    const a = await acquire(sources, url(`ytdl:${server.base}/watch`), ctx);
    // yt-dlp's own report of the finished download (bytes of the file, total from content-length).
    expect(reports).toContainEqual([clip.length, clip.length]);
    expect(reports.length).toBeGreaterThan(1);
    expect(a.kind).toBe('ytdlp');
    expect(a.source).toMatchObject({ kind: 'ytdlp', title: 'Surf Day', uploader: 'Ann', uploadedAt: '2024-05-01', description: 'Waves at dawn', durationSec: 4, pageUrl: `${server.base}/watch` });
    expect(a.tags).toEqual([{ name: 'surf', source: 'metadata' }, { name: 'beach', source: 'metadata' }]);
    expect(path.basename(a.path)).toBe('Surf Day [watch].mp4');
  });

  it('two inputs fetching one URL through yt-dlp at once (a plain row and a clip row of one video) each get the video', async () => {
    const { sources, ctx, mediaDir } = setup('yt-twice');
    const u = `ytdl:${server.base}/slow-clip.mp4`;
    const [a, b] = await Promise.all([acquire(sources, url(u), ctx), acquire(sources, url(u), ctx)]);
    expect(a.path).not.toBe(b.path);
    for (const r of [a, b]) expect(r.sha256).toBe(sha256(clip));
    expect(readdirSync(path.join(mediaDir, '.partial'))).toEqual([]);
  });

  it('reads yt-dlp progress lines: exact total, else the estimate, else unknown; other lines are not progress', () => {
    expect(parseProgressLine('videodex-progress 1024 4096 NA')).toEqual({ done: 1024, total: 4096 });
    expect(parseProgressLine('videodex-progress 1024 NA 5000.5')).toEqual({ done: 1024, total: 5001 });
    expect(parseProgressLine('videodex-progress 1024 NA NA')).toEqual({ done: 1024, total: null });
    expect(parseProgressLine('videodex-progress NA NA NA')).toBeNull();
    expect(parseProgressLine('[download] Destination: x.mp4')).toBeNull();
  });

  it('maps categories and ignores junk in info.json', () => {
    const m = mapYtDlpInfo({ title: 'T', channel: 'C', upload_date: '20200131', tags: ['a', ' a ', '', 'b'], categories: ['Sports'], webpage_url: 'https://x/y' }, 'https://x/y');
    expect(m.source).toMatchObject({ title: 'T', uploader: 'C', uploadedAt: '2020-01-31', pageUrl: 'https://x/y' });
    expect(m.tags.map((x) => x.name)).toEqual(['a', 'b']);
    expect(m.categories).toEqual([{ name: 'Sports', source: 'metadata' }]);
  });

  it('a page with no video: one clear line naming both failures', async () => {
    const { sources, ctx } = setup('yt3');
    const err = await acquire(sources, url(`${server.base}/nothing.html`), ctx).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^the server sent an HTML page, not a video \(text\/html\), and yt-dlp found none on it: .*Unsupported URL/);
    expect((err as Error).message).not.toContain('\n');
    expect(err).toMatchObject({ code: 'E_NOT_VIDEO', retryable: false });
  });

  it('a page served as a video at a .mp4 URL: yt-dlp saves the page, which is refused as not a video, and nothing is kept', async () => {
    const { sources, ctx, mediaDir } = setup('yt6');
    const err = await acquire(sources, url(`${server.base}/expired.mp4`), ctx).catch((e: Error) => e);
    expect((err as Error).message).toBe('the server sent an HTML page, not a video (video/mp4), and yt-dlp found none on it: it saved an HTML page, not a video');
    expect(err).toMatchObject({ code: 'E_NOT_VIDEO', retryable: false });
    expect(readdirSync(mediaDir).filter((f) => f !== '.partial')).toEqual([]);
    expect(readdirSync(path.join(mediaDir, '.partial'))).toEqual([]);
  });

  it('missing yt-dlp: a clear install message, only for inputs that need it', async () => {
    const { sources, ctx } = setup('yt4', {}, '/nonexistent');
    await expect(acquire(sources, url('https://www.youtube.com/watch?v=abc'), ctx)).rejects.toThrow(/yt-dlp is needed for this URL but was not found on PATH; install it: apt-get install -y yt-dlp \(or pip install yt-dlp\)/);
    await expect(acquire(sources, url(`${server.base}/page.html`), ctx)).rejects.toThrow(/HTML page.*install yt-dlp to take videos from web pages/);
    const ok = await acquire(sources, url(`${server.base}/clip.mp4`), ctx);
    expect(ok.sha256).toBe(sha256(clip));
    const off = setup('yt5', { Sources: { YtDlp: 'off' } });
    await expect(acquire(off.sources, url('https://youtu.be/abc'), off.ctx)).rejects.toThrow(/turned off \(\[Sources\] YtDlp = off\)/);
    // a page says yt-dlp is off, as the other inputs do, not to install it
    const page = await acquire(off.sources, url(`${server.base}/page.html`), off.ctx).catch((e: Error) => e);
    expect(page).toMatchObject({
      code: 'E_NOT_VIDEO',
      message: 'the server sent an HTML page, not a video (text/html); yt-dlp, which looks for videos on web pages, is turned off ([Sources] YtDlp = off)',
    });
  });
});

describe('HLS/DASH source', () => {
  it('copies an HLS stream into one MP4 without re-encoding, reporting bytes as ffmpeg writes them', async () => {
    const { sources, ctx: base, mediaDir } = setup('hls1');
    const reports: Array<[number, number | null]> = [];
    const ctx = { ...base, progress: (done: number, total: number | null) => void reports.push([done, total]) };
    const a = await acquire(sources, url(`${server.base}/show/ep1/index.m3u8`), ctx);
    // ffmpeg's own reports (total unknown while streaming) come before the final one with the file's size.
    expect(reports.filter(([done, total]) => total === null && done > 0).length).toBeGreaterThan(0);
    expect(reports.at(-1)).toEqual([a.bytes, a.bytes]);
    expect(a.kind).toBe('hls');
    expect(path.basename(a.path)).toBe('ep1-index.mp4');
    expect(path.dirname(a.path)).toBe(mediaDir);
    expect(await durationOf(a.path)).toBeGreaterThan(3.5);
    const { stdout } = await runTool(tools.ffprobe.path, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width', '-of', 'csv=p=0', a.path]);
    expect(stdout.toString().trim()).toBe('h264,160');
  });

  it('two inputs of one stream at once (list rows cutting two clips from it) each get a whole copy', async () => {
    const { sources, ctx, mediaDir } = setup('hls-twice');
    const u = `${server.base}/slow/ep1/index.m3u8`;
    const [a, b] = await Promise.all([acquire(sources, url(u), ctx), acquire(sources, url(u), ctx)]);
    expect(a.path).not.toBe(b.path);
    expect(a.sha256).toBe(b.sha256);
    for (const f of [a.path, b.path]) expect(await durationOf(f)).toBeGreaterThan(3.5);
    expect(readdirSync(path.join(mediaDir, '.partial'))).toEqual([]);
  });

  it('a manifest served without .m3u8 is recognised and handed to ffmpeg', async () => {
    const { sources, ctx } = setup('hls2');
    const a = await acquire(sources, url(`${server.base}/live`), ctx);
    expect(a.source.kind).toBe('hls');
    expect(await durationOf(a.path)).toBeGreaterThan(3.5);
  });

  it('a playlist pointing at local files is refused (network protocols only)', async () => {
    const { sources, ctx, mediaDir } = setup('hls4');
    await expect(acquire(sources, url(`${server.base}/evil.m3u8`), ctx)).rejects.toThrow(/ffmpeg could not copy the stream|not on whitelist|held no audio or video/);
    expect(existsSync(mediaDir) ? readdirSync(mediaDir).filter((f) => !f.startsWith('.')) : []).toEqual([]);
  });

  it('a segment that answers 404 fails the copy, naming the segment, instead of saving a file with a gap', async () => {
    const { sources, ctx, mediaDir } = setup('hls-gap');
    const err = await acquire(sources, url(`${server.base}/gap/ep1/index.m3u8`), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HTTP_404', retryable: false, message: 'stream segment 1 of playlist 0 could not be fetched (HTTP 404 Not Found); not saved with footage missing' });
    // read once before the copy (variants, live or not), then once by ffmpeg: not retried
    expect(server.hitsOf('/gap/ep1/index.m3u8')).toHaveLength(2);
    expect(existsSync(mediaDir) ? readdirSync(mediaDir).filter((f) => !f.startsWith('.')) : []).toEqual([]);
    expect(readdirSync(path.join(mediaDir, '.partial'))).toEqual([]);
  });

  it('a segment that answers 5xx is retried, and fails as a server error once the retries are used up', async () => {
    const { sources, ctx, mediaDir } = setup('hls-down');
    const err = await acquire(sources, url(`${server.base}/down/ep1/index.m3u8`), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HTTP_5XX', retryable: true, message: expect.stringMatching(/^stream segment 1 of playlist 0 could not be fetched \(HTTP 503\)/) });
    expect(server.hitsOf('/down/ep1/index.m3u8')).toHaveLength(3); // read before the copy, then Retries = 1
    expect(existsSync(mediaDir) ? readdirSync(mediaDir).filter((f) => !f.startsWith('.')) : []).toEqual([]);
  });

  it('a segment that fails once is fetched on the retry: the whole stream is saved', async () => {
    const { sources, ctx } = setup('hls-flaky');
    const a = await acquire(sources, url(`${server.base}/flaky/ep1/index.m3u8`), ctx);
    expect(server.hitsOf('/flaky/ep1/index.m3u8')).toHaveLength(3);
    expect(await durationOf(a.path)).toBeGreaterThan(3.5);
  });

  it('a master playlist of several variants: only the best is copied (one video track), the others are not downloaded', async () => {
    const dir = path.join(t.dir, 'ladder');
    mkdirSync(dir);
    // two variants of one 8 s stream, the smaller listed first with the lower bandwidth
    await runTool(testFfmpeg(), [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10:duration=8',
      '-filter_complex', '[0:v]split=2[a][b];[b]scale=160:120[small]', '-map', '[small]', '-map', '[a]',
      '-c:v', 'libx264', '-g', '10', '-pix_fmt', 'yuv420p', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod',
      '-var_stream_map', 'v:0 v:1', '-hls_segment_filename', path.join(dir, 'v%v_%03d.ts'), path.join(dir, 'v%v.m3u8'),
    ]);
    const master = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120\nv0.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=320x240\nv1.m3u8\n';
    writeFileSync(path.join(dir, 'master.m3u8'), master);
    const ladder = await startTestServer(Object.fromEntries(readdirSync(dir).map((f) => [`/ladder/${f}`, (_q: unknown, res: import('node:http').ServerResponse) => void res.writeHead(200).end(readFileSync(path.join(dir, f)))])));
    closers.push(() => ladder.close());
    const { sources, ctx } = setup('hls-ladder');
    const a = await acquire(sources, url(`${ladder.base}/ladder/master.m3u8`), ctx);
    const { stdout } = await runTool(tools.ffprobe.path, ['-v', 'error', '-show_entries', 'stream=codec_type,width', '-of', 'csv=p=0', a.path]);
    expect(stdout.toString().trim()).toBe('video,320');
    expect(await durationOf(a.path)).toBeGreaterThan(7.5);
    // ffmpeg opens the first segments of each variant to learn its streams; the rest of the small one is never fetched
    const small = ladder.hits.filter((h) => /\/v0_\d+\.ts$/.test(h.path)).length;
    expect(ladder.hits.filter((h) => /\/v1_\d+\.ts$/.test(h.path)).length).toBe(8);
    expect(small).toBeLessThan(6);
  });

  it('a live playlist (no end) is recorded until ToolTimeoutSec and kept, not killed, thrown away and recorded again', async () => {
    const segments = readdirSync(path.join(t.dir, 'hls')).filter((f) => f.endsWith('.ts')).sort();
    const started = Date.now();
    // a window of three 1 s segments moving forward with the clock, never #EXT-X-ENDLIST
    const live = await startTestServer({
      '/tv/live.m3u8': (_q, res) => {
        const seq = Math.floor((Date.now() - started) / 1000);
        const lines = [0, 1, 2].map((i) => `#EXTINF:1.0,\n/show/ep1/${segments[(seq + i) % segments.length]}?n=${seq + i}`);
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:${seq}\n${lines.join('\n')}\n`);
      },
      ...Object.fromEntries(segments.map((f) => [`/show/ep1/${f}`, (_q: unknown, res: import('node:http').ServerResponse) => void res.writeHead(200, { 'content-type': 'video/mp2t' }).end(readFileSync(path.join(t.dir, 'hls', f)))])),
    });
    closers.push(() => live.close());
    const { sources, ctx, mediaDir } = setup('hls-live', { Sources: { ToolTimeoutSec: 10 } });
    const a = await acquire(sources, url(`${live.base}/tv/live.m3u8`), ctx);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(path.basename(a.path)).toBe('live.mp4');
    expect(await durationOf(a.path)).toBeGreaterThan(2);
    expect(readdirSync(path.join(mediaDir, '.partial'))).toEqual([]);
  });

  it('AES-128 streams: copied with their key; a key that cannot be fetched is named as the cause, first or mid-stream', async () => {
    const dir = path.join(t.dir, 'aes');
    mkdirSync(dir);
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    writeFileSync(path.join(dir, 'enc.key'), key);
    writeFileSync(path.join(dir, 'keyinfo'), `KEY-URI\n${path.join(dir, 'enc.key')}\n0123456789abcdef0123456789abcdef\n`);
    await runTool(testFfmpeg(), [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=6', '-c:v', 'libx264', '-g', '10', '-pix_fmt', 'yuv420p',
      '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_key_info_file', path.join(dir, 'keyinfo'), '-hls_segment_filename', path.join(dir, 'a%02d.ts'), path.join(dir, 'aes.m3u8'),
    ]);
    const playlist = readFileSync(path.join(dir, 'aes.m3u8'), 'utf8');
    expect(playlist).toContain('URI="KEY-URI"');
    let base = '';
    const withKey = (text: string, uri: string) => text.replace('KEY-URI', `${base}/aes/${uri}`);
    // the key changes (to one that is gone) before the second segment
    const rotated = (text: string) => text.replace(/(#EXTINF:[^\n]*\na00\.ts\n)/, `$1#EXT-X-KEY:METHOD=AES-128,URI="${base}/aes/gone.key",IV=0x0123456789abcdef0123456789abcdef\n`);
    const aes = await startTestServer({
      '/aes/good.m3u8': (_q, res) => void res.writeHead(200).end(withKey(playlist, 'enc.key')),
      '/aes/nokey.m3u8': (_q, res) => void res.writeHead(200).end(withKey(playlist, 'missing.key')),
      '/aes/rotated.m3u8': (_q, res) => void res.writeHead(200).end(rotated(withKey(playlist, 'enc.key'))),
      '/aes/enc.key': (_q, res) => void res.writeHead(200).end(key),
      ...Object.fromEntries(['a00.ts', 'a01.ts', 'a02.ts'].map((f) => [`/aes/${f}`, (_q: unknown, res: import('node:http').ServerResponse) => void res.writeHead(200).end(readFileSync(path.join(dir, f)))])),
    });
    base = aes.base;
    closers.push(() => aes.close());
    const { sources, ctx, mediaDir } = setup('hls-aes');
    const a = await acquire(sources, url(`${aes.base}/aes/good.m3u8`), ctx);
    expect(await durationOf(a.path)).toBeGreaterThan(5.5);
    const first = await acquire(sources, url(`${aes.base}/aes/nokey.m3u8`), ctx).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'E_HTTP_404', message: `stream encryption key ${aes.base}/aes/missing.key could not be fetched (HTTP 404 Not Found); not saved, the segments it encrypts could not be decrypted` });
    const mid = await acquire(sources, url(`${aes.base}/aes/rotated.m3u8`), ctx).catch((e: unknown) => e);
    // ffmpeg only logs it and decrypts the rest with the first key: noise saved as footage
    expect(mid).toMatchObject({ code: 'E_HTTP_404', message: `stream encryption key ${aes.base}/aes/gone.key could not be fetched (HTTP 404 Not Found); not saved, the segments it encrypts could not be decrypted` });
    expect(readdirSync(mediaDir).filter((f) => !f.startsWith('.'))).toEqual([path.basename(a.path)]);
  });

  it('DASH: one representation is copied (not every one), the fragment ffmpeg asks past the end is no gap, a missing one is', async () => {
    const dir = path.join(t.dir, 'dash');
    mkdirSync(dir);
    await runTool(testFfmpeg(), [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10:duration=8',
      '-filter_complex', '[0:v]split=2[a][b];[b]scale=160:120[small]', '-map', '[a]', '-map', '[small]',
      '-c:v', 'libx264', '-g', '10', '-pix_fmt', 'yuv420p', '-b:v:0', '300k', '-b:v:1', '100k',
      '-f', 'dash', '-seg_duration', '1', '-use_template', '1', '-use_timeline', '0', '-adaptation_sets', 'id=0,streams=v', path.join(dir, 'manifest.mpd'),
    ]);
    const files = readdirSync(dir);
    expect(files).toContain('chunk-stream0-00008.m4s');
    const route = (prefix: string, missing?: string) =>
      Object.fromEntries(files.filter((f) => f !== missing).map((f) => [`${prefix}${f}`, (_q: unknown, res: import('node:http').ServerResponse) => void res.writeHead(200).end(readFileSync(path.join(dir, f)))]));
    const dash = await startTestServer({ ...route('/whole/'), ...route('/gap/', 'chunk-stream0-00004.m4s') });
    closers.push(() => dash.close());
    const { sources, ctx, mediaDir } = setup('dash-media');
    const a = await acquire(sources, url(`${dash.base}/whole/manifest.mpd`), ctx);
    const { stdout } = await runTool(tools.ffprobe.path, ['-v', 'error', '-show_entries', 'stream=width', '-of', 'csv=p=0', a.path]);
    expect(stdout.toString().trim()).toBe('320');
    expect(await durationOf(a.path)).toBeGreaterThan(7.5);
    expect(dash.hitsOf('/whole/chunk-stream0-00008.m4s')).toHaveLength(1);
    expect(dash.hits.filter((h) => h.path.startsWith('/whole/chunk-stream1-')).length).toBeLessThan(5);
    const err = await acquire(sources, url(`${dash.base}/gap/manifest.mpd`), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HTTP_404', message: 'stream a fragment could not be fetched (HTTP 404 Not Found); not saved with footage missing' });
    expect(readdirSync(mediaDir).filter((f) => !f.startsWith('.'))).toEqual([path.basename(a.path)]);
  });

  it('a media folder the copy cannot write into (a file where .partial goes) is E_DISK naming it, not a bare Node error', async () => {
    const { sources, ctx, mediaDir } = setup('hls-nowrite');
    mkdirSync(mediaDir, { recursive: true });
    writeFileSync(path.join(mediaDir, '.partial'), 'in the way');
    const err = await acquire(sources, url(`${server.base}/show/ep1/index.m3u8`), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_DISK', message: `cannot write the stream into ${path.join(mediaDir, '.partial')}: a file is in the way of the folder` });
  });

  it('a 404 manifest fails at once with one line', async () => {
    const { sources, ctx } = setup('hls3');
    const before = server.hitsOf('/gone/index.m3u8').length;
    await expect(acquire(sources, url(`${server.base}/gone/index.m3u8`), ctx)).rejects.toThrow(/^stream HTTP 404 Not Found$/);
    expect(server.hitsOf('/gone/index.m3u8').length - before).toBe(1);
  });
});

describe('labelled lists (Kinetics CSV)', () => {
  it('reads url or youtube_id rows with label, start, end and split; bad rows are problems', () => {
    const csv = 'label,youtube_id,time_start,time_end,split\nsurfing,abc123,10,20,train\nrunning,,1,2,val\njumping,xyz,5,3,train\n';
    const r = readInputList(csv, '/lists/k.csv');
    expect(r.entries).toEqual([
      { raw: 'https://www.youtube.com/watch?v=abc123', list: { file: '/lists/k.csv', row: 2, label: 'surfing', split: 'train', start: 10, end: 20 } },
    ]);
    expect(r.problems.map((p) => `${p.raw}: ${p.message}`)).toEqual(['k.csv row 3: no url or youtube_id', 'k.csv row 4: end (3) must be after start (5)']);
  });

  it('a row with an unclosed quote is a problem naming its line; the rows before and after it run', () => {
    const csv = 'url,label\nhttp://h/1.mp4,a\n# a comment\n"http://h/2.mp4,b\nhttp://h/3.mp4,"c, quoted"\n\nhttp://h/4.mp4,d\n"http://h/5.mp4,e\n';
    const r = readInputList(csv, '/lists/q.csv');
    expect(r.entries.map((e) => [e.raw, e.list.label, e.list.row])).toEqual([
      ['http://h/1.mp4', 'a', 2],
      ['http://h/3.mp4', 'c, quoted', 5],
      ['http://h/4.mp4', 'd', 7],
    ]);
    expect(r.problems.map((p) => `${p.raw}: ${p.message}`)).toEqual([
      'q.csv row 4: not a readable CSV row: a quote opened on this line is not closed on it',
      'q.csv row 8: not a readable CSV row: a quote opened on this line is not closed on it',
    ]);
  });

  it('a row with a stray character after its closing quote is a problem of that row only', () => {
    const r = readInputList('url,label\nhttp://h/1.mp4,"a"x\nhttp://h/2.mp4,b\n', '/lists/s.csv');
    expect(r.entries.map((e) => e.raw)).toEqual(['http://h/2.mp4']);
    expect(r.problems).toEqual([{ raw: 's.csv row 2', message: expect.stringMatching(/^not a readable CSV row: Invalid Closing Quote: got "x" instead of delimiter/) }]);
  });

  it('names the line a person sees (comments and blank lines count), and keeps a # inside a row as data', () => {
    const csv = 'url,label\n# a comment\n\nhttp://h/hash%23name.mp4,C# basics\nhttp://h/a.mp4#t=3,x\nclips/a.mp4,bad,5,1\n';
    const withTimes = csv.replace('url,label', 'url,label,start,end');
    const r = readInputList(withTimes, '/lists/c.csv');
    expect(r.entries).toEqual([
      { raw: 'http://h/hash%23name.mp4', list: { file: '/lists/c.csv', row: 4, label: 'C# basics' } },
      { raw: 'http://h/a.mp4#t=3', list: { file: '/lists/c.csv', row: 5, label: 'x' } },
    ]);
    expect(r.problems.map((p) => `${p.raw}: ${p.message}`)).toEqual(['c.csv row 6: end (1) must be after start (5)']);
  });

  it('downloads, trims (copy on a keyframe, re-encode off one), labels as list categories', async () => {
    const { sources, ctx, mediaDir } = setup('list1');
    const listFile = path.join(t.dir, 'train.csv');
    writeFileSync(listFile, `url,label,start,end,split\n${server.base}/clip.mp4,surfing,1,3,train\n${server.base}/clip.mp4,waving,1.25,2.75,val\n${path.join(t.dir, 'clip.mp4')},local one,,,test\n`);
    const { items, problems } = await expandInputs([], [listFile], { videoExtensions: ['mp4'], sniffContent: true, followSymlinks: false });
    expect(problems).toEqual([]);
    expect(items.map((i) => i.key)).toEqual([`${server.base}/clip.mp4#t=1,3`, `${server.base}/clip.mp4#t=1.25,2.75`, path.join(t.dir, 'clip.mp4')]);
    const copy = await acquire(sources, items[0]!, ctx);
    expect(copy.source.list).toMatchObject({ label: 'surfing', split: 'train', start: 1, end: 3, trim: 'copy' });
    expect(copy.categories).toEqual([{ name: 'surfing', source: 'list' }]);
    expect(Math.abs((await durationOf(copy.path)) - 2)).toBeLessThan(0.15);
    expect(path.basename(copy.path)).toBe('clip_000001_000003.mp4');
    const re = await acquire(sources, items[1]!, ctx);
    expect(re.source.list?.trim).toBe('reencode');
    expect(Math.abs((await durationOf(re.path)) - 1.5)).toBeLessThan(0.15);
    const local = await acquire(sources, items[2]!, ctx);
    expect(local.source.list?.trim).toBeUndefined();
    expect(local.storage).toBe('reference');
    expect(local.categories).toEqual([{ name: 'local one', source: 'list' }]);
    // The full-length downloads were only a means to the clips.
    expect(readdirSync(mediaDir).filter((f) => !f.startsWith('.')).sort()).toEqual(['clip_000001.250_000002.750.mp4', 'clip_000001_000003.mp4']);
  });
});

describe('labelled lists, a row past the end', () => {
  it('a start past the end of the video is E_TRIM, not a clip with no frame in it', async () => {
    const { sources, ctx, mediaDir } = setup('list-past');
    const listFile = path.join(t.dir, 'past.csv');
    writeFileSync(listFile, `url,label,start,end\n${path.join(t.dir, 'clip.mp4')},late,100,102\n`);
    const { items } = await expandInputs([], [listFile], { videoExtensions: ['mp4'], sniffContent: true, followSymlinks: false });
    await expect(acquire(sources, items[0]!, ctx)).rejects.toMatchObject({ code: 'E_TRIM', message: expect.stringMatching(/gave an empty clip \(is start past the end\?\)/) });
    expect(existsSync(mediaDir) ? readdirSync(mediaDir).filter((f) => !f.startsWith('.')) : []).toEqual([]);
  });
});

describe('local files', () => {
  it('copy mode: two files with the same bytes copied at once each get their own copy', async () => {
    const big = Buffer.alloc(32 << 20, 7);
    const a = path.join(t.dir, 'twin-a.mp4');
    const b = path.join(t.dir, 'twin-b.mp4');
    writeFileSync(a, big);
    writeFileSync(b, big);
    const copy = setup('loc-twins', { Sources: { LocalMode: 'copy' } });
    const item = (f: string): InputItem => ({ key: f, raw: f, kind: 'local', path: f });
    const [ca, cb] = await Promise.all([acquire(copy.sources, item(a), copy.ctx), acquire(copy.sources, item(b), copy.ctx)]);
    expect(ca.path).not.toBe(cb.path);
    for (const c of [ca, cb]) expect(statSync(c.path).size).toBe(big.length);
    expect(readdirSync(path.join(copy.mediaDir, '.partial'))).toEqual([]);
  });

  it('reference, link and copy modes', async () => {
    const file = path.join(t.dir, 'clip.mp4');
    const item: InputItem = { key: file, raw: file, kind: 'local', path: file };
    const ref = setup('loc-ref', { Sources: { LocalMode: 'reference' } });
    expect((await acquire(ref.sources, item, ref.ctx)).path).toBe(file);
    const link = setup('loc-link', { Sources: { LocalMode: 'link' } });
    const l = await acquire(link.sources, item, link.ctx);
    expect(l.storage).toBe('link');
    expect(statSync(l.path).ino).toBe(statSync(file).ino);
    const again = await acquire(link.sources, item, link.ctx);
    expect(again.path).toBe(l.path);
    const copy = setup('loc-copy', { Sources: { LocalMode: 'copy' } });
    const c = await acquire(copy.sources, item, copy.ctx);
    expect(c.storage).toBe('copy');
    expect(statSync(c.path).ino).not.toBe(statSync(file).ino);
    expect(sha256(readFileSync(c.path))).toBe(sha256(clip));
    expect(existsSync(path.join(copy.mediaDir, '.partial')) ? readdirSync(path.join(copy.mediaDir, '.partial')) : []).toEqual([]);
  });
});
