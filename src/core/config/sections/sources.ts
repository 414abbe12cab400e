import { bool, bytes, int, list, oneOf, str } from '../config-key.js';

export const Sources = {
  LocalMode: oneOf(['reference', 'link', 'copy'] as const, 'reference', 'Local files: reference in place, hard-link into MediaDir (falls back to copy across devices), or copy.'),
  MaxBytes: bytes(0, 'Largest download accepted (0 = no limit); also passed to yt-dlp as --max-filesize.'),
  Retries: int(5, { min: 0, max: 100 }, 'Retries of a download on network errors, timeouts, 5xx and 429 (never on other 4xx).'),
  RetryBackoffMs: int(1000, { min: 1, max: 600_000 }, 'First wait before a retry; doubles each retry (with random jitter), capped at 60 s.'),
  MaxRetryWaitSec: int(600, { min: 1, max: 86_400 }, 'Longest Retry-After honoured; a server asking for more fails the attempt (retryable later with --retry-failed).'),
  ConnectTimeoutSec: int(30, { min: 1, max: 3600 }, 'Seconds to wait for a connection and response headers.'),
  IdleTimeoutSec: int(60, { min: 1, max: 3600 }, 'Seconds a download may go without receiving a byte.'),
  MaxRedirects: int(10, { min: 0, max: 50 }, 'Redirects followed per request.'),
  PerHost: int(2, { min: 1, max: 64 }, 'Downloads at once from one host.'),
  MaxBytesPerSec: bytes(0, 'Global bandwidth cap over all HTTP downloads in this process, e.g. 10M (0 = none); also passed to yt-dlp as --limit-rate.'),
  Fsync: bool(true, 'fsync each download before renaming it into place, so even a power cut cannot leave a final name over missing bytes. Off trades that for speed on many small files (a killed process is still safe).'),
  UserAgent: str('videodex/0.1 (+https://github.com/videodex)', 'User-Agent header sent with downloads.'),
  YtDlp: str('auto', 'yt-dlp: auto (on PATH), a path, or off.'),
  YtDlpFormat: str('bv*[height<=?1080][ext=mp4]+ba[ext=m4a]/b[height<=?1080][ext=mp4]/bv*[height<=?1080]+ba/b', 'yt-dlp format selector (default: best up to 1080p, MP4 preferred; "<=?" keeps formats whose height is unknown).'),
  YtDlpHosts: list(
    ['youtube.com', 'youtu.be', 'vimeo.com', 'dailymotion.com', 'twitch.tv', 'tiktok.com', 'instagram.com', 'twitter.com', 'x.com', 'facebook.com', 'bilibili.com', 'reddit.com', 'streamable.com', 'ted.com'],
    'Hosts (and their subdomains) whose URLs go straight to yt-dlp. Other pages that answer HTML also fall back to yt-dlp.',
  ),
  ToolTimeoutSec: int(3600, { min: 10, max: 86_400 }, 'Longest one yt-dlp or ffmpeg (HLS/DASH, trimming) run may take; a live HLS stream is recorded for about this long.'),
  TrimMode: oneOf(['auto', 'copy', 'reencode'] as const, 'auto', 'Cutting list rows with start/end: auto (stream copy when a keyframe sits at the start, else re-encode), copy, or reencode.'),
} as const;
