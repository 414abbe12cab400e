import { SourceError } from '../core/index.js';

/**
 * Stable codes of acquisition failures. `videodex sources status` groups failures by them, and docs/sources.md
 * explains each. Retryable ones are retried in the run (with backoff) and again by `--retry-failed`.
 */
export const SourceCode = {
  HttpStatus: 'E_HTTP_STATUS',
  RateLimited: 'E_HTTP_429',
  ServerError: 'E_HTTP_5XX',
  Network: 'E_NETWORK',
  ConnectTimeout: 'E_CONNECT_TIMEOUT',
  IdleTimeout: 'E_IDLE_TIMEOUT',
  Truncated: 'E_TRUNCATED',
  NotVideo: 'E_NOT_VIDEO',
  Playlist: 'E_IS_PLAYLIST',
  TooLarge: 'E_TOO_LARGE',
  RedirectLoop: 'E_REDIRECT_LOOP',
  TooManyRedirects: 'E_TOO_MANY_REDIRECTS',
  BadUrl: 'E_BAD_URL',
  RetryAfterTooLong: 'E_RETRY_AFTER_TOO_LONG',
  YtDlpMissing: 'E_YTDLP_MISSING',
  YtDlpFailed: 'E_YTDLP',
  Hls: 'E_HLS',
  LocalMissing: 'E_LOCAL_MISSING',
  Trim: 'E_TRIM',
  NoHandler: 'E_NO_SOURCE',
} as const;

/** A SourceError that may carry how long the server asked us to wait. */
export class AcquireError extends SourceError {
  readonly retryAfterMs?: number;
  /** The body was a web page (HTML): yt-dlp may find the video on it. */
  readonly page?: boolean;
  constructor(message: string, options: { code: string; retryable?: boolean; status?: number; cause?: unknown; retryAfterMs?: number; page?: boolean }) {
    super(message, options);
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.page) this.page = true;
  }
}
