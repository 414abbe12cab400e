import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { findOnPath, runTool, sha256File, ToolError, type Config } from '../core/index.js';
import type { HostLimiter } from './host-limiter.js';
import { redactUrl, shortUrl } from './http-download.js';
import type { InputItem } from './input-item.js';
import { moveToUniquePath, safeFileName, urlPathName } from './media-names.js';
import { planHlsCopy } from './hls-playlist.js';
import { withPart } from './part-lock.js';
import { PARTIAL_DIR } from './partial-dir.js';
import { backoffMs, sleep } from './retry-policy.js';
import { AcquireError, fsCause, SourceCode } from './source-errors.js';
import type { AcquireContext, Acquired, Source } from './source.js';

const GENERIC_STEMS = new Set(['index', 'playlist', 'master', 'manifest', 'stream', 'main', 'video', 'prog_index']);

/** True for URLs of HLS (`.m3u8`) or DASH (`.mpd`) manifests. */
export function isStreamManifestUrl(url: string): boolean {
  try {
    return /\.(m3u8|mpd)$/i.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/**
 * HLS and DASH streams, saved whole with ffmpeg `-c copy` (no re-encode) into an MP4 through a `.part` file.
 * The same retry rules as HTTP: network errors, timeouts and 5xx/429 are retried with backoff; other 4xx fail
 * at once. ffmpeg's `-rw_timeout` is the idle timeout.
 */
export class HlsSource implements Source {
  readonly kind = 'hls' as const;

  constructor(
    private readonly config: Config,
    private readonly hosts?: HostLimiter,
  ) {}

  canHandle(input: InputItem): boolean {
    return input.kind === 'url' && !!input.url && isStreamManifestUrl(input.url);
  }

  acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const url = input.url!;
    const run = () => this.fetchStream(url, ctx);
    return this.hosts ? this.hosts.run(url, run) : run();
  }

  private async fetchStream(url: string, ctx: AcquireContext): Promise<Acquired> {
    const ffmpeg = ctx.tools?.ffmpeg.path ?? findOnPath('ffmpeg');
    if (!ffmpeg) throw new AcquireError(`HLS/DASH needs ffmpeg; install it: apt-get install -y ffmpeg`, { code: 'E_TOOL_MISSING' });
    const partDir = path.join(ctx.mediaDir, PARTIAL_DIR);
    const part = path.join(partDir, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.hls.part`);
    return withPart(part, () => this.copyStream(url, ffmpeg, part, ctx), {
      signal: ctx.signal,
      onWait: (holder) => ctx.logger.info({ url: redactUrl(url), holder }, 'another process is copying this stream into the same media folder; waiting for it'),
    }).catch((err: unknown) => {
      // the folder, the lock or the move failing: one line and E_DISK, as for an HTTP download (it was Node's
      // 'EEXIST: file already exists, mkdir ...' with no code)
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (err instanceof AcquireError || ctx.signal.aborted || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw err;
      const cause = code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way of the folder' : fsCause(err);
      throw new AcquireError(`cannot write the stream into ${partDir}: ${cause}`, { code: SourceCode.Disk, cause: err });
    });
  }

  private async copyStream(url: string, ffmpeg: string, part: string, ctx: AcquireContext): Promise<Acquired> {
    const s = this.config.Sources;
    await mkdir(path.dirname(part), { recursive: true });
    const read = await planHlsCopy(url, { userAgent: s.UserAgent, timeoutMs: (s.ConnectTimeoutSec + s.IdleTimeoutSec) * 1000, signal: ctx.signal });
    if (read && 'status' in read) {
      // a final answer (404, 403, ...) is what ffmpeg would meet too; others (5xx, 429) go through its retries
      const failure = statusFailure(read.status);
      if (!failure.options.retryable && read.status !== 408) throw new AcquireError(`stream ${failure.what}`, failure.options);
    }
    const plan = read && 'status' in read ? null : read;
    // one variant of a master playlist (the best): mapping every stream fetched every variant
    // Of a DASH manifest, ffmpeg's own choice (the largest picture, the audio with most channels): mapping every
    // stream fetched every representation; subtitles and data cannot be stream-copied into MP4.
    const maps = plan?.program != null
      ? ['-map', `0:p:${plan.program}:v?`, '-map', `0:p:${plan.program}:a?`]
      : plan?.dash
        ? ['-sn', '-dn']
        : ['-map', '0:v?', '-map', '0:a?'];
    // ffmpeg (5.1) asks a static DASH template for one fragment past the last and logs the 404: a gap only when
    // the file comes out shorter than the manifest says
    const dashSec = plan?.dash?.durationSec ?? null;
    // A live stream never ends: recorded for ToolTimeoutSec less a margin for ffmpeg to finish the file, and kept.
    // Killed at the limit instead, the whole recording was thrown away and the stream recorded again per retry.
    const liveSec = plan?.live ? Math.max(1, Math.floor(s.ToolTimeoutSec * 0.95) - 5) : null;
    if (plan && plan.variants > 1) ctx.logger.info({ url: redactUrl(url), variants: plan.variants, program: plan.program }, 'HLS master playlist: copying its best variant');
    if (liveSec !== null) ctx.logger.info({ url: redactUrl(url), seconds: liveSec }, 'live stream: recording it for [Sources] ToolTimeoutSec');
    const args = [
      // warnings, not only errors: a segment ffmpeg skips is only a warning (see SegmentWatch)
      '-hide_banner', '-nostdin', '-loglevel', 'warning', '-y',
      '-user_agent', s.UserAgent,
      '-rw_timeout', String(s.IdleTimeoutSec * 1_000_000),
      // Network protocols only: a hostile playlist must not make ffmpeg read local files as segments.
      '-protocol_whitelist', 'http,https,tcp,tls,crypto',
      '-i', url,
      ...maps, '-c', 'copy',
      ...(s.MaxBytes > 0 ? ['-fs', String(s.MaxBytes + 1)] : []),
      ...(liveSec !== null ? ['-t', String(liveSec)] : []),
      '-movflags', '+faststart',
      // Bytes written so far, as key=value lines on stdout about twice a second: the progress bar's source.
      '-progress', 'pipe:1', '-nostats',
      '-f', 'mp4', part,
    ];
    let reported = 0;
    const onStdoutLine = (line: string) => {
      const m = /^total_size=(\d+)$/.exec(line);
      if (m && Number(m[1]) > reported) {
        reported = Number(m[1]);
        ctx.progress(reported, null);
      }
    };
    for (let attempt = 1; ; attempt++) {
      const watch = new SegmentWatch({ fragmentsAtEnd: dashSec !== null });
      // the copy stops at the first skipped segment: what follows could only go into a file with a gap
      const stop = new AbortController();
      const onStderrLine = (line: string) => {
        if (watch.feed(line)) stop.abort();
      };
      let err: AcquireError | null = null;
      try {
        await runTool(ffmpeg, args, { timeoutMs: s.ToolTimeoutSec * 1000, signal: AbortSignal.any([ctx.signal, stop.signal]), onStdoutLine, onStderrLine });
      } catch (raw) {
        if (ctx.signal.aborted) {
          await rm(part, { force: true });
          throw raw;
        }
        err = watch.failure ?? classifyFfmpegError(raw, url);
      }
      // ffmpeg may also reach the end (exit 0) before the stop: a skipped segment fails the copy either way
      err ??= watch.failure;
      if (err && err === watch.fragmentFailure && dashSec !== null) {
        // One failed fragment per stream copied is the one past the end; more, or a short file, is a gap (the
        // length alone cannot tell: the timestamps after a missing fragment go on where they were).
        const got = await fileFacts(ctx.tools?.ffprobe.path ?? findOnPath('ffprobe'), part, ctx.signal);
        if (got && watch.fragmentFailures <= got.streams && got.durationSec >= dashSec - Math.max(2, dashSec * 0.02)) {
          ctx.logger.info({ url: redactUrl(url), durationSec: got.durationSec, declaredSec: dashSec }, `DASH: ${err.message.replace(/; not saved.*$/, '')} past the end; the copy is whole`);
          err = null;
        }
      }
      if (!err) break;
      await rm(part, { force: true });
      if (!err.retryable || attempt > s.Retries) throw err;
      const wait = backoffMs(attempt - 1, s.RetryBackoffMs);
      ctx.logger.warn({ url: redactUrl(url), attempt, waitMs: wait }, `stream retry: ${err.message}`);
      await sleep(wait, ctx.signal);
    }
    const info = await stat(part).catch(() => null);
    if (!info || info.size === 0) {
      await rm(part, { force: true });
      throw new AcquireError(`the stream held no audio or video`, { code: SourceCode.Hls });
    }
    if (s.MaxBytes > 0 && info.size > s.MaxBytes) {
      await rm(part, { force: true });
      throw new AcquireError(`the stream is over the ${s.MaxBytes}-byte limit ([Sources] MaxBytes)`, { code: SourceCode.TooLarge });
    }
    const sha256 = await sha256File(part);
    const finalPath = await moveToUniquePath(part, ctx.mediaDir, `${streamName(url)}.mp4`);
    ctx.progress(info.size, info.size);
    return { path: finalPath, bytes: info.size, sha256, storage: 'download', source: { url, kind: 'hls', fetchedAt: new Date().toISOString() } };
  }
}

/** The length (seconds) and the stream count of a media file, or null when ffprobe cannot tell. */
async function fileFacts(ffprobe: string | null, file: string, signal: AbortSignal): Promise<{ durationSec: number; streams: number } | null> {
  if (!ffprobe) return null;
  try {
    const { stdout } = await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=index:format=duration', '-of', 'json', file], { timeoutMs: 60_000, signal });
    const info = JSON.parse(stdout.toString('utf8')) as { streams?: unknown[]; format?: { duration?: string } };
    const sec = Number.parseFloat(info.format?.duration ?? '');
    return Number.isFinite(sec) ? { durationSec: sec, streams: info.streams?.length ?? 0 } : null;
  } catch {
    return null;
  }
}

/** `…/show/ep1/index.m3u8` → `ep1-index`; `…/clip.m3u8` → `clip`. */
function streamName(url: string): string {
  const last = urlPathName(url) ?? 'stream';
  const stem = last.replace(/\.(m3u8|mpd)$/i, '');
  if (!GENERIC_STEMS.has(stem.toLowerCase())) return safeFileName(stem, 'stream');
  const segs = new URL(url).pathname.split('/').filter(Boolean);
  const parent = segs.at(-2);
  return safeFileName(parent ? `${decodeURIComponent(parent)}-${stem}` : stem, 'stream');
}

/** Reads ffmpeg's stderr for the HTTP status or network failure behind a failed stream copy. */
export function classifyFfmpegError(raw: unknown, url: string): AcquireError {
  if (!(raw instanceof ToolError)) return new AcquireError(`${(raw as Error)?.message ?? String(raw)}`, { code: SourceCode.Hls, cause: raw });
  const tail = raw.stderrTail;
  const lastLine = tail.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? raw.message;
  if (raw.code === 'E_TOOL_TIMEOUT') return new AcquireError(`ffmpeg ran longer than [Sources] ToolTimeoutSec`, { code: SourceCode.Hls, retryable: true, cause: raw });
  const status = httpFailure(tail);
  // an AES-128 stream whose key cannot be fetched: the status is the key's, not the playlist's
  const key = /Unable to open key file (\S+)/.exec(tail)?.[1];
  if (key && status) return new AcquireError(`stream encryption key ${shortUrl(key)} could not be fetched (${status.what}); not saved, the segments it encrypts could not be decrypted`, { ...status.options, cause: raw });
  if (status) return new AcquireError(`stream ${status.what}`, { ...status.options, cause: raw });
  if (NETWORK_FAILURE.test(tail)) {
    return new AcquireError(`stream network error: ${lastLine}`, { code: SourceCode.Network, retryable: true, cause: raw });
  }
  return new AcquireError(`ffmpeg could not copy the stream: ${lastLine}`, { code: SourceCode.Hls, cause: raw });
}

const NETWORK_FAILURE = /Connection refused|Connection reset|timed out|Operation timed out|Network is unreachable|End of file|I\/O error/i;

/** The HTTP status ffmpeg reports in `text`, in words, with the code and retryability of the same HTTP answer. */
function httpFailure(text: string): { what: string; options: { code: string; status: number; retryable: boolean } } | null {
  const status = /(?:Server returned|HTTP error) (\d{3})/i.exec(text) ?? /Server returned (4|5)XX/i.exec(text);
  if (!status) return null;
  return statusFailure(status[1]!.length === 1 ? Number(status[1]) * 100 : Number(status[1]), status[1]!.length === 1);
}

/** An HTTP error status in words, with the code and retryability of the same answer to a plain download. */
function statusFailure(code: number, classOnly = false): { what: string; options: { code: string; status: number; retryable: boolean } } {
  const what = code === 404 ? 'HTTP 404 Not Found' : code === 403 ? 'HTTP 403 Forbidden' : `HTTP ${classOnly ? `${code / 100}xx` : code}`;
  return {
    what,
    options: {
      code: code === 404 ? 'E_HTTP_404' : code === 403 ? 'E_HTTP_403' : code === 429 ? SourceCode.RateLimited : code >= 500 ? SourceCode.ServerError : SourceCode.HttpStatus,
      status: code,
      retryable: code >= 500 || code === 429,
    },
  };
}

/**
 * Watches ffmpeg's stderr for a segment (HLS) or fragment (DASH) it could not fetch. ffmpeg warns, skips it and
 * still exits 0, so without this the saved file silently misses that footage. The failure carries the cause
 * from the lines just before the warning: the HTTP status, or the network error.
 */
class SegmentWatch {
  failure: AcquireError | null = null;
  /** The failure, when it was a DASH fragment the copy went on past (see `fragmentsAtEnd`). */
  fragmentFailure: AcquireError | null = null;
  /** DASH fragments that failed, while the copy went on. */
  fragmentFailures = 0;
  private recent: string[] = [];

  /** fragmentsAtEnd: a DASH fragment failure does not stop the copy; the caller judges it by the file's length. */
  constructor(private readonly options: { fragmentsAtEnd?: boolean } = {}) {}

  /** True once a segment failed (the first failure is kept). */
  feed(line: string): boolean {
    if (this.failure && this.failure !== this.fragmentFailure) return true;
    if (this.fragmentFailure && /Failed to open fragment/i.test(line)) {
      this.fragmentFailures++;
      return false;
    }
    const m = /Failed to open (segment (\d+) of playlist (\d+)|fragment)/i.exec(line);
    // An AES-128 key that cannot be fetched is only logged: ffmpeg goes on decrypting with the key it had (a key
    // rotated mid-stream) and exits 0, so the footage from there on was saved as noise.
    const key = /Unable to open key file (\S+)/.exec(line)?.[1];
    if (!m && !key) {
      this.recent = [...this.recent.slice(-5), line];
      return false;
    }
    const before = this.recent.join('\n');
    const which = key ? `encryption key ${shortUrl(key)}` : m![2] !== undefined ? `segment ${m![2]} of playlist ${m![3]}` : 'a fragment';
    const status = httpFailure(before);
    const cause = this.recent.map((l) => l.replace(/^\[[^\]]*\]\s*/, '').trim()).filter(Boolean).at(-1);
    const gap = key ? 'not saved, the segments it encrypts could not be decrypted' : 'not saved with footage missing';
    if (status) this.failure = new AcquireError(`stream ${which} could not be fetched (${status.what}); ${gap}`, status.options);
    else if (NETWORK_FAILURE.test(before)) {
      this.failure = new AcquireError(`stream ${which} could not be fetched (network error: ${cause}); ${gap}`, { code: SourceCode.Network, retryable: true });
    } else this.failure = new AcquireError(`stream ${which} could not be fetched${cause ? ` (${cause})` : ''}; ${gap}`, { code: SourceCode.Hls });
    if (!key && m && m[2] === undefined && this.options.fragmentsAtEnd) {
      this.fragmentFailure = this.failure;
      this.fragmentFailures = 1;
      return false;
    }
    return true;
  }
}
