import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipelineCb, type Readable, type Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { Logger } from '../core/index.js';
import type { BandwidthLimiter } from './bandwidth-limiter.js';
import { SNIFF_BYTES, sniffNotVideo, videoSignature } from './content-sniff.js';
import { backoffMs, parseRetryAfter, sleep } from './retry-policy.js';
import { contentDispositionName, moveToUniquePath, safeFileName, urlPathName } from './media-names.js';
import { AcquireError, fsCause, SourceCode } from './source-errors.js';
import { startFileHash, type FileHashJob } from './file-hasher.js';
import { inFolder, PartWriter } from './part-writer.js';
import { withPart } from './part-lock.js';

export interface HttpDownloadOptions {
  url: string;
  /** Final files go here. */
  dir: string;
  /** `.part` files and their resume state go here (inside `dir`, so the final rename is atomic). */
  partDir: string;
  dispatcher: Dispatcher;
  retries: number;
  backoffMs: number;
  maxRetryWaitMs: number;
  maxRedirects: number;
  /** 0 = no limit. */
  maxBytes: number;
  userAgent: string;
  /** Bodies smaller than this keep no resume state (fetched again whole after a crash); default 1 MiB. */
  resumeStateFrom?: number;
  /** Bodies of at least this many bytes (or of unknown length) are hashed on a worker thread; default 8 MiB. */
  hashThreadFrom?: number;
  /** fsync the file before the rename (default true; `[Sources] Fsync`). */
  fsync?: boolean;
  throttle?: BandwidthLimiter | null;
  signal?: AbortSignal;
  logger?: Logger;
  progress?: (done: number, total: number | null) => void;
  /** Called before each retry, with the error that caused it (for the acquisition log). */
  onRetry?: (err: AcquireError, attempt: number, waitMs: number) => void;
}

export interface HttpDownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** After redirects. */
  finalUrl: string;
  contentType: string | null;
  /** Attempts made (1 = first try worked). */
  attempts: number;
  /** Bytes that came from an earlier, interrupted attempt. */
  resumedFrom: number;
}

/** What one attempt did with the `.part`, for telling progress from failure. */
interface AttemptTrack {
  /** The offset it resumed from (0 when it started over). */
  from: number;
  /** Bytes a `.part` the next attempt can resume from holds after it failed (0 when none). */
  kept: number;
}

/** Resume state kept beside a `.part` file. */
interface PartMeta {
  url: string;
  finalUrl: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
  name: string;
  contentType: string | null;
}

/** Bodies from this size are hashed on the hashing thread (see file-hasher.ts). */
const HASH_THREAD_MIN = 8 * 1024 * 1024;

/** Smaller downloads keep no resume state. */
const RESUME_STATE_MIN = 1024 * 1024;

const VIDEO_EXT_BY_TYPE: Record<string, string> = {
  'video/mp4': '.mp4',
  'video/webm': '.webm',
  'video/quicktime': '.mov',
  'video/x-matroska': '.mkv',
  'video/x-msvideo': '.avi',
  'video/mpeg': '.mpg',
  'video/mp2t': '.ts',
  'video/ogg': '.ogv',
  'video/x-flv': '.flv',
  'video/3gpp': '.3gp',
};

/** Where the `.part` file of a URL lives: a name derived from the URL, so a later run finds it. */
export function partPathFor(partDir: string, url: string): string {
  return path.join(partDir, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.part`);
}

/**
 * Downloads one URL to `dir`, surviving what the internet does: streams into `<partDir>/<hash>.part`, fsyncs and
 * renames to a unique sanitised name; resumes an interrupted `.part` with `Range` + `If-Range` (ETag or
 * Last-Modified) and restarts from zero when the server ignores the range or the file changed; retries network
 * errors, timeouts, 5xx and 429 with exponential backoff and jitter (honouring Retry-After), never other 4xx.
 * Throws AcquireError with a stable code and one-line message.
 */
export async function downloadHttp(opts: HttpDownloadOptions): Promise<HttpDownloadResult> {
  validateUrl(opts.url);
  const partPath = partPathFor(opts.partDir, opts.url);
  return withPart(partPath, () => downloadInto(opts, partPath), {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onWait: (holder) => opts.logger?.info({ url: redactUrl(opts.url), holder }, 'another process is downloading this URL into the same media folder; waiting for it'),
  }).catch((err: unknown) => {
    // the lock file could not be made (disk full, no permission): one line and a code, as for the .part
    throw opts.signal?.aborted ? err : toAcquireError(err, opts.url, opts.partDir);
  });
}

async function downloadInto(opts: HttpDownloadOptions, partPath: string): Promise<HttpDownloadResult> {
  // No mkdir per item: the part folder is created when writing into it fails with ENOENT (first download, or
  // someone removed it during a run).
  const metaPath = `${partPath}.json`;
  let resumedFrom = 0;
  // The most bytes a resumable .part has held. An attempt that leaves more made progress: it does not count
  // against the retries and the next one starts at once (a server that answers each Range with a capped 206, a
  // link that drops every few hundred MB). Attempts that bring nothing new use the retries up as before.
  let best = 0;
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    const track: AttemptTrack = { from: 0, kept: 0 };
    try {
      const result = await attemptDownload(opts, partPath, metaPath, (n) => {
        if (attempt === 1 || resumedFrom === 0) resumedFrom = n;
      }, track);
      return { ...result, attempts: attempt, resumedFrom };
    } catch (raw) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? raw;
      const err = toAcquireError(raw, opts.url, opts.partDir);
      best = Math.max(best, track.from);
      const progressed = err.retryable && track.kept > best;
      best = Math.max(best, track.kept);
      failures = progressed ? 0 : failures + 1;
      if (!err.retryable || failures > opts.retries) {
        if (attempt > 1 && err.retryable) {
          throw new AcquireError(`${err.message} (gave up after ${attempt} attempts)`, {
            code: err.code,
            retryable: true,
            ...(err.status !== undefined ? { status: err.status } : {}),
            cause: err,
          });
        }
        throw err;
      }
      let wait = progressed ? 0 : backoffMs(failures - 1, opts.backoffMs);
      if (err.retryAfterMs !== undefined) {
        if (err.retryAfterMs > opts.maxRetryWaitMs) {
          throw new AcquireError(
            `${err.message}; the server asks to wait ${Math.round(err.retryAfterMs / 1000)} s, more than [Sources] MaxRetryWaitSec`,
            { code: SourceCode.RetryAfterTooLong, retryable: true, ...(err.status !== undefined ? { status: err.status } : {}), cause: err },
          );
        }
        wait = err.retryAfterMs;
      }
      opts.logger?.warn({ url: redactUrl(opts.url), attempt, waitMs: wait, code: err.code }, `download retry: ${err.message}`);
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait, opts.signal);
    }
  }
}

async function readMeta(metaPath: string, url: string): Promise<PartMeta | null> {
  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as PartMeta;
    return meta.url === url ? meta : null;
  } catch {
    return null;
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function discardPart(partPath: string, metaPath: string): Promise<void> {
  await rm(partPath, { force: true });
  await rm(metaPath, { force: true });
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/**
 * The validator for `If-Range`: the strong ETag, else Last-Modified. A weak ETag may not be sent there (RFC 9110
 * 13.1.5); without one, a `.part` cannot be resumed safely.
 */
function ifRangeValidator(meta: Pick<PartMeta, 'etag' | 'lastModified'> | null): string | null {
  const strongEtag = meta?.etag && !meta.etag.startsWith('W/') ? meta.etag : null;
  return strongEtag ?? meta?.lastModified ?? null;
}

/** `bytes 100-199/1000` → {start, end, total}; total null for `*`. */
function parseContentRange(value: string | null): { start: number; end: number; total: number | null } | null {
  const m = value ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

async function attemptDownload(
  opts: HttpDownloadOptions,
  partPath: string,
  metaPath: string,
  noteResume: (offset: number) => void,
  track: AttemptTrack,
): Promise<Omit<HttpDownloadResult, 'attempts' | 'resumedFrom'>> {
  let meta = await readMeta(metaPath, opts.url);
  let offset = meta ? await sizeOf(partPath) : 0;
  if (meta && offset === 0) {
    await discardPart(partPath, metaPath);
    meta = null;
  }
  // Without resume state any old .part is ignored: it is opened with 'w' (truncated) below.
  // Resume only with a validator the server checks in If-Range, which proves the remote file is the same one. The
  // total length proves nothing (a file re-encoded or fixed in place often keeps it), and a weak ETag may not be
  // sent in If-Range (RFC 9110 13.1.5): a Range alone would splice two versions of a changed file.
  const validator = ifRangeValidator(meta);
  if (offset > 0 && !validator) {
    opts.logger?.info({ url: redactUrl(opts.url) }, 'partial download has no validator; restarting from zero');
    await discardPart(partPath, metaPath);
    meta = null;
    offset = 0;
  }
  track.from = offset;

  const headers: Record<string, string> = {
    'user-agent': opts.userAgent,
    accept: '*/*',
    'accept-encoding': 'identity',
  };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (validator) headers['if-range'] = validator;
  }

  const res = await requestFollowing(opts, headers);
  const status = res.statusCode;
  const etag = header(res.headers, 'etag');
  const lastModified = header(res.headers, 'last-modified');
  const contentType = header(res.headers, 'content-type');
  const contentLength = header(res.headers, 'content-length');

  let writeFrom = 0;
  let total: number | null = null;
  if (status === 206 && offset > 0) {
    const range = parseContentRange(header(res.headers, 'content-range'));
    const changed =
      (meta!.etag && etag && meta!.etag !== etag) ||
      (meta!.lastModified && lastModified && meta!.lastModified !== lastModified) ||
      (meta!.total != null && range?.total != null && meta!.total !== range.total);
    if (!range || range.start !== offset || changed) {
      await res.body.dump();
      await discardPart(partPath, metaPath);
      throw new AcquireError(`the file changed on the server since the partial download; restarting from zero`, {
        code: SourceCode.Network,
        retryable: true,
        retryAfterMs: 0,
      });
    }
    writeFrom = offset;
    total = range.total ?? meta!.total;
    noteResume(offset);
    opts.logger?.info({ url: redactUrl(opts.url), offset }, 'resuming download');
  } else if (status === 200 || (status === 206 && offset === 0)) {
    if (offset > 0) {
      opts.logger?.info({ url: redactUrl(opts.url), offset }, 'server ignored Range or the file changed; restarting from zero');
    }
    const range = status === 206 ? parseContentRange(header(res.headers, 'content-range')) : null;
    if (range && range.start !== 0) {
      // no Range was asked for: these bytes from the middle would be saved (and resumed) as the file's start
      await res.body.dump().catch(() => undefined);
      await discardPart(partPath, metaPath);
      throw new AcquireError(`the server answered a part of the file (206, bytes ${range.start}-${range.end}) to a request for all of it`, { code: SourceCode.HttpStatus, status });
    }
    total = range?.total ?? (contentLength !== null && /^\d+$/.test(contentLength) ? Number(contentLength) : null);
  } else if (status === 416 && offset > 0 && meta?.total === offset) {
    // The part already holds every byte: an earlier run died between the last write and the rename.
    await res.body.dump();
    return finish(opts, partPath, metaPath, meta);
  } else if (status === 416 && offset > 0) {
    // The Range was ours, not the user's: the file shrank (or the server ignored If-Range), so the part is no good.
    // Fetched again whole, in this attempt: without a Range a 416 cannot come back, so this recurses once at most.
    await res.body.dump();
    await discardPart(partPath, metaPath);
    opts.logger?.info({ url: redactUrl(opts.url), offset }, 'the server refused the resume range (416); restarting from zero');
    return attemptDownload(opts, partPath, metaPath, noteResume, track);
  } else {
    await res.body.dump();
    throw statusError(status, opts.url, header(res.headers, 'retry-after'));
  }

  rejectPlaylistType(contentType);
  // Asked for identity, some servers compress anyway (an object stored with Content-Encoding: gzip is served so
  // to every client): the encoded bytes were saved as the video. Decoded here, as a browser does; the length and
  // ranges of an encoded body are those of the encoding, so it is fetched whole, without resume state.
  const encoding = header(res.headers, 'content-encoding')?.trim().toLowerCase() || null;
  const decoder = encoding && encoding !== 'identity' ? bodyDecoder(encoding) : null;
  if (encoding && encoding !== 'identity') {
    if (!decoder) {
      await res.body.dump().catch(() => undefined);
      await discardPart(partPath, metaPath);
      throw new AcquireError(`the server sent the body encoded as ${JSON.stringify(encoding.slice(0, 40))} (Content-Encoding), which cannot be decoded`, { code: SourceCode.Encoding });
    }
    if (writeFrom > 0) {
      // bytes of another representation cannot continue the .part
      await res.body.dump().catch(() => undefined);
      await discardPart(partPath, metaPath);
      throw new AcquireError(`the server changed the encoding of the file since the partial download; restarting from zero`, { code: SourceCode.Network, retryable: true, retryAfterMs: 0 });
    }
    total = null;
  }
  if (opts.maxBytes > 0 && total !== null && total > opts.maxBytes) {
    await res.body.dump().catch(() => undefined);
    await discardPart(partPath, metaPath);
    throw tooLarge(opts.url, total, opts.maxBytes);
  }

  const name = writeFrom > 0 && meta ? meta.name : fileNameFor(res.headers, res.finalUrl, contentType);
  // a 206 without the validators keeps those of the part it continues (the next range still needs an If-Range)
  const newMeta: PartMeta =
    writeFrom > 0 && meta
      ? { url: opts.url, finalUrl: res.finalUrl, etag: etag ?? meta.etag, lastModified: lastModified ?? meta.lastModified, total, name, contentType }
      : { url: opts.url, finalUrl: res.finalUrl, etag, lastModified, total, name, contentType };
  // Resume state only where resuming can pay: a small file is fetched again whole (two fewer file operations
  // per item when collecting thousands of clips).
  const keepState = !decoder && (writeFrom > 0 || total === null || total >= (opts.resumeStateFrom ?? RESUME_STATE_MIN));
  if (keepState) {
    await inFolder(opts.partDir, () => writeFile(metaPath, JSON.stringify(newMeta)));
  } else if (meta) {
    // the state of an earlier, larger body the server has replaced: nothing would remove it later
    await rm(metaPath, { force: true });
  }

  // Large bodies are hashed on the hashing thread as they reach the file; small ones inline (a message round
  // trip costs more than hashing a few MiB).
  const threaded = total === null || total - writeFrom >= (opts.hashThreadFrom ?? HASH_THREAD_MIN);
  const hash = threaded ? null : createHash('sha256');
  if (hash && writeFrom > 0) await hashPrefix(partPath, writeFrom, hash);
  let written = writeFrom;
  let job: FileHashJob | null = null;
  const writer = await PartWriter.open(partPath, writeFrom, {
    durable: opts.fsync !== false,
    ...(threaded ? { onWritten: (end: number) => job?.advance(end) } : {}),
  });
  // The first bytes say whether this is a video at all; only from offset 0 (a resumed body starts mid-file, and
  // its start was judged when it was fetched).
  let judged = writeFrom > 0;
  const judge = judged
    ? null
    : (head: Buffer) => {
        judged = true;
        return judgeBody(head, { url: opts.url, finalUrl: res.finalUrl, contentType });
      };
  let digest: string;
  try {
    if (threaded) job = startFileHash(partPath);
    written = await receiveBody(decoder ? decoded(res.body, decoder) : res.body, writer, hash, opts, writeFrom, total, judge);
    // On disk before the rename: a power cut never leaves a final name over missing bytes.
    await writer.finish();
    if (total !== null && written !== total) {
      throw new AcquireError(`the body ended after ${written} of ${total} bytes`, { code: SourceCode.Truncated, retryable: true });
    }
    digest = job ? await job.digest(written) : hash!.digest('hex');
  } catch (err) {
    job?.cancel();
    // Bytes received before a break are good: written out so the next attempt resumes after them. Not when their
    // start was never judged (the body broke off within the first SNIFF_BYTES): a resume would skip the check.
    const useless = !judged || (err instanceof AcquireError && (err.code === SourceCode.NotVideo || err.code === SourceCode.TooLarge || err.code === SourceCode.Playlist));
    await writer.close(!useless);
    if (useless) await discardPart(partPath, metaPath);
    else if (keepState && ifRangeValidator(newMeta)) track.kept = await sizeOf(partPath);
    throw err;
  }
  opts.progress?.(written, total ?? written);
  return finish(opts, partPath, keepState ? metaPath : null, { ...newMeta, total: written }, digest);
}

/** A decoder for a body's Content-Encoding; null for an encoding Node cannot undo (`compress`, `zstd`, a chain). */
function bodyDecoder(encoding: string): Transform | null {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding === 'br') return createBrotliDecompress();
  return null;
}

/** The decoded body; the decoder's errors are mapped by toAcquireError (cut short: retried; not the encoding: not). */
function decoded(body: Readable, decoder: Transform): Readable {
  return pipelineCb(body, decoder, () => undefined);
}

/**
 * Feeds the body to the hash and the writer: one 'data' listener, paused only when the disk falls behind (a
 * stream pipeline with a counting Transform cost a promise and two stream hand-offs per 64 KiB chunk). Hands the
 * first SNIFF_BYTES (or the whole body, when shorter) to `judge`, and checks the size limit, as they arrive; the
 * bytes before the verdict only reach the `.part`, which the caller discards on a refusal. Resolves with the
 * bytes the file holds (`start` included) once the body ended; rejects when it broke off, a check failed or the
 * signal aborted.
 */
async function receiveBody(
  body: Readable,
  writer: PartWriter,
  hash: Hash | null,
  opts: HttpDownloadOptions,
  start: number,
  total: number | null,
  judge: ((head: Buffer) => AcquireError | null) | null,
): Promise<number> {
  const src: Readable = opts.throttle ? pipelineCb(body, opts.throttle.throttle(), () => undefined) : body;
  let failed: unknown = null;
  const fail = (err: unknown): void => {
    failed ??= err;
    src.destroy(err as Error);
  };
  // the first bytes, until there are enough to judge (a server may send a page a few bytes at a time)
  let head: Buffer[] | null = judge ? [] : null;
  let headBytes = 0;
  const verdict = (): AcquireError | null => {
    const first = Buffer.concat(head!);
    head = null;
    return judge!(first);
  };
  let written = start;
  let lastProgress = 0;
  src.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      if (head) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes >= SNIFF_BYTES) {
          const refused = verdict();
          if (refused) return fail(refused);
        }
      }
      written += chunk.length;
      if (opts.maxBytes > 0 && written > opts.maxBytes) return fail(tooLarge(opts.url, written, opts.maxBytes));
      hash?.update(chunk);
      if (opts.progress) {
        const now = Date.now();
        if (now - lastProgress > 250) {
          lastProgress = now;
          opts.progress(written, total);
        }
      }
      const wait = writer.write(chunk);
      if (wait) {
        src.pause();
        wait.then(() => {
          if (!failed) src.resume();
        }, fail);
      }
    } catch (err) {
      fail(err);
    }
  });
  const onAbort = (): void => fail(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal?.aborted) onAbort();
    await finished(src);
  } catch (err) {
    throw failed ?? err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (failed) throw failed;
  // a body shorter than SNIFF_BYTES is judged whole, before the caller renames anything
  if (head) {
    const refused = verdict();
    if (refused) throw refused;
  }
  return written;
}

async function finish(
  opts: HttpDownloadOptions,
  partPath: string,
  metaPath: string | null,
  meta: PartMeta,
  sha256?: string,
): Promise<Omit<HttpDownloadResult, 'attempts' | 'resumedFrom'>> {
  // With the digest taken on the way, meta.total is the byte count written (no stat of the part).
  const digest = sha256 ?? (await hashPrefix(partPath, Infinity, createHash('sha256'))).digest('hex');
  const bytes = sha256 !== undefined && meta.total !== null ? meta.total : await sizeOf(partPath);
  const finalPath = await inFolder(opts.dir, () => moveToUniquePath(partPath, opts.dir, meta.name));
  if (metaPath) await rm(metaPath, { force: true });
  return { path: finalPath, bytes, sha256: digest, finalUrl: meta.finalUrl, contentType: meta.contentType };
}

async function hashPrefix(file: string, bytes: number, hash: Hash): Promise<Hash> {
  if (bytes <= 0) return hash;
  const end = Number.isFinite(bytes) ? bytes - 1 : undefined;
  for await (const chunk of createReadStream(file, { start: 0, ...(end !== undefined ? { end } : {}), highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash;
}

interface FollowedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  finalUrl: string;
}

/** One GET, following at most `maxRedirects` redirects by hand so loops and the final URL are known. */
async function requestFollowing(opts: HttpDownloadOptions, headers: Record<string, string>): Promise<FollowedResponse> {
  const { request } = await import('undici'); // loaded by the first download, not at start-up (see http-source.ts)
  let url = opts.url;
  const seen = [url];
  // Credentials written in the URL (`https://user:pass@host/v.mp4`) are sent as Basic auth, as curl and ffmpeg
  // do: undici drops them, and the server answered 401. Only to the origin they were written for: a redirect
  // elsewhere does not carry them.
  let auth: { origin: string; value: string } | null = null;
  for (;;) {
    const target = new URL(url);
    if (target.username || target.password) {
      auth = { origin: target.origin, value: `Basic ${Buffer.from(`${percentDecoded(target.username)}:${percentDecoded(target.password)}`).toString('base64')}` };
      target.username = '';
      target.password = '';
    }
    const hopHeaders = auth && auth.origin === target.origin ? { ...headers, authorization: auth.value } : headers;
    const res = await request(target.toString(), {
      method: 'GET',
      headers: hopHeaders,
      dispatcher: opts.dispatcher,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const location = header(res.headers, 'location');
    if (res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304 && location) {
      await res.body.dump();
      let next: string;
      try {
        next = new URL(location, url).toString();
      } catch {
        throw new AcquireError(`redirect to an invalid URL ${JSON.stringify(location.slice(0, 100))}`, { code: SourceCode.BadUrl });
      }
      validateUrl(next);
      if (seen.includes(next)) {
        throw new AcquireError(`redirect loop (${[...seen, next].map(shortUrl).join(' -> ')})`, { code: SourceCode.RedirectLoop });
      }
      if (seen.length > opts.maxRedirects) {
        throw new AcquireError(`more than ${opts.maxRedirects} redirects ([Sources] MaxRedirects)`, { code: SourceCode.TooManyRedirects });
      }
      seen.push(next);
      url = next;
      continue;
    }
    return { statusCode: res.statusCode, headers: res.headers, body: res.body, finalUrl: url };
  }
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function validateUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AcquireError(`${url}: not a valid URL`, { code: SourceCode.BadUrl });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AcquireError(`${url}: only http and https URLs can be downloaded`, { code: SourceCode.BadUrl });
  }
}

/** Extensions a saved video may keep; any other (`get.php`, a server's `clip.sh`) gets one of these added. */
const VIDEO_EXTENSIONS = new Set([
  ...Object.values(VIDEO_EXT_BY_TYPE),
  '.m4v', '.mpeg', '.mts', '.m2ts', '.wmv', '.asf', '.mxf', '.vob', '.m2v', '.h264', '.ivf', '.y4m', '.rm', '.rmvb',
]);

function fileNameFor(headers: Record<string, string | string[] | undefined>, finalUrl: string, contentType: string | null): string {
  const suggested = contentDispositionName(header(headers, 'content-disposition')) ?? urlPathName(finalUrl) ?? 'video';
  const ext = VIDEO_EXT_BY_TYPE[(contentType ?? '').split(';')[0]!.trim().toLowerCase()] ?? '.mp4';
  // A download script's name (`get.php?id=3`) or any other non-video extension was kept: the file was served by
  // `videodex serve` as application/octet-stream (no type for .php) and named as no video is.
  const name = safeFileName(suggested);
  return VIDEO_EXTENSIONS.has(path.extname(name).toLowerCase()) ? name : `${name}${ext}`;
}

function statusError(status: number, url: string, retryAfter: string | null): AcquireError {
  if (status === 429) {
    const wait = parseRetryAfter(retryAfter);
    return new AcquireError(`HTTP 429 Too Many Requests`, { code: SourceCode.RateLimited, status, retryable: true, ...(wait !== null ? { retryAfterMs: wait } : {}) });
  }
  if (status >= 500) {
    const wait = status === 503 ? parseRetryAfter(retryAfter) : null;
    return new AcquireError(`HTTP ${status} server error`, { code: SourceCode.ServerError, status, retryable: true, ...(wait !== null ? { retryAfterMs: wait } : {}) });
  }
  const names: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone', 416: 'Range Not Satisfiable' };
  const hint = status === 401 || status === 403 ? ' (the server refuses access; check the URL or its signature/expiry)' : '';
  const code = status === 404 || status === 410 ? 'E_HTTP_404' : status === 401 || status === 403 ? 'E_HTTP_403' : SourceCode.HttpStatus;
  return new AcquireError(`HTTP ${status}${names[status] ? ` ${names[status]}` : ''}${hint}`, { code, status, retryable: status === 408 });
}

function mimeOf(contentType: string | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A manifest type is known from the headers alone (the HLS source takes it over), even on a resumed body. */
function rejectPlaylistType(contentType: string | null): void {
  const type = mimeOf(contentType);
  if (type === 'application/vnd.apple.mpegurl' || type === 'application/x-mpegurl' || type === 'application/dash+xml') {
    throw new AcquireError(`is a streaming playlist (${type}), not a file`, { code: SourceCode.Playlist });
  }
}

/** What a declared document type is, in words; null for types that may hold a video (video/*, octet-stream, ...). */
function documentType(type: string): string | null {
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'an HTML page';
  if (type === 'application/json' || type.endsWith('+json')) return 'JSON';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'an XML document';
  if (type.startsWith('text/')) return 'text';
  return null;
}

/**
 * Whether the first bytes of a body (from offset 0) may be a video; the refusal when not. Real video bytes pass
 * whatever the Content-Type says (servers label files text/plain or octet-stream). Otherwise a page, JSON, a
 * manifest, other XML or text is recognised under any type, video/* included: a static server types a file by
 * its name, so a text file named .mp4 comes as video/mp4 (it was saved, made a record and failed at the probe,
 * where a folder scan skips the same file). A declared document type is believed for bytes no video starts with.
 */
function judgeBody(head: Buffer, at: { url: string; finalUrl: string; contentType: string | null }): AcquireError | null {
  if (videoSignature(head)) return null;
  const type = mimeOf(at.contentType);
  const declared = documentType(type);
  // an empty body is no video whatever its type says (it was saved, and failed at the probe as invalid data)
  const what = head.length === 0 ? 'an empty body' : (sniffNotVideo(head, { anyText: true }) ?? declared);
  if (!what) return null;
  if (what === 'an HLS playlist' || what === 'a DASH manifest') {
    return new AcquireError(`is ${what}, not a file`, { code: SourceCode.Playlist });
  }
  // Neither the URL (the CLI's line starts with the input) nor the size: the run's summary groups failures by
  // message, and a thousand expired links behind one login page should read as one line.
  const details = [type || 'no Content-Type', ...(at.finalUrl !== at.url ? [`redirected to ${shortUrl(at.finalUrl)}`] : [])];
  return new AcquireError(`the server sent ${what}, not a video (${details.join('; ')})`, {
    code: SourceCode.NotVideo,
    retryable: false,
    page: what === 'an HTML page',
  });
}

function tooLarge(url: string, bytes: number, max: number): AcquireError {
  return new AcquireError(`${bytes} bytes is over the ${max}-byte limit ([Sources] MaxBytes)`, { code: SourceCode.TooLarge });
}

/** Maps undici and socket errors to AcquireError, deciding retryability here. */
export function toAcquireError(err: unknown, url: string, partDir?: string): AcquireError {
  if (err instanceof AcquireError) return err;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? '';
  const causeCode = e?.cause?.code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new AcquireError(`no response within [Sources] ConnectTimeoutSec`, { code: SourceCode.ConnectTimeout, retryable: true, cause: err });
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new AcquireError(`the download stalled (no data for [Sources] IdleTimeoutSec)`, { code: SourceCode.IdleTimeout, retryable: true, cause: err });
  }
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_SOCKET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    const what = e.message && /other side closed|premature|length/i.test(e.message) ? 'the server closed the connection before the end of the body' : `connection failed: ${e.message ?? code}`;
    return new AcquireError(`${what}`, { code: SourceCode.Truncated, retryable: true, cause: err });
  }
  // zlib and brotli, decoding a body sent with Content-Encoding
  if (code === 'Z_BUF_ERROR') {
    return new AcquireError(`the compressed body ended early (Content-Encoding)`, { code: SourceCode.Truncated, retryable: true, cause: err });
  }
  if (code.startsWith('Z_') || code.startsWith('ERR__ERROR_')) {
    return new AcquireError(`the body is not the compressed data its Content-Encoding says (${e.message ?? code})`, { code: SourceCode.Encoding, retryable: false, cause: err });
  }
  const net = causeCode || code;
  if (net === 'ENOTFOUND') return new AcquireError(`host not found`, { code: SourceCode.Network, retryable: false, cause: err });
  if (/^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNABORTED|UND_ERR_CLOSED)$/.test(net)) {
    return new AcquireError(`network error ${net}`, { code: SourceCode.Network, retryable: true, cause: err });
  }
  if (/^(ENOSPC|EACCES|EPERM|EROFS|EDQUOT)$/.test(code)) {
    // the cause in words and where: Node's 'ENOSPC: no space left on device, write' names neither the folder nor the fix
    return new AcquireError(`cannot write the download${partDir ? ` into ${partDir}` : ''}: ${fsCause(err)}`, { code: SourceCode.Disk, retryable: false, cause: err });
  }
  return new AcquireError(`${e?.message ?? String(err)}`, { code: SourceCode.Network, retryable: code.startsWith('UND_ERR'), cause: err });
}

/** A URL shortened for one-line messages, without query string (which may hold signatures). */
export function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    const s = `${u.protocol}//${u.host}${u.pathname}`;
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return url.slice(0, 120);
  }
}

/** The URL for logs: query string values masked (signed URLs carry credentials there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return url;
  }
}
