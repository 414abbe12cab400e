import path from 'node:path';
import type { Agent } from 'undici';
import { INSTALL_HINTS, type Config } from '../core/index.js';
import { BandwidthLimiter } from './bandwidth-limiter.js';
import { HostLimiter } from './host-limiter.js';
import { downloadHttp, redactUrl, type HttpDownloadResult } from './http-download.js';
import { AcquireError, SourceCode } from './source-errors.js';
import type { InputItem } from './input-item.js';
import { PARTIAL_DIR } from './partial-dir.js';
import type { AcquireContext, Acquired, Source } from './source.js';


/** Where HttpSource hands an input over when the URL turns out to be a page or a stream manifest. */
export interface HttpFallbacks {
  /** A page that answered HTML: yt-dlp's extractors (generic included) look for the video on it. */
  page?: { binary(): { path: string } | AcquireError; fetchPage(url: string, ctx: AcquireContext): Promise<Acquired> };
  /** An HLS/DASH manifest served from a URL without .m3u8/.mpd. */
  stream?: Source;
}

export interface HttpSourceShared {
  hosts: HostLimiter;
  throttle: BandwidthLimiter | null;
}

/** Per-process state every network source shares: the per-host limit and the bandwidth cap. */
export function createSharedLimits(config: Config): HttpSourceShared {
  return {
    hosts: new HostLimiter(config.Sources.PerHost),
    throttle: config.Sources.MaxBytesPerSec > 0 ? new BandwidthLimiter(config.Sources.MaxBytesPerSec) : null,
  };
}

/**
 * Direct HTTP(S) downloads of video files. Built on undici's `request` (not `fetch`): it hands back a Node
 * stream (no WHATWG stream copies on a 1 GiB body), and its connect, headers and body timeouts map exactly
 * onto `[Sources] ConnectTimeoutSec` and `IdleTimeoutSec`. Redirects are followed by hand so loops are named.
 */
export class HttpSource implements Source {
  readonly kind = 'http' as const;
  /** Made on the first download (see `agentOnce`). */
  private agent: Promise<Agent> | null = null;
  private readonly shared: HttpSourceShared;

  constructor(
    private readonly config: Config,
    shared?: HttpSourceShared,
    private readonly fallbacks: HttpFallbacks = {},
  ) {
    this.shared = shared ?? createSharedLimits(config);
  }

  /**
   * The connection pool, with undici loaded on the first download: a command that downloads nothing (search, tags,
   * a re-run with every input done) does not load the HTTP client's modules at start-up.
   */
  private agentOnce(): Promise<Agent> {
    const s = this.config.Sources;
    return (this.agent ??= import('undici').then(
      ({ Agent }) => new Agent({ connectTimeout: s.ConnectTimeoutSec * 1000, headersTimeout: s.ConnectTimeoutSec * 1000, bodyTimeout: s.IdleTimeoutSec * 1000, keepAliveTimeout: 10_000 }),
    ));
  }

  canHandle(input: InputItem): boolean {
    return input.kind === 'url' && !!input.url && /^https?:\/\//i.test(input.url);
  }

  async acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const url = input.url!;
    let r: HttpDownloadResult;
    try {
      r = await this.download(url, ctx);
    } catch (err) {
      if (!(err instanceof AcquireError)) throw err;
      if (err.code === SourceCode.Playlist && this.fallbacks.stream) return this.fallbacks.stream.acquire(input, ctx);
      const page = this.fallbacks.page;
      if (err.page && page) {
        if (page.binary() instanceof AcquireError) {
          // turned off on purpose: telling the user to install it would be wrong
          const message = this.config.Sources.YtDlp.trim().toLowerCase() === 'off'
            ? `${err.message}; yt-dlp, which looks for videos on web pages, is turned off ([Sources] YtDlp = off)`
            : `${err.message} (install yt-dlp to take videos from web pages: ${INSTALL_HINTS['yt-dlp']})`;
          throw new AcquireError(message, { code: err.code, cause: err });
        }
        ctx.logger.info({ url: redactUrl(url) }, 'the URL is a web page; asking yt-dlp for its video');
        try {
          return await page.fetchPage(url, ctx);
        } catch (inner) {
          const why = inner instanceof Error ? inner.message.replace(/^yt-dlp: /, '') : String(inner);
          // what the server sent (and its type) and why yt-dlp found no video there, on one line
          throw new AcquireError(`${err.message}, and yt-dlp found none on it: ${why}`, {
            code: err.code,
            retryable: inner instanceof AcquireError && inner.retryable,
            cause: inner,
          });
        }
      }
      throw err;
    }
    return {
      path: r.path,
      bytes: r.bytes,
      sha256: r.sha256,
      storage: 'download',
      source: { url, kind: 'http', fetchedAt: new Date().toISOString(), ...(r.finalUrl !== url ? { pageUrl: r.finalUrl } : {}) },
    };
  }

  /** The download itself, for callers that want the details (attempts, resumed bytes). */
  download(url: string, ctx: Pick<AcquireContext, 'mediaDir' | 'signal' | 'logger' | 'progress'>): Promise<HttpDownloadResult> {
    const s = this.config.Sources;
    return this.shared.hosts.run(url, async () =>
      downloadHttp({
        url,
        dir: ctx.mediaDir,
        partDir: path.join(ctx.mediaDir, PARTIAL_DIR),
        dispatcher: await this.agentOnce(),
        retries: s.Retries,
        backoffMs: s.RetryBackoffMs,
        maxRetryWaitMs: s.MaxRetryWaitSec * 1000,
        maxRedirects: s.MaxRedirects,
        maxBytes: s.MaxBytes,
        userAgent: s.UserAgent,
        fsync: s.Fsync,
        throttle: this.shared.throttle,
        signal: ctx.signal,
        logger: ctx.logger,
        progress: (d, t) => ctx.progress(d, t),
      }),
    );
  }

  async close(): Promise<void> {
    if (this.agent) await (await this.agent).close();
  }
}
