import type { Config } from '../core/index.js';
import { HlsSource } from './hls-source.js';
import { createSharedLimits, HttpSource } from './http-source.js';
import { ListAwareSource } from './list-source.js';
import { LocalSource } from './local-source.js';
import type { Source } from './source.js';
import { YtDlpSource } from './ytdlp-source.js';

export interface SourceSet {
  /** In the order they are asked: local files, HLS/DASH manifests, yt-dlp sites, then plain HTTP(S). */
  readonly sources: readonly Source[];
  /** Closes the HTTP connection pool. */
  close(): Promise<void>;
}

/**
 * Every source, sharing one per-host limit and one bandwidth cap, each wrapped for labelled-list rows (labels,
 * trimming). HTTP hands HTML pages to yt-dlp and manifests served without an extension to the HLS source.
 */
export function createSources(config: Config, options: { envPath?: string } = {}): SourceSet {
  const shared = createSharedLimits(config);
  const local = new LocalSource();
  const hls = new HlsSource(config, shared.hosts);
  const ytdlp = new YtDlpSource(config, shared.hosts, options.envPath);
  const http = new HttpSource(config, shared, { page: ytdlp, stream: hls });
  return {
    sources: [local, hls, ytdlp, http].map((s) => new ListAwareSource(s, config)),
    close: () => http.close(),
  };
}
