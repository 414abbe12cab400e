import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { AppError, QueryError, describeError, type Video } from '../core/index.js';
import type { SearchQuery, SortKey, VideoStore } from '../store/index.js';
import { WEB_PAGE } from './web-page.js';

const VIDEO_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.ogv': 'video/ogg',
};

/** The fields a result list needs; the whole record is one more request away. */
export function summarize(v: Video): Record<string, unknown> {
  return {
    id: v.id,
    name: path.basename(v.file.path),
    title: v.source.title ?? v.metadata?.containerTags.title ?? null,
    sourceKind: v.source.kind,
    durationSec: v.metadata?.durationSec ?? null,
    width: v.metadata?.width ?? null,
    height: v.metadata?.height ?? null,
    codec: v.metadata?.videoCodec ?? null,
    hasAudio: v.metadata ? v.metadata.audio !== null : null,
    sceneCount: v.scenes.length,
    thumbnail: v.scenes.some((s) => s.keyframe) ? `/api/videos/${v.id}/keyframes/${v.scenes.find((s) => s.keyframe)!.index}` : null,
    tags: v.tags.map((t) => t.name),
    categories: v.categories.map((c) => c.name),
    description: v.ai?.description ?? null,
    failedStages: Object.entries(v.stages).filter(([, s]) => s.status === 'failed').map(([n]) => n),
  };
}

function intParam(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  // digits only, as `limit:` in a query: Number() would also take '1e2', '0x10' and ' 5'
  const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new QueryError(`${name} must be a whole number from ${min} to ${max}`, 0);
  return n;
}

/**
 * Serves a file with HTTP Range support, so a browser can seek to a scene without downloading the whole video.
 * Revalidated on every use by its size and time (a 304 when unchanged): keyframes are rewritten under the same
 * names when a video is processed again, and an hour of caching showed the old ones.
 */
async function sendFile(file: string, type: string, header: (name: string) => string | undefined): Promise<Response> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return Response.json({ error: 'the file is no longer on disk' }, { status: 404 });
  const etag = `W/"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
  const headers: Record<string, string> = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'private, no-cache', etag, 'last-modified': info.mtime.toUTCString() };
  const known = header('if-none-match');
  if (known && known.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return new Response(null, { status: 304, headers: { etag, 'cache-control': headers['cache-control']! } });
  const rangeHeader = header('range');
  const m = rangeHeader ? /^bytes=(\d*)-(\d*)$/i.exec(rangeHeader.trim()) : null;
  // a range whose last byte comes before its first is invalid, and an invalid range is ignored (RFC 9110 14.2)
  if (m && (m[1] || m[2]) && !(m[1] && m[2] && Number(m[2]) < Number(m[1]))) {
    let start = m[1] ? Number(m[1]) : info.size - Number(m[2]);
    let end = m[1] && m[2] ? Number(m[2]) : info.size - 1;
    start = Math.max(0, start);
    end = Math.min(end, info.size - 1);
    if (start > end) return new Response(null, { status: 416, headers: { 'content-range': `bytes */${info.size}` } });
    const body = Readable.toWeb(createReadStream(file, { start, end })) as unknown as ReadableStream;
    return new Response(body, { status: 206, headers: { ...headers, 'content-range': `bytes ${start}-${end}/${info.size}`, 'content-length': String(end - start + 1) } });
  }
  const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream;
  return new Response(body, { status: 200, headers: { ...headers, 'content-length': String(info.size) } });
}

/** The host name of a Host header (`name:port`, `[v6]:port`), lower case. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
}

export interface HttpApiOptions {
  /**
   * Answer only requests addressed to this machine by a loopback name (`localhost`, `127.0.0.1`, `[::1]`), as
   * `serve` does when it listens on a loopback address: a web page elsewhere could otherwise point a name of
   * its own at 127.0.0.1 (DNS rebinding) and read the library and its videos through the browser.
   */
  loopbackOnly?: boolean;
}

/** Whether an address to listen on is a loopback one (then only this machine can connect). */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a === 'localhost' || a === '::1' || a === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * The HTTP API and the web page over one store. Only paths that records name are ever served: a request can
 * never choose a file.
 */
export function createHttpApi(store: VideoStore, options: HttpApiOptions = {}): Hono {
  const api = new Hono();

  api.onError((err, c) => {
    if (err instanceof QueryError) return c.json({ error: err.message, column: err.column }, 400);
    // 503 says "try again": only for what may pass (a busy database, a dropped connection)
    if (err instanceof AppError && err.retryable) return c.json({ error: describeError(err), code: err.code }, 503);
    return c.json({ error: describeError(err), ...(err instanceof AppError ? { code: err.code } : {}) }, 500);
  });
  api.notFound((c) => c.json({ error: `no such path: ${c.req.path}` }, 404));

  if (options.loopbackOnly) {
    api.use(async (c, next) => {
      const host = c.req.header('host');
      if (host !== undefined && !isLoopback(hostName(host))) return c.json({ error: `this server answers only to localhost, 127.0.0.1 or [::1], not ${host}` }, 403);
      await next();
    });
  }

  api.get('/', (c) => c.html(WEB_PAGE));
  api.get('/api/health', async (c) => c.json({ ok: true, backend: store.kind, videos: await store.count() }));

  api.get('/api/search', async (c) => {
    const q: SearchQuery = {};
    const text = c.req.query('q')?.trim();
    if (text) q.text = text;
    const limit = intParam(c.req.query('limit'), 'limit', 1, 1000);
    const offset = intParam(c.req.query('offset'), 'offset', 0, 10_000_000);
    if (limit !== undefined) q.limit = limit;
    if (offset !== undefined) q.offset = offset;
    const cursor = c.req.query('cursor');
    if (cursor) q.cursor = cursor;
    if (cursor && offset !== undefined) throw new QueryError('cursor and offset: give one (the cursor already says where the page starts)', 0);
    const sort = c.req.query('sort');
    if (sort) q.sort = sort as SortKey;
    const result = await store.search(q);
    return c.json({
      total: result.total,
      hits: result.hits.map((h) => ({ score: h.score, highlight: h.highlight ?? null, ...summarize(h.video) })),
      facets: result.facets,
      nextCursor: result.nextCursor ?? null,
    });
  });

  const record = async (id: string) => {
    if (!/^[0-9a-f]{8,64}$/i.test(id)) return null;
    return store.get(id.toLowerCase());
  };

  api.get('/api/videos/:id', async (c) => {
    const v = await record(c.req.param('id'));
    return v ? c.json(v) : c.json({ error: 'no such video' }, 404);
  });

  api.get('/api/videos/:id/file', async (c) => {
    const v = await record(c.req.param('id'));
    if (!v) return c.json({ error: 'no such video' }, 404);
    const type = VIDEO_TYPES[path.extname(v.file.path).toLowerCase()] ?? 'application/octet-stream';
    return sendFile(v.file.path, type, (name) => c.req.header(name));
  });

  api.get('/api/videos/:id/keyframes/:index', async (c) => {
    const v = await record(c.req.param('id'));
    const scene = v?.scenes.find((s) => String(s.index) === c.req.param('index'));
    if (!scene?.keyframe) return c.json({ error: 'no such keyframe' }, 404);
    return sendFile(scene.keyframe, 'image/jpeg', (name) => c.req.header(name));
  });

  api.get('/api/videos/:id/contact-sheet', async (c) => {
    const v = await record(c.req.param('id'));
    if (!v?.contactSheet) return c.json({ error: 'no contact sheet' }, 404);
    return sendFile(v.contactSheet, 'image/jpeg', (name) => c.req.header(name));
  });

  return api;
}
