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
  Encoding: 'E_ENCODING',
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
  Unreadable: 'E_UNREADABLE',
  Changing: 'E_FILE_CHANGING',
  Disk: 'E_DISK',
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

/** What the system said, in words, for the errors a local file meets (Node's text is `EACCES: permission denied, open '/x'`). */
const LOCAL_CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links (a link loop)',
  ENAMETOOLONG: 'the path is too long',
  EIO: 'input/output error (a failing disk or network share)',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  EROFS: 'read-only file system',
  EEXIST: 'a file is in the way of the folder',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
};

/** A file-system error's cause in words, with its code: `permission denied (EACCES)`; Node's message for others. */
export function fsCause(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such file or folder';
  return LOCAL_CAUSES[code] ? `${LOCAL_CAUSES[code]} (${code})` : ((err as Error | null)?.message ?? String(err));
}

/**
 * A local file that cannot be read, as one line with a stable code: missing (`E_NOT_FOUND`), a folder
 * (`E_LOCAL_MISSING`), or unreadable (`E_UNREADABLE`, with the cause in words). A file the run reads fine but cannot
 * copy into MediaDir (`LocalMode = copy`) is `E_DISK`, as a download that cannot be written is.
 */
export function localFileError(err: unknown, doing: 'read' | 'copy', mediaDir = ''): AcquireError {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
  const cause = fsCause(err);
  if (doing === 'copy') return new AcquireError(`cannot copy the file into ${mediaDir || 'MediaDir'}: ${cause}`, { code: SourceCode.Disk, cause: err });
  if (code === 'ENOENT' || code === 'ENOTDIR') return new AcquireError('no such file', { code: 'E_NOT_FOUND', cause: err });
  if (code === 'EISDIR') return new AcquireError('not a regular file', { code: SourceCode.LocalMissing, cause: err });
  // too many open files passes: the run retries it once others have closed
  return new AcquireError(`cannot read the file: ${cause}`, { code: SourceCode.Unreadable, retryable: code === 'EMFILE' || code === 'ENFILE', cause: err });
}

/** An input no source takes (`ftp://…`, `s3://…`): what videodex reads instead, with a stable code. */
export function unsupportedInput(input: { raw: string; url?: string }): AcquireError {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input.url ?? input.raw)?.[1]?.toLowerCase();
  const what = scheme ? `${scheme}: addresses are not read` : 'not an address or file videodex reads';
  return new AcquireError(`${what}; videodex reads http(s) URLs, HLS/DASH manifests (.m3u8, .mpd), ytdl: addresses and local files`, { code: SourceCode.NoHandler });
}
