import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { startServe } from '../helpers/serve.js';
import { inlineDisposition } from '../../src/server/index.js';

const t = tempDir();
const data = path.join(t.dir, 'data');
let stop: (() => void) | undefined;
let base = '';
let stderr: () => string = () => '';
let ids: string[] = [];

beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'surfing_beach.mp4'), { seconds: 2, width: 320, height: 240, audio: true });
  await makeTestVideo(path.join(t.dir, 'city-night.mp4'), { seconds: 1, width: 640, height: 360, source: 'smptebars' });
  const r = await runCli(['process', t.dir, '--json', '--data-dir', data]);
  ids = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId).map((x) => x.videoId);
  ({ base, stop, stderr } = await startServe(data));
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

  it('sends security headers: a CSP allowing the page\'s own script by hash and nothing from elsewhere, nosniff, no HSTS', async () => {
    const page = await fetch(`${base}/`);
    const html = await page.text();
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const { createHash } = await import('node:crypto');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'self'/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    for (const r of [page, await fetch(`${base}/api/search?q=beach`), await fetch(`${base}/api/videos/${ids[0]}/contact-sheet`)]) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('strict-transport-security')).toBeNull();
      // the user's own pages on another port may show keyframes and videos
      expect(r.headers.get('cross-origin-resource-policy')).toBeNull();
    }
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

  it('a request refused for its Host name carries the security headers, as every answer does', async () => {
    const port = Number(new URL(base).port);
    const [status, headers] = await new Promise<[number | undefined, http.IncomingHttpHeaders]>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve([res.statusCode, res.headers]);
      }).on('error', reject);
    });
    expect(status).toBe(403);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('revalidates files by an ETag: 304 while unchanged, the new bytes once a keyframe is rewritten', async () => {
    const v = await (await fetch(`${base}/api/videos/${ids[0]}`)).json();
    const url = `${base}/api/videos/${ids[0]}/keyframes/${v.scenes[0].index}`;
    const first = await fetch(url);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"/);
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

describe('videodex serve: methods, validators and the files it will send', () => {
  it('answers another method on a route with 405 and Allow, and HEAD with the headers alone', async () => {
    for (const [method, p] of [['POST', '/api/search?q=a'], ['DELETE', `/api/videos/${ids[0]}`], ['PUT', `/api/videos/${ids[0]}/file`], ['OPTIONS', '/']] as const) {
      const res = await fetch(`${base}${p}`, { method });
      expect(res.status, `${method} ${p}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect((await res.json()).error).toMatch(new RegExp(`^${method} is not allowed here`));
    }
    const head = await fetch(`${base}/api/videos/${ids[0]}/file`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('honours a range only for the file its If-Range names (a stale validator gets the whole file)', async () => {
    const url = `${base}/api/videos/${ids[0]}/file`;
    const first = await fetch(url);
    const etag = first.headers.get('etag')!;
    const size = (await first.arrayBuffer()).byteLength;
    // strong, so that If-Range can match it
    expect(etag).toMatch(/^"[0-9a-z]+-[0-9a-z]+"$/);
    const resumed = await fetch(url, { headers: { range: 'bytes=10-19', 'if-range': etag } });
    expect([resumed.status, (await resumed.arrayBuffer()).byteLength]).toEqual([206, 10]);
    const byDate = await fetch(url, { headers: { range: 'bytes=10-19', 'if-range': first.headers.get('last-modified')! } });
    expect([byDate.status, (await byDate.arrayBuffer()).byteLength]).toEqual([206, 10]);
    for (const stale of ['"stale"', 'W/"stale"', 'Thu, 01 Jan 1970 00:00:00 GMT']) {
      const res = await fetch(url, { headers: { range: 'bytes=10-19', 'if-range': stale } });
      expect([res.status, (await res.arrayBuffer()).byteLength], stale).toEqual([200, size]);
    }
    // a weak tag from an older server still revalidates
    expect((await fetch(url, { headers: { 'if-none-match': `W/${etag}` } })).status).toBe(304);
  });

  it('refuses a search URL it would misread: bad percent-encoding, a repeated or unknown parameter (each answered another question with a 200)', async () => {
    const refused = async (query: string) => {
      const res = await fetch(`${base}/api/search?${query}`);
      return [res.status, (await res.json()).error];
    };
    expect(await refused('q=caf%C3%A9%ff')).toEqual([400, 'q: not valid percent-encoding of UTF-8 text']);
    expect(await refused('q=%ED%A0%80')).toEqual([400, 'q: not valid percent-encoding of UTF-8 text']);
    expect(await refused('q=surfing&q=city')).toEqual([400, 'q given more than once: give it once']);
    expect(await refused('limit=1&limit=2')).toEqual([400, 'limit given more than once: give it once']);
    expect(await refused('qeury=surfing')).toEqual([400, "unknown parameter 'qeury': a search takes q, limit, offset, cursor, sort"]);
    expect(await refused('q%ff=surfing')).toEqual([400, 'a parameter name: not valid percent-encoding of UTF-8 text']);
    // what a browser or URLSearchParams sends still reads as ever: '+' and %20 are spaces, UTF-8 is decoded
    const total = async (query: string) => (await (await fetch(`${base}/api/search?${query}`)).json()).total;
    expect(await total('q=surfing+height%3A%3C%3D240&limit=5&')).toBe(1);
    expect(await total(`q=${encodeURIComponent('surfing beach')}`)).toBe(1);
    expect(await total('q=&sort=')).toBe(2);
  });

  it('counts query error columns from the first character sent, and a bad offset says its bounds', async () => {
    const body = await (await fetch(`${base}/api/search?q=${encodeURIComponent('  durtion:5')}`)).json();
    expect(body.column).toBe(3);
    const off = await (await fetch(`${base}/api/search?q=${encodeURIComponent('offset:99999999')}`)).json();
    expect(off.error).toBe("offset: '99999999' is not a whole number from 0 to 10000000 at 1:8");
    const sorted = await fetch(`${base}/api/search?sort=constructor`);
    expect(sorted.status).toBe(400);
    expect(await (await fetch(`${base}/api/search?q=${encodeURIComponent(`id:${ids[0]!.toUpperCase()}`)}`)).json()).toMatchObject({ total: 1 });
  });

  it('sends a video only while its path holds the file indexed: not a link to another file, nor other bytes of the same size', async () => {
    const fs = await import('node:fs');
    const v = await (await fetch(`${base}/api/videos/${ids[0]}`)).json();
    const file: string = v.file.path;
    const url = `${base}/api/videos/${ids[0]}/file`;
    const status = async () => {
      const res = await fetch(url);
      const body = res.status === 200 ? null : await res.json();
      if (res.status === 200) await res.arrayBuffer();
      return [res.status, body?.error ?? null];
    };
    const refused = [404, 'the file on disk is not the one indexed (it changed since); run videodex process on it again'];
    expect(await status()).toEqual([200, null]);
    const kept = `${file}.kept`;
    fs.renameSync(file, kept);
    try {
      // a link to a file outside the library
      fs.symlinkSync(path.resolve('package.json'), file);
      expect(await status()).toEqual(refused);
      fs.unlinkSync(file);
      // other bytes of exactly the indexed size, through a link or in place
      const same = path.join(t.dir, 'same-size.bin');
      fs.writeFileSync(same, Buffer.alloc(v.file.bytes, 0x41));
      fs.symlinkSync(same, file);
      expect(await status()).toEqual(refused);
      fs.unlinkSync(file);
      fs.copyFileSync(same, file);
      expect(await status()).toEqual(refused);
      fs.unlinkSync(file);
      // the indexed bytes in a new file (another inode and time): hashed once, then served
      fs.copyFileSync(kept, file);
      expect(await status()).toEqual([200, null]);
      expect(await status()).toEqual([200, null]);
    } finally {
      fs.rmSync(file, { force: true });
      fs.renameSync(kept, file);
    }
    // the file the pipeline acquired, back in place: served without hashing it again
    expect(await status()).toEqual([200, null]);
  });
});

describe('videodex serve: what is at a record path', () => {
  it('refuses a named pipe put in place of a video at once, and goes on sending other files (each one held a file thread for good)', async () => {
    const fs = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const v = await (await fetch(`${base}/api/videos/${ids[0]}`)).json();
    const file: string = v.file.path;
    const kept = `${file}.kept`;
    fs.renameSync(file, kept);
    try {
      execFileSync('mkfifo', [file]);
      // more requests than libuv has file threads (4)
      const answers = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const res = await fetch(`${base}/api/videos/${ids[0]}/file`, { signal: AbortSignal.timeout(30_000) });
          return [res.status, (await res.json()).error];
        }),
      );
      for (const a of answers) expect(a).toEqual([404, 'the file is no longer on disk']);
      const other = await (await fetch(`${base}/api/videos/${ids[1]}`)).json();
      const jpg = await fetch(`${base}/api/videos/${ids[1]}/keyframes/${other.scenes[0].index}`, { signal: AbortSignal.timeout(30_000) });
      expect(jpg.status).toBe(200);
      await jpg.arrayBuffer();
    } finally {
      fs.rmSync(file, { force: true });
      fs.renameSync(kept, file);
    }
  }, 90_000);
});

describe('videodex serve: keyframes and contact sheets', () => {
  it('sends only JPEGs, never through a link: a keyframe path naming another file sent it as an image', async () => {
    const fs = await import('node:fs');
    const v = await (await fetch(`${base}/api/videos/${ids[1]}`)).json();
    const sheet = `${base}/api/videos/${ids[1]}/contact-sheet`;
    const urls: Array<[string, string]> = [[`${base}/api/videos/${ids[1]}/keyframes/${v.scenes[0].index}`, v.scenes[0].keyframe], [sheet, v.contactSheet]];
    for (const [url, file] of urls) {
      const answer = async () => {
        const res = await fetch(url);
        return [res.status, res.status === 200 ? (await res.arrayBuffer(), null) : (await res.json()).error];
      };
      expect(await answer(), url).toEqual([200, null]);
      const kept = `${file}.kept`;
      fs.renameSync(file, kept);
      try {
        fs.symlinkSync(path.resolve('package.json'), file);
        expect(await answer(), url).toEqual([404, 'the file is no longer on disk']);
        fs.unlinkSync(file);
        // a link even to the keyframe itself: the pipeline never writes one
        fs.symlinkSync(kept, file);
        expect((await answer())[0], url).toBe(404);
        fs.unlinkSync(file);
        fs.copyFileSync(path.resolve('package.json'), file);
        expect(await answer(), url).toEqual([404, 'not a JPEG image; run videodex process on its video again']);
      } finally {
        fs.rmSync(file, { force: true });
        fs.renameSync(kept, file);
      }
      expect(await answer(), url).toEqual([200, null]);
    }
  });
});

describe('videodex serve: requests the HTTP layer refuses', () => {
  /** A raw request on a socket of its own, and the whole answer (the server closes the connection). */
  async function raw(request: Buffer): Promise<string> {
    const { port } = new URL(base);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write(request);
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('latin1');
  }
  const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: string };

  it('takes a Host header in capitals (host names are case-insensitive)', async () => {
    const { port } = new URL(base);
    const answer = await raw(Buffer.from(`GET /api/health HTTP/1.1\r\nHost: LOCALHOST:${port}\r\nConnection: close\r\n\r\n`));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"ok":true');
  });

  it('answers an oversized request or bytes that are not HTTP with a JSON error, as every other error', async () => {
    const long = await fetch(`${base}/api/search?q=${'a'.repeat(17_000)}`);
    expect(long.status).toBe(431);
    expect(await long.json()).toEqual({ error: 'the request line and headers are over 16 kB' });
    const bytes = await raw(Buffer.concat([Buffer.from('GET /api/search?q='), Buffer.from([0xff, 0x01]), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')]));
    expect(bytes).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(bytes).error).toMatch(/^(not a valid HTTP request|bad request)/);
  });
});

describe('videodex serve: the address it listens on', () => {
  it('listening beyond loopback, answers IP addresses, localhost, its own name and [Server] AllowedHosts, and no other name (DNS rebinding)', async () => {
    const { writeFileSync } = await import('node:fs');
    const { hostname } = await import('node:os');
    const ini = path.join(t.dir, 'allowed-hosts.ini');
    writeFileSync(ini, '[Server]\nAllowedHosts = videos.example.lan, .home.lan\n');
    const open = await startServe(data, ['--host', '0.0.0.0', '--config', ini]);
    try {
      const port = Number(new URL(open.base).port);
      const status = (host: string) =>
        new Promise<[number, string]>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/api/health', headers: { host } }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d));
            res.on('end', () => resolve([res.statusCode ?? 0, res.statusCode === 200 ? '' : JSON.parse(body).error]));
          }).on('error', reject);
        });
      // what a browser sends when another site's name was pointed at this machine
      for (const host of ['evil.example', `evil.example:${port}`, 'videos.example.lan.evil.example', 'xhome.lan']) {
        const [code, error] = await status(host);
        expect(code, host).toBe(403);
        expect(error, host).toMatch(new RegExp(`^this server answers only to an IP address, localhost, .*or a name in \\[Server\\] AllowedHosts, not ${host.replace(/\./g, '\\.')}$`));
      }
      for (const host of [`127.0.0.1:${port}`, `192.168.1.20:${port}`, `[fe80::1]:${port}`, `localhost:${port}`, `${hostname()}:${port}`, `VIDEOS.example.lan:${port}`, `nas.home.lan:${port}`]) {
        expect((await status(host))[0], host).toBe(200);
      }
    } finally {
      open.stop();
      await open.exited;
    }
  });

  it('warns on stderr when it listens beyond this machine (no password, no TLS), and not on the loopback default', async () => {
    expect(stderr()).not.toMatch(/warning/);
    const open = await startServe(data, ['--host', '0.0.0.0']);
    try {
      expect(open.stderr()).toMatch(/^videodex: warning: listening on 0\.0\.0\.0, beyond this machine: anyone who can reach port \d+ can search the library and download its videos \(no password, no TLS\); set \[Server\] Token \(VIDEODEX_SERVER_TOKEN\) for a password, or --host 127\.0\.0\.1 keeps it to this machine$/m);
      const { port } = new URL(open.base);
      expect(await (await fetch(`http://127.0.0.1:${port}/api/health`)).json()).toMatchObject({ ok: true, videos: 2 });
    } finally {
      open.stop();
      await open.exited;
    }
  });
});

describe('videodex serve: the type a video is sent as', () => {
  it('is its container as probed, not its name: a WebM or Matroska named .mp4 was sent as video/mp4', async () => {
    const dir = path.join(t.dir, 'typed');
    const typedData = path.join(t.dir, 'typed-data');
    (await import('node:fs')).mkdirSync(dir, { recursive: true });
    // -f picks the container whatever the name says
    await makeTestVideo(path.join(dir, 'vp9-named.mp4'), { seconds: 1, width: 160, height: 120, codec: 'libvpx-vp9', extra: ['-f', 'webm'] });
    await makeTestVideo(path.join(dir, 'h264-in-matroska.mp4'), { seconds: 1, width: 160, height: 120, extra: ['-f', 'matroska'] });
    await makeTestVideo(path.join(dir, 'mp4-named.webm'), { seconds: 1, width: 160, height: 120, source: 'smptebars', extra: ['-f', 'mp4'] });
    await makeTestVideo(path.join(dir, 'quicktime.mov'), { seconds: 1, width: 160, height: 120, source: 'rgbtestsrc' });
    const r = await runCli(['process', dir, '--json', '--data-dir', typedData]);
    const made = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId);
    expect(made).toHaveLength(4);
    const served = await startServe(typedData);
    try {
      const types: Record<string, string | null> = {};
      for (const x of made) {
        const res = await fetch(`${served.base}/api/videos/${x.videoId}/file`, { method: 'HEAD' });
        expect(res.status, x.input).toBe(200);
        types[path.basename(x.input)] = res.headers.get('content-type');
      }
      expect(types).toEqual({ 'vp9-named.mp4': 'video/webm', 'h264-in-matroska.mp4': 'video/x-matroska', 'mp4-named.webm': 'video/mp4', 'quicktime.mov': 'video/quicktime' });
    } finally {
      served.stop();
      await served.exited;
    }
  });
});

describe('videodex serve: the name a saved video gets', () => {
  it('sends a video inline under its own name (a browser saved it as "file"), a hostile name made harmless', async () => {
    for (const id of ids) {
      const name = path.basename((await (await fetch(`${base}/api/videos/${id}`)).json()).file.path);
      const res = await fetch(`${base}/api/videos/${id}/file`, { method: 'HEAD' });
      expect(res.headers.get('content-disposition')).toBe(`inline; filename="${name}"; filename*=UTF-8''${name}`);
    }
    expect(inlineDisposition('/v/東京 "night" (1)*\\\r\nx%.mp4')).toBe(
      `inline; filename="__ _night_ (1)*___x_.mp4"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC%20%22night%22%20%281%29%2A%5C%0D%0Ax%25.mp4`,
    );
    expect(inlineDisposition('/v/a\ud800b.mp4')).toBe('inline; filename="a_b.mp4"');
  });
});

describe('videodex serve: other origins', () => {
  it('sends no CORS headers, as documented: another origin\'s script cannot read the library; its preflight is a 405', async () => {
    const origin = 'http://evil.example';
    for (const p of ['/api/health', '/api/search?q=', `/api/videos/${ids[0]}`]) {
      const res = await fetch(`${base}${p}`, { headers: { origin } });
      expect(res.status, p).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), p).toBeNull();
      await res.arrayBuffer();
    }
    const preflight = await fetch(`${base}/api/search`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
