import { bytes, int, oneOf, str } from '../config-key.js';

export const Sources = {
  LocalMode: oneOf(['reference', 'link', 'copy'] as const, 'reference', 'Local files: reference in place, hard-link into MediaDir (falls back to copy across devices), or copy.'),
  MaxBytes: bytes(0, 'Largest download accepted (0 = no limit).'),
  Retries: int(5, { min: 0, max: 100 }, 'Retries of a download on network errors, 5xx and 429.'),
  ConnectTimeoutSec: int(30, { min: 1, max: 3600 }, 'Seconds to wait for a connection and response headers.'),
  IdleTimeoutSec: int(60, { min: 1, max: 3600 }, 'Seconds a download may go without receiving a byte.'),
  MaxRedirects: int(10, { min: 0, max: 50 }, 'Redirects followed per request.'),
  PerHost: int(2, { min: 1, max: 64 }, 'Downloads at once from one host.'),
  UserAgent: str('videodex/0.1 (+https://github.com/videodex)', 'User-Agent header sent with downloads.'),
  YtDlp: str('auto', 'yt-dlp: auto (on PATH), a path, or off.'),
  YtDlpFormat: str('bv*[height<=1080][ext=mp4]+ba[ext=m4a]/b[height<=1080][ext=mp4]/bv*[height<=1080]+ba/b', 'yt-dlp format selector.'),
} as const;
