import { createHash } from 'node:crypto';
import { constants, open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { AppError, QueryError, describeError, type Logger, type Video } from '../core/index.js';
import { highlightParts, MAX_OFFSET, planQuery, type SearchQuery, type SortKey, type VideoStore } from '../store/index.js';
import { requireToken } from './access-token.js';
import { WEB_PAGE } from './web-page.js';

const VIDEO_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.ogv': 'video/ogg',
  '.ts': 'video/mp2t',
  '.m2ts': 'video/mp2t',
  '.mts': 'video/mp2t',
  '.mpg': 'video/mpeg',
  '.mpeg': 'video/mpeg',
  '.3gp': 'video/3gpp',
  '.avi': 'video/x-msvideo',
  '.flv': 'video/x-flv',
  '.wmv': 'video/x-ms-wmv',
};

/**
 * The types each ffprobe container family may be sent as, the first when the file's extension names none of them.
 * The bytes decide, not the name: a WebM saved as `.mp4` (a download whose server said only octet-stream) or a
 * Matroska renamed `.mp4` was sent as video/mp4, and a browser that trusts the type (Firefox) would not play it.
 */
const CONTAINER_TYPES: Array<[RegExp, string[]]> = [
  [/(^|,)(mov|mp4)(,|$)/, ['video/mp4', 'video/quicktime', 'video/3gpp']],
  [/(^|,)(matroska|webm)(,|$)/, ['video/webm', 'video/x-matroska']],
  [/^mpegts$/, ['video/mp2t']],
  [/^mpeg$/, ['video/mpeg']],
  [/^ogg$/, ['video/ogg']],
  [/^avi$/, ['video/x-msvideo']],
  [/^flv$/, ['video/x-flv']],
  [/^asf$/, ['video/x-ms-wmv']],
];

/** The Content-Type of a record's video: its container as probed, its extension when it was not probed. */
function videoType(v: Video): string {
  const byName = VIDEO_TYPES[path.extname(v.file.path).toLowerCase()];
  const container = v.metadata?.container.toLowerCase();
  const family = container ? CONTAINER_TYPES.find(([re]) => re.test(container))?.[1] : undefined;
  if (!family) return byName ?? 'application/octet-stream';
  if (byName && family.includes(byName)) return byName;
  // Matroska holding only what WebM allows plays as WebM in every browser; x-matroska in few
  if (family[0] === 'video/webm') return /^(vp8|vp9|av1)$/.test(v.metadata?.videoCodec ?? '') ? 'video/webm' : 'video/x-matroska';
  return family[0]!;
}

/**
 * `inline`, with the file's own name for a browser's "Save video as": the URL ends in /file, and that was the name
 * a saved video got. The plain `filename` is an ASCII stand-in for old clients; `filename*` is the name (RFC 8187).
 * Neither can carry a quote, backslash or control character of a hostile name into the header.
 */
export function inlineDisposition(file: string): string {
  const name = path.basename(file);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  let exact = '';
  try {
    // encodeURIComponent leaves ' ( ) * as they are, and RFC 8187 does not allow them unencoded
    exact = `; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)}`;
  } catch {
    // a lone surrogate has no UTF-8: the ASCII stand-in alone
  }
  return `inline; filename="${ascii}"${exact}`;
}

/** The routes and the methods each takes, for a 405 naming them when a path is one of them but the method is not. */
const ROUTES: Array<[RegExp, string]> = [
  [/^\/$/, 'GET, HEAD'],
  [/^\/api\/health$/, 'GET, HEAD'],
  [/^\/api\/search$/, 'GET, HEAD'],
  [/^\/api\/videos\/[^/]+$/, 'GET, HEAD'],
  [/^\/api\/videos\/[^/]+\/(file|contact-sheet)$/, 'GET, HEAD'],
  [/^\/api\/videos\/[^/]+\/keyframes\/[^/]+$/, 'GET, HEAD'],
  [/^\/api\/videos\/[^/]+\/tags$/, 'POST'],
  [/^\/login$/, 'POST'],
];

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

/** What `/api/search` takes; anything else in its query string is a mistake to say, not to ignore. */
const SEARCH_PARAMS = new Set(['q', 'limit', 'offset', 'cursor', 'sort']);

/**
 * The parameters of a search URL, each given at most once and decoded as UTF-8. hono's query() kept a value whose
 * percent-encoding is not UTF-8 as its raw text (`q=caf%C3%A9%ff` searched for that string), took the first of a
 * repeated name, and ignored unknown names (`?qeury=beach` answered the whole library): each a 200 that answered
 * another question than the one asked.
 */
function searchParams(url: string): Map<string, string> {
  const params = new Map<string, string>();
  const at = url.indexOf('?');
  if (at < 0) return params;
  const decode = (text: string, what: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      throw new QueryError(`${what}: not valid percent-encoding of UTF-8 text`, 0);
    }
  };
  for (const part of url.slice(at + 1).split('#')[0]!.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq), 'a parameter name');
    if (!SEARCH_PARAMS.has(name)) throw new QueryError(`unknown parameter '${name}': a search takes ${[...SEARCH_PARAMS].join(', ')}`, 0);
    if (params.has(name)) throw new QueryError(`${name} given more than once: give it once`, 0);
    params.set(name, decode(eq < 0 ? '' : part.slice(eq + 1), name));
  }
  return params;
}

/** Why an opened file may not be served (a one-line reason), or null when it may. */
type FileCheck = (file: FileHandle, info: Stats) => Promise<string | null>;

/**
 * Serves a file with HTTP Range support, so a browser can seek to a scene without downloading the whole video.
 * Revalidated on every use by its size and time (a 304 when unchanged): keyframes are rewritten under the same
 * names when a video is processed again, and an hour of caching showed the old ones. The file is opened first and
 * checked and sent through that one descriptor, so what was checked is what is sent, whatever the path names by
 * then. The ETag is strong (size and time, as nginx makes it), so `If-Range` can resume a download with it.
 */
async function sendFile(file: string, type: string, req: { method: string; header(name: string): string | undefined }, check?: FileCheck, options: { noFollow?: boolean; disposition?: string } = {}): Promise<Response> {
  const header = (name: string) => req.header(name);
  // O_NONBLOCK: a named pipe put at a record's path would otherwise hold open() until something wrote to it, and
  // with it one of libuv's four file threads; four such requests stopped every file the server sends, for good.
  // A regular file reads as ever; anything else is refused below.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0)).catch(() => null);
  if (!handle) return Response.json({ error: 'the file is no longer on disk' }, { status: 404 });
  let streaming = false;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return Response.json({ error: 'the file is no longer on disk' }, { status: 404 });
    const refused = check ? await check(handle, info) : null;
    if (refused) return Response.json({ error: refused }, { status: 404 });
    const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
    const lastModified = info.mtime.toUTCString();
    const headers: Record<string, string> = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'private, no-cache', etag, 'last-modified': lastModified };
    if (options.disposition) headers['content-disposition'] = options.disposition;
    const known = header('if-none-match');
    if (known && known.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) return new Response(null, { status: 304, headers: { etag, 'cache-control': headers['cache-control']! } });
    // a range is honoured only for the file its validator names (RFC 9110 13.1.5): an old copy's tail would
    // otherwise be spliced onto new bytes
    const ifRange = header('if-range')?.trim();
    const rangeHeader = ifRange === undefined || ifRange === etag || ifRange === lastModified ? header('range') : undefined;
    const m = rangeHeader ? /^bytes=(\d*)-(\d*)$/i.exec(rangeHeader.trim()) : null;
    let start = 0;
    let end = info.size - 1;
    let status = 200;
    // a range whose last byte comes before its first is invalid, and an invalid range is ignored (RFC 9110 14.2)
    if (m && (m[1] || m[2]) && !(m[1] && m[2] && Number(m[2]) < Number(m[1]))) {
      start = Math.max(0, m[1] ? Number(m[1]) : info.size - Number(m[2]));
      end = Math.min(m[1] && m[2] ? Number(m[2]) : info.size - 1, info.size - 1);
      if (start > end) return Response.json({ error: `no byte of the range is in the file (${info.size} bytes)` }, { status: 416, headers: { 'content-range': `bytes */${info.size}` } });
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
    }
    headers['content-length'] = String(end - start + 1);
    // HEAD: the headers alone (a body stream nobody reads would hold the descriptor until collected)
    if (info.size === 0 || req.method === 'HEAD') return new Response(null, { status, headers });
    const body = Readable.toWeb(handle.createReadStream({ start, end, autoClose: true })) as unknown as ReadableStream;
    streaming = true;
    return new Response(body, { status, headers });
  } finally {
    if (!streaming) await handle.close();
  }
}

/**
 * Whether an opened keyframe or contact sheet is a JPEG, as the pipeline writes them. Their paths are only strings in
 * the record (in a database other machines write, too), and any file they named was sent as an image: /etc/passwd
 * among them. With the link refused at open (O_NOFOLLOW: the pipeline never writes one), a file swapped in is
 * sent only when it is a JPEG.
 */
const jpegCheck: FileCheck = async (handle, info) => {
  const head = Buffer.alloc(3);
  const { bytesRead } = info.size >= 3 ? await handle.read(head, 0, 3, 0) : { bytesRead: 0 };
  return bytesRead === 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff ? null : 'not a JPEG image; run videodex process on its video again';
};

/** The SHA-256 of an opened file, read through its descriptor. */
async function sha256Of(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(handle.createReadStream({ start: 0, autoClose: false }), hash);
  return hash.digest('hex');
}

/**
 * Whether the file at a record's path is still the one indexed, so a path cannot be made to serve another file
 * (a symbolic link to /etc/passwd put in a video's place, in a folder others can write). Its size must be the
 * record's. A file the pipeline itself saw at that path (its acquisition row's size and time) is the indexed one;
 * any other is hashed once and compared with the record's SHA-256, the answer kept per file identity (device,
 * inode, size, time) and record hash while the server runs.
 */
function indexedFileCheck(store: VideoStore): (v: Video) => FileCheck {
  const verified = new Map<string, boolean>();
  // One check a file identity at a time: a player opens a video with several requests at once (and a page can
  // ask for it a hundred times), and each one read the whole file to hash it until the first had an answer.
  const checking = new Map<string, Promise<boolean>>();
  return (v) => async (handle, info) => {
    const changed = 'the file on disk is not the one indexed (it changed since); run videodex process on it again';
    if (info.size !== v.file.bytes) return changed;
    const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${v.file.sha256}`;
    let same = verified.get(identity);
    if (same === undefined) {
      let pending = checking.get(identity);
      if (!pending) {
        pending = (async () => {
          const row = await store.getInput(v.file.path);
          const ok = row?.status === 'done' && row.videoId === v.id && row.fileSize === info.size && row.fileMtimeMs === info.mtimeMs ? true : (await sha256Of(handle)) === v.file.sha256;
          if (verified.size >= 10_000) verified.clear();
          verified.set(identity, ok);
          return ok;
        })().finally(() => checking.delete(identity));
        checking.set(identity, pending);
      }
      same = await pending;
    }
    return same ? null : changed;
  };
}

/** The host name of a Host header (`name:port`, `[v6]:port`), lower case. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
}

export interface HttpApiOptions {
  /**
   * Answer only requests addressed to this machine by a loopback name (`localhost`, `127.x.x.x`, `[::1]`), as
   * `serve` does when it listens on a loopback address: a web page elsewhere could otherwise point a name of
   * its own at 127.0.0.1 (DNS rebinding) and read the library and its videos through the browser.
   */
  loopbackOnly?: boolean;
  /**
   * Host names answered besides loopback ones and, unless `loopbackOnly`, IP addresses: this machine's name and
   * `[Server] AllowedHosts` (`.home.lan` for its subdomains). Listening beyond loopback, any name was answered,
   * so DNS rebinding let any site the user visited read the library, not only the machines on its network.
   */
  hostNames?: readonly string[];
  /**
   * `[Server] Token`: when set, every request must carry it (see access-token.ts); beyond loopback the API had no
   * password at all, and whoever reached the port read the library and downloaded its videos.
   */
  token?: string;
  /** Tag edits from the web page (`POST /api/videos/:id/tags`); without it they are refused (403). */
  tagEditing?: TagEditing;
  /**
   * Where a request that failed (500, 503) is logged with its error and stack: the answer carries one line and no
   * stack, and without this nothing recorded what went wrong.
   */
  logger?: Logger;
}

/** A person's edit of one video's tags, as `videodex tag --add --remove --clear` makes it. */
export interface TagEdit {
  add?: string[];
  remove?: string[];
  clear?: boolean;
}

/** How the API edits tags, and whether it may. */
export interface TagEditing {
  /**
   * Keeps the edit on the record, re-tags it and resolves with the record as it is now (`App.editTags`). Throws an
   * AppError `E_BAD_TAG` (answered 400 with its message) for a name that is no tag name or is both added and removed.
   */
  edit(video: Video, edit: TagEdit): Promise<Video>;
  /** Whether edits are taken (see `editsAllowed`); refused with 403 otherwise. */
  allowed: boolean;
}

/**
 * Whether `serve` takes tag edits. Without a token the API has no password: on a loopback address only this machine
 * can reach it, beyond it anyone on the network could change the library's tags, so there only when
 * `[Server] AllowEdits` says so, or when `[Server] Token` is set (only those who know it get in at all).
 */
export function editsAllowed(listenHost: string, allowEdits: boolean, tokenSet = false): boolean {
  return allowEdits || tokenSet || isLoopback(listenHost);
}

/**
 * Whether an Origin header names the server the request was addressed to (its Host header). A browser sends Origin
 * with every POST; a page of another site posting to this server names its own origin, which a person's own page
 * never does. The scheme's default port is the same as none (`https://x` and Host `x`).
 */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    if ((o.protocol !== 'http:' && o.protocol !== 'https:') || o.pathname !== '/' || o.search || o.hash || o.username) return false;
    const h = new URL(`${o.protocol}//${host.trim()}`);
    return h.host === o.host && h.pathname === '/' && !h.username && !h.search;
  } catch {
    // "null" (a sandboxed frame, a file: page) or no URL at all: no origin of this server
    return false;
  }
}

/** A JSON body bigger than this is no tag edit. */
const MAX_EDIT_BYTES = 64 * 1024;
const EDIT_FIELDS = ['add', 'remove', 'clear'];

/** The edit a request body asks for, or the one-line reason it is not one. */
function tagEditOf(body: unknown): TagEdit | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object: {"add": [names], "remove": [names], "clear": true}';
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((k) => !EDIT_FIELDS.includes(k));
  if (unknown !== undefined) return `unknown field '${unknown}': the body takes add, remove and clear`;
  const edit: TagEdit = {};
  for (const key of ['add', 'remove'] as const) {
    const v = fields[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((n) => typeof n === 'string')) return `${key} must be a list of tag names (strings), as ["beach", "sunset"]`;
    edit[key] = v;
  }
  if (fields.clear !== undefined) {
    if (typeof fields.clear !== 'boolean') return 'clear must be true or false';
    edit.clear = fields.clear;
  }
  if (!edit.add?.length && !edit.remove?.length && !edit.clear) return 'nothing to edit: give add, remove (lists of tag names) or clear: true';
  return edit;
}

/** 127.0.0.0/8 and ::1; a BlockList also matches their IPv4-mapped forms (::ffff:127.0.0.1, ::ffff:7f00:1). */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether an address to listen on (or a Host name) is a loopback one (then only this machine can connect). An
 * IPv4-mapped loopback address (`::ffff:127.0.0.1`, as a dual-stack socket names a local peer) was taken for one
 * beyond this machine, and so were the longer spellings of ::1.
 */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (a === 'localhost') return true;
  const family = isIP(a);
  return family !== 0 && LOOPBACK.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

/** CSP source of the web page's inline script (a hash of its text, so an edit of the page cannot forget it). */
const PAGE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(/<script>([\s\S]*?)<\/script>/.exec(WEB_PAGE)![1]!).digest('base64')}'`;

/**
 * The HTTP API and the web page over one store. Only paths that records name are ever served: a request can
 * never choose a file.
 */
export function createHttpApi(store: VideoStore, options: HttpApiOptions = {}): Hono {
  const api = new Hono();

  api.onError((err, c) => {
    if (err instanceof QueryError) return c.json({ error: err.message, column: err.column }, 400);
    options.logger?.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    // 503 says "try again": only for what may pass (a busy database, a dropped connection)
    if (err instanceof AppError && err.retryable) return c.json({ error: describeError(err), code: err.code }, 503);
    return c.json({ error: describeError(err), ...(err instanceof AppError ? { code: err.code } : {}) }, 500);
  });
  api.notFound((c) => {
    const allow = ROUTES.find(([r]) => r.test(c.req.path))?.[1];
    if (allow) {
      c.header('allow', allow);
      return c.json({ error: `${c.req.method} is not allowed here: ${c.req.path} answers ${allow.replace(', ', ' and ')}` }, 405);
    }
    return c.json({ error: `no such path: ${c.req.path}` }, 404);
  });

  api.use(
    secureHeaders({
      // The page's one inline script by its hash, nothing else: a title or tag that got past the page's
      // text-only insertion could still not run as script, nor load from or send to another origin.
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: [PAGE_SCRIPT_HASH],
        styleSrc: ["'self'", "'unsafe-inline'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
      },
      // keyframes and videos stay embeddable by the user's own pages on another port (an <img> needs no CORS)
      crossOriginResourcePolicy: false,
      // plain HTTP on a loopback address: HSTS belongs to a TLS proxy in front, if any
      strictTransportSecurity: false,
    }),
  );

  // after the security headers, so that a refusal carries them too, as every answer does
  const named = (options.hostNames ?? []).map((n) => n.trim().toLowerCase().replace(/\.$/, '')).filter(Boolean);
  const allowedName = (name: string) => named.some((n) => (n.startsWith('.') ? name.endsWith(n) : name === n));
  api.use(async (c, next) => {
    const host = c.req.header('host');
    if (host === undefined) return next();
    const name = hostName(host);
    // an IP address in Host is what a browser sends when its page was loaded by address: no other site's name
    if (isLoopback(name) || allowedName(name.replace(/\.$/, '')) || (!options.loopbackOnly && isIP(name.replace(/^\[|\]$/g, '')) !== 0)) return next();
    const answers = options.loopbackOnly ? 'a loopback name (localhost, 127.x.x.x or [::1])' : 'an IP address, localhost';
    return c.json({ error: `this server answers only to ${answers}${named.length ? `, ${named.join(', ')}` : ''} or a name in [Server] AllowedHosts, not ${host}` }, 403);
  });
  // after the host check: a rebinding site's page is refused before it can try tokens
  if (options.token) requireToken(api, options.token);
  else api.post('/login', (c) => c.json({ error: 'this server asks for no token: [Server] Token is not set' }, 404));

  api.get('/', (c) => c.html(WEB_PAGE));
  // tagEdits: whether the page shows its tag controls (a server that refuses edits shows none)
  api.get('/api/health', async (c) => c.json({ ok: true, backend: store.kind, videos: await store.count(), tagEdits: options.tagEditing?.allowed === true }));

  api.get('/api/search', async (c) => {
    const q: SearchQuery = {};
    const params = searchParams(c.req.url);
    // as sent, not trimmed: the columns of a query error count from its first character
    const text = params.get('q');
    if (text?.trim()) q.text = text;
    const limit = intParam(params.get('limit'), 'limit', 1, 1000);
    const offset = intParam(params.get('offset'), 'offset', 0, MAX_OFFSET);
    if (limit !== undefined) q.limit = limit;
    if (offset !== undefined) q.offset = offset;
    const cursor = params.get('cursor');
    if (cursor) q.cursor = cursor;
    if (cursor && offset !== undefined) throw new QueryError('cursor and offset: give one (the cursor already says where the page starts)', 0);
    const sort = params.get('sort');
    if (sort) q.sort = sort as SortKey;
    const result = await store.search(q);
    // the snippet again in pieces, so the page marks the matches without reading brackets the text may hold
    const terms = result.hits.some((h) => h.highlight) && q.text ? planQuery(q).terms : [];
    return c.json({
      total: result.total,
      hits: result.hits.map((h) => ({ score: h.score, highlight: h.highlight ?? null, snippet: (h.highlight && highlightParts(h.video, terms)) || null, ...summarize(h.video) })),
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

  const indexedFile = indexedFileCheck(store);
  api.get('/api/videos/:id/file', async (c) => {
    const v = await record(c.req.param('id'));
    if (!v) return c.json({ error: 'no such video' }, 404);
    return sendFile(v.file.path, videoType(v), c.req, indexedFile(v), { disposition: inlineDisposition(v.file.path) });
  });

  api.get('/api/videos/:id/keyframes/:index', async (c) => {
    const v = await record(c.req.param('id'));
    const scene = v?.scenes.find((s) => String(s.index) === c.req.param('index'));
    if (!scene?.keyframe) return c.json({ error: 'no such keyframe' }, 404);
    return sendFile(scene.keyframe, 'image/jpeg', c.req, jpegCheck, { noFollow: true });
  });

  api.get('/api/videos/:id/contact-sheet', async (c) => {
    const v = await record(c.req.param('id'));
    if (!v?.contactSheet) return c.json({ error: 'no contact sheet' }, 404);
    return sendFile(v.contactSheet, 'image/jpeg', c.req, jpegCheck, { noFollow: true });
  });

  // One edit at a time, each on the record as the one before left it: two edits read at once and the second to be
  // saved put back what the first had taken away.
  let editing: Promise<unknown> = Promise.resolve();
  const editor = options.tagEditing;
  api.post(
    '/api/videos/:id/tags',
    async (c, next) => {
      if (!editor?.allowed) {
        const why = editor ? 'this server listens beyond this machine, where anyone who can reach it could change the tags (no password); set [Server] Token (a password for the whole server) or [Server] AllowEdits = true to allow it, or serve on 127.0.0.1' : 'this server does not edit tags';
        return c.json({ error: `tag edits are refused: ${why}` }, 403);
      }
      const origin = c.req.header('origin');
      if (origin !== undefined && !sameOrigin(origin, c.req.header('host'))) {
        return c.json({ error: `tag edits are taken only from this server's own page, not from ${origin}` }, 403);
      }
      // A form or a text/plain POST is what another site's page can send without asking first (no preflight); it
      // cannot send JSON so, and an old browser may send those with no Origin at all
      const type = c.req.header('content-type')?.split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') return c.json({ error: `the body must be JSON sent as Content-Type: application/json, not ${type || 'no type'}` }, 415);
      return next();
    },
    // the rest of the body is left unread, so the connection is not one to send another request on
    bodyLimit({ maxSize: MAX_EDIT_BYTES, onError: (c) => c.json({ error: `the body is over ${MAX_EDIT_BYTES / 1024} kB: a tag edit is a few names` }, 413, { connection: 'close' }) }),
    async (c) => {
      const id = c.req.param('id');
      if (!(await record(id))) return c.json({ error: 'no such video' }, 404);
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch (e) {
        return c.json({ error: `the body is not valid JSON (${(e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ')})` }, 400);
      }
      const edit = tagEditOf(body);
      if (typeof edit === 'string') return c.json({ error: edit }, 400);
      const run = editing.then(async () => {
        const v = await record(id);
        return v ? editor!.edit(v, edit) : null;
      });
      editing = run.catch(() => undefined);
      try {
        const updated = await run;
        if (!updated) return c.json({ error: 'no such video' }, 404);
        // the server's log is the only record of an edit made over HTTP: what, to which video, from where
        options.logger?.info({ videoId: updated.id, edit, origin: c.req.header('origin') ?? null }, 'tags edited');
        return c.json(updated);
      } catch (e) {
        if (e instanceof AppError && e.code === 'E_BAD_TAG') return c.json({ error: e.message, code: e.code }, 400);
        throw e;
      }
    },
  );

  return api;
}
