import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configWith, createLogger } from '../../src/core/index.js';
import { SNIFF_BYTES } from '../../src/sources/content-sniff.js';
import { downloadHttp, partPathFor, type HttpDownloadOptions } from '../../src/sources/http-download.js';
import { HttpSource } from '../../src/sources/http-source.js';
import { AcquireError } from '../../src/sources/source-errors.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { serveBytes, sha256, startTestServer, videoLikeBytes } from '../helpers/http-server.js';

const BODY = videoLikeBytes(256 * 1024);
const HALF = 128 * 1024;

let tmp: { dir: string; cleanup: () => void };
let agent: Agent;
let servers: Array<{ close(): Promise<void> }>;

/** A real video (ffmpeg -f lavfi), for the content checks: real bytes, not a made-up header. */
const fixtures = tempDir('videodex-http-video-');
let realMp4: Buffer;
beforeAll(async () => {
  realMp4 = readFileSync(await makeTestVideo(path.join(fixtures.dir, 'real.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 }));
});
afterAll(() => fixtures.cleanup());

/** A login wall: what servers answer 200 with when a signed link expired or a session is needed. */
const LOGIN_PAGE = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>\n<body><form action="/login" method="post"><input name="user"><input type="password" name="pass"></form></body></html>\n`;

/** Nothing of a refused body is kept: no visible file, no `.part` and no resume state. */
function nothingKept(): void {
  expect(visibleFiles()).toEqual([]);
  const partial = path.join(tmp.dir, '.partial');
  expect(existsSync(partial) ? readdirSync(partial) : []).toEqual([]);
}

beforeEach(() => {
  tmp = tempDir('videodex-http-');
  agent = new Agent({ connectTimeout: 2000, headersTimeout: 2000, bodyTimeout: 700 });
  servers = [];
});
afterEach(async () => {
  for (const s of servers) await s.close();
  await agent.close();
  tmp.cleanup();
});

async function server(routes: Parameters<typeof startTestServer>[0]) {
  const s = await startTestServer(routes);
  servers.push(s);
  return s;
}

function options(url: string, extra: Partial<HttpDownloadOptions> = {}): HttpDownloadOptions {
  return {
    url,
    dir: tmp.dir,
    partDir: path.join(tmp.dir, '.partial'),
    dispatcher: agent,
    retries: 3,
    backoffMs: 5,
    maxRetryWaitMs: 5000,
    maxRedirects: 5,
    maxBytes: 0,
    userAgent: 'videodex-test',
    resumeStateFrom: 0, // the bodies here are small; resume them as if they were large
    ...(hashThreadFrom !== undefined ? { hashThreadFrom } : {}),
    ...extra,
  };
}

async function failure(p: Promise<unknown>): Promise<AcquireError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AcquireError);
    const e = err as AcquireError;
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected the download to fail');
}

/** Files a person would see in the media folder: never a .part. */
function visibleFiles(): string[] {
  return readdirSync(tmp.dir).filter((f) => !f.startsWith('.'));
}

/** Every fault is tried with the digest taken inline and on the hashing thread (used for bodies of 8 MiB and more). */
let hashThreadFrom: number | undefined;

describe.each([
  { mode: 'inline hash', threadFrom: undefined },
  { mode: 'hashing thread', threadFrom: 0 },
])('HTTP download faults (real server on 127.0.0.1), $mode', ({ threadFrom }) => {
  beforeEach(() => {
    hashThreadFrom = threadFrom;
  });

  it('404: fails at once, not retried, nothing left behind', async () => {
    const s = await server({});
    const err = await failure(downloadHttp(options(`${s.base}/missing.mp4`)));
    expect(err.code).toBe('E_HTTP_404');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^HTTP 404 Not Found$/);
    expect(s.hitsOf('/missing.mp4')).toHaveLength(1);
    expect(visibleFiles()).toEqual([]);
  });

  it('the same URL fetched by two inputs at once (list rows cutting clips from one video): both get the whole file', async () => {
    const s = await server({ '/shared.mp4': (req, res) => setTimeout(() => serveBytes(res, req, BODY), 50) });
    const [a, b] = await Promise.all([downloadHttp(options(`${s.base}/shared.mp4`)), downloadHttp(options(`${s.base}/shared.mp4`))]);
    expect(a.path).not.toBe(b.path);
    for (const r of [a, b]) expect(readFileSync(r.path).equals(BODY)).toBe(true);
    expect(s.hitsOf('/shared.mp4')).toHaveLength(2);
  });

  it('a media folder (and its .partial) removed during a run is made again by the next download', async () => {
    const s = await server({ '/a.mp4': (req, res) => serveBytes(res, req, BODY), '/b.mp4': (req, res) => serveBytes(res, req, BODY) });
    const dir = path.join(tmp.dir, 'media');
    for (const resumeStateFrom of [0, 1 << 30]) {
      const first = await downloadHttp(options(`${s.base}/a.mp4`, { dir, partDir: path.join(dir, '.partial'), resumeStateFrom }));
      expect(first.bytes).toBe(BODY.length);
      rmSync(dir, { recursive: true, force: true });
      const second = await downloadHttp(options(`${s.base}/b.mp4`, { dir, partDir: path.join(dir, '.partial'), resumeStateFrom }));
      expect(second.path).toBe(path.join(dir, 'b.mp4'));
      expect(second.bytes).toBe(BODY.length);
      expect(readFileSync(second.path).equals(BODY)).toBe(true);
      expect(existsSync(path.join(dir, '.partial'))).toBe(true);
      rmSync(path.join(dir, '.partial'), { recursive: true, force: true });
      const third = await downloadHttp(options(`${s.base}/a.mp4`, { dir, partDir: path.join(dir, '.partial'), resumeStateFrom }));
      expect(third.sha256).toBe(sha256(BODY));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('403: fails at once, not retried', async () => {
    const s = await server({ '/secret.mp4': (_q, res) => void res.writeHead(403).end() });
    const err = await failure(downloadHttp(options(`${s.base}/secret.mp4`)));
    expect(err.code).toBe('E_HTTP_403');
    expect(err.message).toMatch(/HTTP 403 Forbidden/);
    expect(s.hitsOf('/secret.mp4')).toHaveLength(1);
  });

  it('500 then 200: retried and finished', async () => {
    const s = await server({
      '/flaky.mp4': (req, res, n) => (n === 1 ? void res.writeHead(500).end('oops') : serveBytes(res, req, BODY)),
    });
    const retries: string[] = [];
    const r = await downloadHttp(options(`${s.base}/flaky.mp4`, { onRetry: (e) => retries.push(e.code) }));
    expect(r.attempts).toBe(2);
    expect(retries).toEqual(['E_HTTP_5XX']);
    expect(r.sha256).toBe(sha256(BODY));
    expect(path.basename(r.path)).toBe('flaky.mp4');
    expect(readFileSync(r.path).equals(BODY)).toBe(true);
  });

  it('429 with Retry-After: 1 waits about a second, then finishes', async () => {
    const s = await server({
      '/busy.mp4': (req, res, n) => (n === 1 ? void res.writeHead(429, { 'retry-after': '1' }).end() : serveBytes(res, req, BODY)),
    });
    const t0 = Date.now();
    // A large backoff base proves the wait came from Retry-After, not the backoff.
    const r = await downloadHttp(options(`${s.base}/busy.mp4`, { backoffMs: 60_000 }));
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(5000);
    expect(r.attempts).toBe(2);
    expect(r.sha256).toBe(sha256(BODY));
  });

  it('429 asking for longer than MaxRetryWaitSec fails with a clear, retryable error', async () => {
    const s = await server({ '/slow.mp4': (_q, res) => void res.writeHead(429, { 'retry-after': '3600' }).end() });
    const err = await failure(downloadHttp(options(`${s.base}/slow.mp4`)));
    expect(err.code).toBe('E_RETRY_AFTER_TOO_LONG');
    expect(err.retryable).toBe(true);
    expect(s.hitsOf('/slow.mp4')).toHaveLength(1);
  });

  it('connection reset after half the body: the retry resumes with Range and the file is whole', async () => {
    const s = await server({
      '/reset.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"v1"', 'accept-ranges': 'bytes' });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, BODY, { etag: '"v1"' });
      },
    });
    const r = await downloadHttp(options(`${s.base}/reset.mp4`));
    expect(r.attempts).toBe(2);
    const second = s.hitsOf('/reset.mp4')[1]!;
    expect(second.range).toMatch(/^bytes=\d+-$/);
    expect(second.ifRange).toBe('"v1"');
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(r.sha256).toBe(sha256(BODY));
    expect(readFileSync(r.path).equals(BODY)).toBe(true);
  });

  it('a server that stalls mid-body hits the idle timeout, and the retry finishes', async () => {
    const s = await server({
      '/stall.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"s"' });
          res.write(BODY.subarray(0, HALF)); // then nothing, forever
        } else serveBytes(res, req, BODY, { etag: '"s"' });
      },
    });
    const codes: string[] = [];
    const r = await downloadHttp(options(`${s.base}/stall.mp4`, { onRetry: (e) => codes.push(e.code) }));
    expect(codes).toEqual(['E_IDLE_TIMEOUT']);
    expect(r.sha256).toBe(sha256(BODY));
  });

  it('a server that always stalls fails with the idle-timeout line after the retries', async () => {
    const s = await server({
      '/stuck.mp4': (_q, res) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length) });
        res.write(BODY.subarray(0, 1000));
      },
    });
    const err = await failure(downloadHttp(options(`${s.base}/stuck.mp4`, { retries: 1 })));
    expect(err.code).toBe('E_IDLE_TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/stalled.*gave up after 2 attempts/);
    expect(visibleFiles()).toEqual([]);
  });

  it('a server that never answers the request hits the connect (headers) timeout', async () => {
    const s = await server({ '/silent.mp4': () => undefined });
    const err = await failure(downloadHttp(options(`${s.base}/silent.mp4`, { retries: 0 })));
    expect(err.code).toBe('E_CONNECT_TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('no response within [Sources] ConnectTimeoutSec');
  });

  it('Content-Length larger than the body: retried, then failed as truncated; the .part is never shown as a video', async () => {
    const s = await server({
      '/short.mp4': (req, res) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length + 5000) });
        res.end(BODY, () => req.socket.destroy());
      },
    });
    const err = await failure(downloadHttp(options(`${s.base}/short.mp4`, { retries: 2 })));
    expect(err.code).toBe('E_TRUNCATED');
    expect(err.message).toMatch(/(closed the connection|ended after)/);
    expect(s.hitsOf('/short.mp4')).toHaveLength(3);
    expect(visibleFiles()).toEqual([]);
  });

  it('a body sent with Content-Encoding gzip, deflate or br although identity was asked: saved decoded, byte for byte', async () => {
    const encoders = { gzip: gzipSync, 'x-gzip': gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;
    const s = await server(
      Object.fromEntries(
        Object.entries(encoders).map(([enc, encode]) => [
          `/${enc}.mp4`,
          (req: IncomingMessage, res: ServerResponse) => {
            expect(req.headers['accept-encoding']).toBe('identity');
            const z = encode(BODY);
            res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': enc, 'content-length': String(z.length), etag: '"e1"', 'accept-ranges': 'bytes' }).end(z);
          },
        ]),
      ),
    );
    for (const enc of Object.keys(encoders)) {
      const r = await downloadHttp(options(`${s.base}/${enc}.mp4`));
      expect(r.bytes).toBe(BODY.length);
      expect(r.sha256).toBe(sha256(BODY));
      expect(readFileSync(r.path).equals(BODY)).toBe(true);
    }
    expect(readdirSync(path.join(tmp.dir, '.partial'))).toEqual([]);
  });

  it('an encoded body cut short is fetched again whole; one that is not what its encoding says, or an unknown encoding, fails at once', async () => {
    const z = gzipSync(BODY);
    const s = await server({
      // the connection closes half way through a body without a length: only the decoder can tell
      '/cut.mp4': (req, res, n) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'gzip', etag: '"e2"', 'accept-ranges': 'bytes' });
        if (n === 1) res.end(z.subarray(0, z.length >> 1));
        else res.end(z);
      },
      '/fake-br.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'br' }).end(BODY),
      '/zstd.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'zstd' }).end(BODY),
      '/page.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'gzip' }).end(gzipSync(LOGIN_PAGE)),
    });
    const r = await downloadHttp(options(`${s.base}/cut.mp4`));
    expect(readFileSync(r.path).equals(BODY)).toBe(true);
    expect(s.hitsOf('/cut.mp4').map((h) => h.range)).toEqual([undefined, undefined]);
    rmSync(r.path);
    const bad = await failure(downloadHttp(options(`${s.base}/fake-br.mp4`)));
    expect([bad.code, bad.retryable]).toEqual(['E_ENCODING', false]);
    expect(bad.message).toMatch(/^the body is not the compressed data its Content-Encoding says/);
    expect(s.hitsOf('/fake-br.mp4')).toHaveLength(1);
    const unknown = await failure(downloadHttp(options(`${s.base}/zstd.mp4`)));
    expect([unknown.code, unknown.message]).toEqual(['E_ENCODING', 'the server sent the body encoded as "zstd" (Content-Encoding), which cannot be decoded']);
    const page = await failure(downloadHttp(options(`${s.base}/page.mp4`)));
    expect(page.code).toBe('E_NOT_VIDEO');
    nothingKept();
  });

  it('an HTML page served as text/html or application/octet-stream: refused at once, naming the type; nothing kept', async () => {
    const page = Buffer.from(LOGIN_PAGE);
    const s = await server({
      '/page.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(page.length) }).end(page),
      '/disguised.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(page.length) }).end(page),
      '/api.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('{"error": "expired"}'),
    });
    for (const [route, type] of [['/page.mp4', 'text/html'], ['/disguised.mp4', 'application/octet-stream']] as const) {
      const err = await failure(downloadHttp(options(`${s.base}${route}?sig=secret`)));
      expect(err.code).toBe('E_NOT_VIDEO');
      expect(err.retryable).toBe(false);
      expect(err.page).toBe(true); // HttpSource still offers a page to yt-dlp
      // the URL without its query string (signed links carry credentials there)
      expect(err.message).toBe(`the server sent an HTML page, not a video (${type})`);
      expect(s.hitsOf(route)).toHaveLength(1);
      nothingKept();
    }
    const json = await failure(downloadHttp(options(`${s.base}/api.mp4`)));
    expect(json.message).toBe('the server sent JSON, not a video (application/octet-stream)');
    nothingKept();
  });

  it('pages, XML and text the old first-chunk check let through are refused too', async () => {
    const s = await server({
      // a few bytes at a time: the first chunk alone ("<") says nothing
      '/trickle.mp4': (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(LOGIN_PAGE.slice(0, 1), () => setTimeout(() => res.end(LOGIN_PAGE.slice(1)), 30));
      },
      '/commented.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(`<!-- ${'build info '.repeat(80)} -->\n${LOGIN_PAGE}`),
      '/s3.mp4': (_q, res) =>
        void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>'),
      '/untyped.mp4': (_q, res) => void res.writeHead(200).end('Access denied: this link has expired. Ask the owner for a new one.\n'),
      '/moved.mp4': (_q, res) => void res.writeHead(302, { location: '/login' }).end(),
      '/login': (_q, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(LOGIN_PAGE),
    });
    const trickle = await failure(downloadHttp(options(`${s.base}/trickle.mp4`)));
    expect(trickle.message).toBe('the server sent an HTML page, not a video (application/octet-stream)');
    const commented = await failure(downloadHttp(options(`${s.base}/commented.mp4`)));
    expect(commented.message).toMatch(/^the server sent an HTML page, not a video \(application\/octet-stream\)$/);
    const xml = await failure(downloadHttp(options(`${s.base}/s3.mp4`)));
    expect(xml.message).toMatch(/^the server sent an XML document, not a video \(application\/octet-stream\)$/);
    expect(xml.page).toBeUndefined();
    const text = await failure(downloadHttp(options(`${s.base}/untyped.mp4`)));
    expect(text.message).toMatch(/^the server sent text, not a video \(no Content-Type\)$/);
    const moved = await failure(downloadHttp(options(`${s.base}/moved.mp4`)));
    expect(moved.message).toBe(`the server sent an HTML page, not a video (text/html; redirected to ${s.base}/login)`);
    for (const e of [trickle, commented, xml, text, moved]) {
      expect(e.code).toBe('E_NOT_VIDEO');
      expect(e.retryable).toBe(false);
    }
    nothingKept();
  });

  it('text or XML served as video/mp4 (a static server types a text file named .mp4 by its name) is refused, and no file is kept', async () => {
    // it was saved, made a record and failed at the probe, where a folder scan skips the same file
    const s = await server({
      '/notes.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4' }).end('hello, this is a text file and not a video\n'),
      '/s3.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4' }).end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>'),
    });
    const text = await failure(downloadHttp(options(`${s.base}/notes.mp4`)));
    expect(text.message).toBe('the server sent text, not a video (video/mp4)');
    const xml = await failure(downloadHttp(options(`${s.base}/s3.mp4`)));
    expect(xml.message).toBe('the server sent an XML document, not a video (video/mp4)');
    for (const e of [text, xml]) expect(e).toMatchObject({ code: 'E_NOT_VIDEO', retryable: false });
    nothingKept();
  });

  it('an empty body is refused whatever its Content-Type, and no file is kept', async () => {
    const s = await server({
      '/untyped.mp4': (_q, res) => void res.writeHead(200).end(),
      '/video.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '0' }).end(),
      '/chunked.mp4': (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end();
      },
    });
    const untyped = await failure(downloadHttp(options(`${s.base}/untyped.mp4`)));
    expect(untyped.message).toBe('the server sent an empty body, not a video (no Content-Type)');
    const typed = await failure(downloadHttp(options(`${s.base}/video.mp4`)));
    expect(typed.message).toBe('the server sent an empty body, not a video (video/mp4)');
    const chunked = await failure(downloadHttp(options(`${s.base}/chunked.mp4`)));
    expect(chunked.message).toBe('the server sent an empty body, not a video (application/octet-stream)');
    for (const e of [untyped, typed, chunked]) expect(e).toMatchObject({ code: 'E_NOT_VIDEO', retryable: false });
    nothingKept();
  });

  it('a real video is never refused, whatever the Content-Type says', async () => {
    const s = await server({
      '/octet.mp4': (req, res) => serveBytes(res, req, realMp4, { headers: { 'content-type': 'application/octet-stream' } }),
      '/plain.mp4': (req, res) => serveBytes(res, req, realMp4, { headers: { 'content-type': 'text/plain' } }),
      '/untyped': (_q, res) => void res.writeHead(200).end(realMp4),
    });
    for (const route of ['/octet.mp4', '/plain.mp4', '/untyped']) {
      const r = await downloadHttp(options(`${s.base}${route}`));
      expect(r.sha256).toBe(sha256(realMp4));
      expect(readFileSync(r.path).equals(realMp4)).toBe(true);
    }
    expect(visibleFiles().sort()).toEqual(['octet.mp4', 'plain.mp4', 'untyped.mp4']);
  });

  it('a resumed download is not judged again: its Range body starts mid-file, whatever bytes and type it has', async () => {
    // a video whose second half happens to start like a page, served by a server that says text/plain
    const body = Buffer.concat([realMp4, Buffer.from(LOGIN_PAGE), videoLikeBytes(64 * 1024, 4)]);
    const cut = realMp4.length;
    expect(cut).toBeGreaterThan(SNIFF_BYTES); // the first attempt gets far enough to be judged, so its bytes are kept
    const s = await server({
      '/resume.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length), etag: '"r"', 'accept-ranges': 'bytes' });
          res.write(body.subarray(0, cut), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, body, { etag: '"r"', headers: { 'content-type': 'text/plain' } });
      },
    });
    const r = await downloadHttp(options(`${s.base}/resume.mp4`));
    expect(r.attempts).toBe(2);
    expect(s.hitsOf('/resume.mp4')[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(r.sha256).toBe(sha256(body));
  });

  it('a body that breaks off before its first bytes were judged is fetched again from zero, not resumed past the check', async () => {
    const s = await server({
      '/early.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BODY.length), etag: '"e"', 'accept-ranges': 'bytes' });
          res.write(BODY.subarray(0, 100), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, BODY, { etag: '"e"' });
      },
    });
    const r = await downloadHttp(options(`${s.base}/early.mp4`));
    expect(r.attempts).toBe(2);
    expect(s.hitsOf('/early.mp4')[1]!.range).toBeUndefined();
    expect(r.sha256).toBe(sha256(BODY));
  });

  it('credentials in the URL are sent as Basic auth, to their origin only (not after a redirect elsewhere)', async () => {
    const seen: Array<[string, string | undefined]> = [];
    const other = await server({
      '/elsewhere.mp4': (req, res) => {
        seen.push(['other', req.headers.authorization]);
        serveBytes(res, req, BODY);
      },
    });
    const s = await server({
      '/private.mp4': (req, res) => {
        seen.push(['private', req.headers.authorization]);
        if (req.headers.authorization !== `Basic ${Buffer.from('ann:p@ss w').toString('base64')}`) return void res.writeHead(401).end();
        serveBytes(res, req, BODY);
      },
      '/moved.mp4': (req, res) => {
        seen.push(['moved', req.headers.authorization]);
        res.writeHead(302, { location: '/private.mp4' }).end();
      },
      '/away.mp4': (req, res) => {
        seen.push(['away', req.headers.authorization]);
        res.writeHead(302, { location: `${other.base}/elsewhere.mp4` }).end();
      },
    });
    const withCreds = (route: string) => `${s.base.replace('http://', 'http://ann:p%40ss%20w@')}${route}`;
    expect((await downloadHttp(options(withCreds('/private.mp4')))).sha256).toBe(sha256(BODY));
    expect((await downloadHttp(options(withCreds('/moved.mp4')))).sha256).toBe(sha256(BODY));
    expect((await downloadHttp(options(withCreds('/away.mp4')))).sha256).toBe(sha256(BODY));
    const basic = `Basic ${Buffer.from('ann:p@ss w').toString('base64')}`;
    expect(seen).toEqual([['private', basic], ['moved', basic], ['private', basic], ['away', basic], ['other', undefined]]);
  });

  it('redirect loop: named, not retried', async () => {
    const s = await server({
      '/a.mp4': (_q, res) => void res.writeHead(302, { location: '/b.mp4' }).end(),
      '/b.mp4': (_q, res) => void res.writeHead(301, { location: '/a.mp4' }).end(),
      '/hop1': (_q, res) => void res.writeHead(302, { location: '/hop2' }).end(),
      '/hop2': (_q, res) => void res.writeHead(307, { location: '/final.mp4' }).end(),
      '/final.mp4': (req, res) => serveBytes(res, req, BODY),
    });
    const err = await failure(downloadHttp(options(`${s.base}/a.mp4`)));
    expect(err.code).toBe('E_REDIRECT_LOOP');
    expect(err.message).toMatch(/redirect loop .*a\.mp4 -> .*b\.mp4 -> .*a\.mp4/);
    expect(s.hitsOf('/a.mp4')).toHaveLength(1);
    const ok = await downloadHttp(options(`${s.base}/hop1`));
    expect(path.basename(ok.path)).toBe('final.mp4');
    expect(ok.finalUrl).toBe(`${s.base}/final.mp4`);
    const tooMany = await failure(downloadHttp(options(`${s.base}/hop1`, { maxRedirects: 1 })));
    expect(tooMany.code).toBe('E_TOO_MANY_REDIRECTS');
  });

  it('a body over MaxBytes: refused from Content-Length, or cut off mid-stream when there is none', async () => {
    const s = await server({
      '/big.mp4': (req, res) => serveBytes(res, req, BODY),
      '/chunked.mp4': (_q, res) => {
        res.writeHead(200, { 'content-type': 'video/mp4' });
        res.end(BODY);
      },
    });
    const declared = await failure(downloadHttp(options(`${s.base}/big.mp4`, { maxBytes: 100_000 })));
    expect(declared.code).toBe('E_TOO_LARGE');
    expect(declared.message).toMatch(/262144 bytes is over the 100000-byte limit/);
    const streamed = await failure(downloadHttp(options(`${s.base}/chunked.mp4`, { maxBytes: 100_000 })));
    expect(streamed.code).toBe('E_TOO_LARGE');
    expect(streamed.retryable).toBe(false);
    expect(s.hitsOf('/chunked.mp4')).toHaveLength(1);
    expect(visibleFiles()).toEqual([]);
  });

  it('Content-Disposition ../../etc/passwd: the file stays in the media folder, under a safe unique name', async () => {
    const s = await server({
      '/x': (req, res) => serveBytes(res, req, BODY, { headers: { 'content-disposition': 'attachment; filename="../../etc/passwd"' } }),
      '/y': (req, res) => serveBytes(res, req, BODY, { headers: { 'content-disposition': "attachment; filename*=UTF-8''..%2F..%2Fclip%00.mp4" } }),
    });
    const a = await downloadHttp(options(`${s.base}/x`));
    const b = await downloadHttp(options(`${s.base}/x`));
    const c = await downloadHttp(options(`${s.base}/y`));
    for (const r of [a, b, c]) expect(path.dirname(r.path)).toBe(tmp.dir);
    expect(path.basename(a.path)).toBe('passwd.mp4');
    expect(path.basename(b.path)).toBe('passwd-1.mp4');
    expect(path.basename(c.path)).toBe('clip_.mp4');
  });

  it('a name whose extension is not a video one (a download script, a server\'s .sh) gets the video\'s extension added', async () => {
    const named = (disposition: string | null, type = 'video/mp4') => (req: IncomingMessage, res: ServerResponse) =>
      serveBytes(res, req, BODY, { headers: { 'content-type': type, ...(disposition ? { 'content-disposition': disposition } : {}) } });
    const s = await server({
      '/get.php': named(null, 'video/webm'),
      '/script': named('attachment; filename="clip.sh"'),
      '/episode': named('attachment; filename="Season 1. Episode 2"'),
      '/movie': named('attachment; filename="Movie.MKV"', 'application/octet-stream'),
    });
    const names: string[] = [];
    for (const route of ['/get.php?id=3', '/script', '/episode', '/movie']) names.push(path.basename((await downloadHttp(options(`${s.base}${route}`))).path));
    expect(names).toEqual(['get.php.webm', 'clip.sh.mp4', 'Season 1. Episode 2.mp4', 'Movie.mkv']);
  });

  it('small bodies keep no resume state by default: a retry fetches them whole', async () => {
    const s = await server({
      '/small.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"sm"' });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, BODY, { etag: '"sm"' });
      },
    });
    const r = await downloadHttp(options(`${s.base}/small.mp4`, { resumeStateFrom: undefined }));
    expect(s.hitsOf('/small.mp4')[1]!.range).toBeUndefined();
    expect(r.sha256).toBe(sha256(BODY));
  });

  it('a large body replaced by a small one between attempts: its resume state does not stay behind', async () => {
    const small = videoLikeBytes(64 * 1024, 5);
    const s = await server({
      '/replaced.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"large"', 'accept-ranges': 'bytes' });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, small, { etag: '"small"' }); // If-Range "large" no longer matches: a 200
      },
    });
    // the first body is large enough to keep resume state, the second is not
    const r = await downloadHttp(options(`${s.base}/replaced.mp4`, { resumeStateFrom: 128 * 1024 }));
    expect(s.hitsOf('/replaced.mp4')[1]!.ifRange).toBe('"large"');
    expect(r.sha256).toBe(sha256(small));
    expect(readdirSync(path.join(tmp.dir, '.partial'))).toEqual([]);
  });

  it('a 206 from the middle of the file to a request without Range is refused at once, not saved as the start of the video', async () => {
    const s = await server({
      '/middle.mp4': (_q, res) =>
        void res
          .writeHead(206, { 'content-type': 'video/mp4', etag: '"m"', 'content-range': `bytes ${HALF}-${BODY.length - 1}/${BODY.length}`, 'content-length': String(BODY.length - HALF) })
          .end(BODY.subarray(HALF)),
    });
    const err = await failure(downloadHttp(options(`${s.base}/middle.mp4`)));
    expect([err.code, err.retryable, err.message]).toEqual(['E_HTTP_STATUS', false, `the server answered a part of the file (206, bytes ${HALF}-${BODY.length - 1}) to a request for all of it`]);
    expect(s.hitsOf('/middle.mp4')).toHaveLength(1);
    nothingKept();
  });

  it('a server that ignores Range: the retry restarts from zero and the file is right', async () => {
    const s = await server({
      '/norange.mp4': (req, res, n) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"n"' });
        if (n === 1) res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        else res.end(BODY); // ignores the Range header
      },
    });
    const r = await downloadHttp(options(`${s.base}/norange.mp4`));
    expect(s.hitsOf('/norange.mp4')[1]!.range).toMatch(/^bytes=/);
    expect(r.sha256).toBe(sha256(BODY));
    expect(statSync(r.path).size).toBe(BODY.length);
  });

  it('the file changed on the server between attempts: If-Range makes it restart with the new content', async () => {
    const v2 = videoLikeBytes(200 * 1024, 2);
    const s = await server({
      '/changing.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"one"' });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, v2, { etag: '"two"' });
      },
    });
    const r = await downloadHttp(options(`${s.base}/changing.mp4`));
    expect(s.hitsOf('/changing.mp4')[1]!.ifRange).toBe('"one"');
    expect(r.sha256).toBe(sha256(v2));
  });

  it.each([
    { validators: 'no ETag or Last-Modified', etag: null },
    { validators: 'only a weak ETag (not allowed in If-Range)', etag: 'W/"w"' },
  ])('$validators: an interrupted body is fetched again whole, never spliced with a changed file', async ({ etag }) => {
    // the same length, other bytes: only a validator could tell the two versions apart
    const v2 = videoLikeBytes(BODY.length, 2);
    const s = await server({
      '/noval.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), 'accept-ranges': 'bytes', ...(etag ? { etag } : {}) });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        } else serveBytes(res, req, v2, { etag });
      },
    });
    const r = await downloadHttp(options(`${s.base}/noval.mp4`));
    expect(r.attempts).toBe(2);
    expect(s.hitsOf('/noval.mp4')[1]).toMatchObject({ range: undefined, ifRange: undefined });
    expect(r.resumedFrom).toBe(0);
    expect(r.sha256).toBe(sha256(v2));
  });

  it('a 416 to the resume Range (the file shrank, If-Range ignored): the part is dropped and the file fetched whole', async () => {
    const smaller = videoLikeBytes(HALF / 2, 4);
    const s = await server({
      '/shrunk.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"big"', 'accept-ranges': 'bytes' });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
        } else if (req.headers.range) {
          // past the end of the new file, and this server does not look at If-Range
          res.writeHead(416, { 'content-range': `bytes */${smaller.length}` }).end();
        } else serveBytes(res, req, smaller, { etag: '"small"' });
      },
    });
    const r = await downloadHttp(options(`${s.base}/shrunk.mp4`, { retries: 1 }));
    const hits = s.hitsOf('/shrunk.mp4');
    expect(hits[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(hits[2]!.range).toBeUndefined();
    expect(hits).toHaveLength(3);
    expect(r.sha256).toBe(sha256(smaller));
    expect(readdirSync(path.join(tmp.dir, '.partial'))).toEqual([]);
  });

  it('a server that answers each Range with a short 206: every chunk is progress, not a failed attempt', async () => {
    const CHUNK = 40 * 1024;
    const s = await server({
      '/capped.mp4': (req, res) => {
        const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        if (!m) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"c"', 'accept-ranges': 'bytes' });
          // time for the client to read the chunk before the connection goes, on a loaded machine too
          res.write(BODY.subarray(0, CHUNK), () => setTimeout(() => req.socket.destroy(), 500));
          return;
        }
        // a valid 206 for the first CHUNK bytes of the range only, without the ETag
        const start = Number(m[1]);
        const end = Math.min(BODY.length, start + CHUNK) - 1;
        res.writeHead(206, { 'content-type': 'video/mp4', 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${BODY.length}` });
        res.end(BODY.subarray(start, end + 1));
      },
    });
    const waits: number[] = [];
    const r = await downloadHttp(options(`${s.base}/capped.mp4`, { retries: 1, onRetry: (_e, _n, wait) => waits.push(wait) }));
    expect(r.sha256).toBe(sha256(BODY));
    const hits = s.hitsOf('/capped.mp4');
    expect(hits).toHaveLength(Math.ceil(BODY.length / CHUNK));
    expect(hits.slice(1).every((h) => h.ifRange === '"c"')).toBe(true);
    expect(waits).toEqual(hits.slice(1).map(() => 0));
  });

  it('a server that sends nothing new after a first part still fails once the retries are used up', async () => {
    const s = await server({
      '/stuckrange.mp4': (req, res) => {
        if (!req.headers.range) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BODY.length), etag: '"x"', 'accept-ranges': 'bytes' });
          res.write(BODY.subarray(0, HALF), () => setTimeout(() => req.socket.destroy(), 50));
          return;
        }
        // the headers of a good 206, then the connection closes before any byte
        res.writeHead(206, { 'content-type': 'video/mp4', etag: '"x"', 'content-length': String(BODY.length - HALF), 'content-range': `bytes ${HALF}-${BODY.length - 1}/${BODY.length}` });
        res.flushHeaders();
        setTimeout(() => req.socket.destroy(), 50);
      },
    });
    const err = await failure(downloadHttp(options(`${s.base}/stuckrange.mp4`, { retries: 1 })));
    expect(err.code).toBe('E_TRUNCATED');
    // the first attempt brought HALF (progress); the two after it brought nothing and used up Retries = 1
    expect(err.message).toMatch(/gave up after 3 attempts/);
    expect(s.hitsOf('/stuckrange.mp4')).toHaveLength(3);
  });

  it('SIGKILL mid-download, then resume: the finished file has the original sha256', async () => {
    const big = videoLikeBytes(2 * 1024 * 1024, 3);
    const s = await server({
      '/kill.mp4': (req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(big.length), etag: '"k"', 'accept-ranges': 'bytes' });
          res.write(big.subarray(0, 1024 * 1024)); // then stall: the child is killed while waiting
        } else serveBytes(res, req, big, { etag: '"k"' });
      },
    });
    const url = `${s.base}/kill.mp4`;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/download-child.ts', import.meta.url)), url, tmp.dir, ...(hashThreadFrom !== undefined ? [String(hashThreadFrom)] : [])], {
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    const part = partPathFor(path.join(tmp.dir, '.partial'), url);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        if (statSync(part).size >= 1024 * 1024) break;
      } catch {
        // not there yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(statSync(part).size).toBe(1024 * 1024);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(visibleFiles()).toEqual([]);

    const r = await downloadHttp(options(url));
    expect(s.hitsOf('/kill.mp4')[1]!.range).toBe(`bytes=${1024 * 1024}-`);
    expect(r.resumedFrom).toBe(1024 * 1024);
    expect(r.sha256).toBe(sha256(big));
    expect(sha256(readFileSync(r.path))).toBe(sha256(big));
    expect(visibleFiles()).toEqual(['kill.mp4']);
  });

  it('two processes downloading one URL into one media folder: the second waits for the first, both files are whole', async () => {
    const big = videoLikeBytes(2 * 1024 * 1024, 5);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const s = await server({
      '/both.mp4': (req, res, n) => {
        if (n > 1) return serveBytes(res, req, big, { etag: '"b"' });
        // the child's download: half, then the rest once the test says so
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(big.length), etag: '"b"', 'accept-ranges': 'bytes' });
        res.write(big.subarray(0, 1024 * 1024));
        void held.then(() => res.end(big.subarray(1024 * 1024)));
      },
    });
    const url = `${s.base}/both.mp4`;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/download-child.ts', import.meta.url)), url, tmp.dir, ...(hashThreadFrom !== undefined ? [String(hashThreadFrom)] : [])], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const part = partPathFor(path.join(tmp.dir, '.partial'), url);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(part) && statSync(part).size >= 1024 * 1024)) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(part).size).toBe(1024 * 1024);
    // this process asks while the child is half way: it must neither resume the child's .part nor write into it
    const mine = downloadHttp(options(url));
    await new Promise((r) => setTimeout(r, 300));
    expect(s.hitsOf('/both.mp4')).toHaveLength(1);
    release();
    const r = await mine;
    expect(await exited).toBe(0);
    expect(s.hitsOf('/both.mp4').map((h) => h.range)).toEqual([undefined, undefined]);
    expect(r.sha256).toBe(sha256(big));
    expect(visibleFiles().sort()).toEqual(['both-1.mp4', 'both.mp4']);
    for (const f of visibleFiles()) expect(sha256(readFileSync(path.join(tmp.dir, f)))).toBe(sha256(big));
    expect(readdirSync(path.join(tmp.dir, '.partial'))).toEqual([]);
  });

  it('a lock left by a process that is gone (its pid not running here, or untouched for a minute) is taken over; a live one is waited on', async () => {
    const s = await server({ '/locked.mp4': (req, res) => serveBytes(res, req, BODY) });
    const url = `${s.base}/locked.mp4`;
    const lock = `${partPathFor(path.join(tmp.dir, '.partial'), url)}.lock`;
    mkdirSync(path.dirname(lock), { recursive: true });
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(lock, JSON.stringify({ pid: dead.pid, host: hostname(), token: 'x' }));
    expect((await downloadHttp(options(url))).sha256).toBe(sha256(BODY));
    expect(existsSync(lock)).toBe(false);
    // another machine's lock: judged by its age
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere.invalid', token: 'y' }));
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    expect((await downloadHttp(options(url))).sha256).toBe(sha256(BODY));
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere.invalid', token: 'z' }));
    const stop = new AbortController();
    const waiting = downloadHttp(options(url, { signal: stop.signal }));
    await new Promise((r) => setTimeout(r, 400));
    expect(s.hitsOf('/locked.mp4')).toHaveLength(2);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    expect(existsSync(lock)).toBe(true);
  });

  it('through HttpSource: failed items fail alone, the others finish, per-host limit holds', async () => {
    let active = 0;
    let peak = 0;
    const s = await server({
      '/ok1.mp4': (req, res) => slow(req, res),
      '/ok2.mp4': (req, res) => slow(req, res),
      '/ok3.mp4': (req, res) => slow(req, res),
      '/gone.mp4': (_q, res) => void res.writeHead(404).end(),
      '/login.mp4': (_q, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(LOGIN_PAGE),
    });
    function slow(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        serveBytes(res, req, BODY);
      }, 100);
    }
    const config = configWith({ Sources: { PerHost: 2, Retries: 1, RetryBackoffMs: 5 } });
    const source = new HttpSource(config);
    const ctx = { config, logger: createLogger({ file: null, level: 'silent', secrets: [] }), signal: new AbortController().signal, mediaDir: tmp.dir, progress: () => {} };
    const names = ['ok1.mp4', 'gone.mp4', 'login.mp4', 'ok2.mp4', 'ok3.mp4'];
    const results = await Promise.allSettled(names.map((n) => source.acquire({ key: `${s.base}/${n}`, raw: n, kind: 'url', url: `${s.base}/${n}` }, ctx)));
    await source.close();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
      code: 'E_NOT_VIDEO',
      retryable: false,
      message: 'the server sent an HTML page, not a video (application/octet-stream)',
    });
    expect(peak).toBeLessThanOrEqual(2);
    expect(visibleFiles().sort()).toEqual(['ok1.mp4', 'ok2.mp4', 'ok3.mp4']);
  });
});
