import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, hitNumber: number) => void;

/** A real HTTP server on 127.0.0.1, port 0, with per-path handlers and a log of requests. */
export async function startTestServer(routes: Record<string, Handler>): Promise<{
  base: string;
  hits: Hit[];
  hitsOf(path: string): Hit[];
  close(): Promise<void>;
}> {
  const hits: Hit[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    hits.push({ path: p, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const handler = routes[p];
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    handler(req, res, hits.filter((h) => h.path === p).length);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    hitsOf: (p) => hits.filter((h) => h.path === p),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Bytes that look like the start of an MP4 (so no sniffing mistakes them for text), then random. */
export function videoLikeBytes(size: number, seed = 1): Buffer {
  const buf = randomBytes(size);
  Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, seed & 0xff]).copy(buf, 0);
  return buf;
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/**
 * Serves `body` as a well-behaved server would: ETag, Accept-Ranges, 206 for `Range: bytes=N-` (and If-Range
 * honoured), 416 past the end. `etag: null` sends no ETag (a server without validators honours every Range).
 */
export function serveBytes(res: ServerResponse, req: IncomingMessage, body: Buffer, opts: { etag?: string | null; headers?: Record<string, string> } = {}): void {
  const etag = opts.etag === undefined ? `"${sha256(body).slice(0, 16)}"` : opts.etag;
  const base = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes', ...(etag !== null ? { etag } : {}), ...(opts.headers ?? {}) };
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (m && (!ifRange || ifRange === etag)) {
    const start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { ...base, 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { ...base, 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { ...base, 'content-length': String(body.length) });
  res.end(body);
}
