import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { INSTALL_HINTS, locateTool, parseExternalJson, runTool, sha256File, ToolError, type Category, type Config, type SourceInfo, type Tag } from '../core/index.js';
import { fileHead, sniffNotVideo } from './content-sniff.js';
import type { HostLimiter } from './host-limiter.js';
import { redactUrl } from './http-download.js';
import type { InputItem } from './input-item.js';
import { moveToUniquePath, safeFileName } from './media-names.js';
import { withPart } from './part-lock.js';
import { PARTIAL_DIR } from './partial-dir.js';
import { AcquireError, SourceCode } from './source-errors.js';
import type { AcquireContext, Acquired, Source } from './source.js';

/** Prefix that sends any URL to yt-dlp: `ytdl:https://example.com/page`. */
export const YTDLP_PREFIX = /^(ytdl|yt-dlp):/i;

/** The fields of yt-dlp's info.json that videodex keeps. */
export interface YtDlpInfo {
  id?: string;
  title?: string;
  uploader?: string;
  channel?: string;
  upload_date?: string;
  timestamp?: number;
  webpage_url?: string;
  original_url?: string;
  duration?: number;
  description?: string;
  tags?: string[] | null;
  categories?: string[] | null;
  extractor_key?: string;
}

/** Maps info.json onto the record: source fields, and tags/categories with source `metadata`. */
export function mapYtDlpInfo(info: YtDlpInfo, url: string, fetchedAt = new Date().toISOString()): { source: SourceInfo; tags: Tag[]; categories: Category[] } {
  const uploadedAt = uploadDate(info);
  const source: SourceInfo = {
    url,
    kind: 'ytdlp',
    fetchedAt,
    ...(info.title ? { title: info.title } : {}),
    ...(info.uploader || info.channel ? { uploader: (info.uploader ?? info.channel)! } : {}),
    ...(uploadedAt ? { uploadedAt } : {}),
    ...(info.webpage_url ? { pageUrl: info.webpage_url } : {}),
    ...(info.description ? { description: info.description.slice(0, 5000) } : {}),
    ...(typeof info.duration === 'number' ? { durationSec: info.duration } : {}),
  };
  const clean = (xs: unknown): string[] =>
    Array.isArray(xs) ? [...new Set(xs.filter((x): x is string => typeof x === 'string').map((x) => x.trim()).filter(Boolean))].slice(0, 100) : [];
  return {
    source,
    tags: clean(info.tags).map((name) => ({ name, source: 'metadata' as const })),
    categories: clean(info.categories).map((name) => ({ name, source: 'metadata' })),
  };
}

function uploadDate(info: YtDlpInfo): string | null {
  if (info.upload_date && /^\d{8}$/.test(info.upload_date)) {
    const d = info.upload_date;
    return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  }
  if (typeof info.timestamp === 'number') return new Date(info.timestamp * 1000).toISOString();
  return null;
}

function hostMatches(url: string, hosts: readonly string[]): boolean {
  try {
    const h = new URL(url).hostname.toLowerCase().replace(/^www\./, '');
    return hosts.some((d) => h === d.toLowerCase() || h.endsWith(`.${d.toLowerCase()}`));
  } catch {
    return false;
  }
}

/**
 * Pages of video sites, through yt-dlp (`[Sources] YtDlp = auto|<path>|off`), run with an argument array, the
 * `[Sources] YtDlpFormat` selector and `--write-info-json`. Takes URLs of `[Sources] YtDlpHosts`, URLs written
 * `ytdl:<url>`, and (through HttpSource) any page that answered HTML. A missing yt-dlp fails only these inputs,
 * with the command that installs it.
 */
export class YtDlpSource implements Source {
  readonly kind = 'ytdlp' as const;
  private located: { path: string } | AcquireError | null = null;

  constructor(
    private readonly config: Config,
    private readonly hosts?: HostLimiter,
    private readonly envPath?: string,
  ) {}

  canHandle(input: InputItem): boolean {
    if (input.kind !== 'url' || !input.url) return false;
    return YTDLP_PREFIX.test(input.url) || hostMatches(input.url, this.config.Sources.YtDlpHosts);
  }

  /** yt-dlp's path, or the error that explains why it cannot be used. Found once per process. */
  binary(): { path: string } | AcquireError {
    if (this.located) return this.located;
    const setting = this.config.Sources.YtDlp.trim();
    if (setting.toLowerCase() === 'off') {
      this.located = new AcquireError('yt-dlp is turned off ([Sources] YtDlp = off); this URL needs it', { code: SourceCode.YtDlpMissing });
    } else {
      try {
        this.located = { path: locateTool('yt-dlp', setting, this.envPath).path };
      } catch {
        this.located = new AcquireError(
          `yt-dlp is needed for this URL but was not found${setting !== 'auto' ? ` at ${setting}` : ' on PATH'}; install it: ${INSTALL_HINTS['yt-dlp']}`,
          { code: SourceCode.YtDlpMissing },
        );
      }
    }
    return this.located;
  }

  acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const url = input.url!.replace(YTDLP_PREFIX, '');
    const run = () => this.fetchPage(url, ctx);
    return this.hosts ? this.hosts.run(url, run) : run();
  }

  /** Downloads the video of a page; `url` without any `ytdl:` prefix. */
  async fetchPage(url: string, ctx: AcquireContext): Promise<Acquired> {
    const bin = this.binary();
    if (bin instanceof AcquireError) throw bin;
    const s = this.config.Sources;
    const work = path.join(ctx.mediaDir, PARTIAL_DIR, `ytdlp-${createHash('sha256').update(url).digest('hex').slice(0, 24)}`);
    // One yt-dlp per work folder, in this process or another sharing MediaDir: two of them (a list's plain row and
    // a clip row of one video, two workers) continued each other's fragments, and the first to finish removed the
    // folder under the second, which failed with a bare 'ENOENT ... scandir'.
    return withPart(work, () => this.fetchInto(url, work, bin.path, ctx), {
      signal: ctx.signal,
      onWait: (holder) => ctx.logger.info({ url: redactUrl(url), holder }, 'another yt-dlp is fetching this URL into the same media folder; waiting for it'),
    });
  }

  private async fetchInto(url: string, work: string, binPath: string, ctx: AcquireContext): Promise<Acquired> {
    const s = this.config.Sources;
    await mkdir(work, { recursive: true });
    const args = [
      '--ignore-config', '--no-playlist', '--no-color', '--newline', '--no-mtime', '--continue',
      // One parseable line per progress update (bytes so far, total or its estimate), for the progress bar.
      '--progress', '--progress-template', `download:${PROGRESS_MARK} %(progress.downloaded_bytes)s %(progress.total_bytes)s %(progress.total_bytes_estimate)s`,
      '-f', s.YtDlpFormat,
      '--merge-output-format', 'mp4',
      '--write-info-json', '--no-write-playlist-metafiles', '--no-write-comments',
      '--retries', String(s.Retries), '--fragment-retries', String(s.Retries),
      '--socket-timeout', String(s.IdleTimeoutSec),
      '-P', work, '-o', '%(id).60s.%(ext)s',
      ...(ctx.tools ? ['--ffmpeg-location', ctx.tools.ffmpeg.path] : []),
      ...(s.MaxBytes > 0 ? ['--max-filesize', String(s.MaxBytes)] : []),
      ...(s.MaxBytesPerSec > 0 ? ['--limit-rate', String(s.MaxBytesPerSec)] : []),
      '--', url,
    ];
    let output: string;
    const printed: string[] = [];
    const onStdoutLine = (line: string) => {
      const p = parseProgressLine(line);
      if (p) ctx.progress(p.done, p.total);
      else if (printed.length < 200) printed.push(line);
    };
    try {
      const r = await runTool(binPath, args, { timeoutMs: s.ToolTimeoutSec * 1000, signal: ctx.signal, cwd: work, onStdoutLine });
      output = `${printed.join('\n')}\n${r.stderr}`;
    } catch (err) {
      throw classifyYtDlpError(err, url);
    }
    const files = await readdir(work);
    const infoFile = files.find((f) => f.endsWith('.info.json'));
    const media = files.filter((f) => !f.endsWith('.json') && !f.endsWith('.part') && !f.endsWith('.ytdl') && !/\.f\d+\.\w+$/.test(f));
    if (!media.length) {
      if (/larger than max-filesize/i.test(output)) {
        throw new AcquireError(`the video is over the ${s.MaxBytes}-byte limit ([Sources] MaxBytes)`, { code: SourceCode.TooLarge });
      }
      throw new AcquireError(`yt-dlp finished without a video file`, { code: SourceCode.YtDlpFailed });
    }
    const info: YtDlpInfo = infoFile ? (parseExternalJson(await readFile(path.join(work, infoFile), 'utf8')) as YtDlpInfo) : {};
    const mapped = mapYtDlpInfo(info, url);
    const mediaFile = path.join(work, media.sort()[0]!);
    // yt-dlp's generic extractor saves what the URL serves when it finds no video on it: a login page at a .mp4
    // URL was kept as a video, failed at probe, and every expired link's page became one record
    const notVideo = sniffNotVideo(await fileHead(mediaFile), { anyText: true });
    if (notVideo) {
      await rm(work, { recursive: true, force: true });
      throw new AcquireError(`it saved ${notVideo}, not a video`, { code: SourceCode.NotVideo });
    }
    const bytes = (await stat(mediaFile)).size;
    const sha256 = await sha256File(mediaFile);
    const ext = path.extname(mediaFile);
    const base = info.title ? `${info.title}${info.id ? ` [${info.id}]` : ''}` : (info.id ?? 'video');
    const finalPath = await moveToUniquePath(mediaFile, ctx.mediaDir, `${safeFileName(base, 'video').replace(/\.[A-Za-z0-9]{1,10}$/, '')}${ext}`);
    await rm(work, { recursive: true, force: true });
    ctx.logger.info({ url: redactUrl(url), path: finalPath, extractor: info.extractor_key }, 'yt-dlp download done');
    ctx.progress(bytes, bytes);
    return { path: finalPath, bytes, sha256, storage: 'download', source: mapped.source, tags: mapped.tags, categories: mapped.categories };
  }
}

/** yt-dlp's `ERROR:` line, with retryability read from what it says. */
export function classifyYtDlpError(raw: unknown, url: string): AcquireError {
  if (raw instanceof AcquireError) return raw;
  if (!(raw instanceof ToolError)) return new AcquireError(`yt-dlp: ${(raw as Error)?.message ?? String(raw)}`, { code: SourceCode.YtDlpFailed, cause: raw });
  if (raw.code === 'E_TOOL_MISSING') {
    return new AcquireError(`yt-dlp is needed for this URL but could not be run; install it: ${INSTALL_HINTS['yt-dlp']}`, { code: SourceCode.YtDlpMissing, cause: raw });
  }
  if (raw.code === 'E_TOOL_TIMEOUT') return new AcquireError(`yt-dlp ran longer than [Sources] ToolTimeoutSec`, { code: SourceCode.YtDlpFailed, retryable: true, cause: raw });
  const lines = raw.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = (lines.filter((l) => l.startsWith('ERROR:')).at(-1) ?? lines.at(-1) ?? raw.message).replace(/^ERROR:\s*/, '');
  const status = /HTTP Error (\d{3})/i.exec(error);
  const code = status ? Number(status[1]) : null;
  const retryable = (code !== null && (code >= 500 || code === 429)) || /timed out|Connection reset|Temporary failure|Remote end closed|IncompleteRead/i.test(error);
  return new AcquireError(`yt-dlp: ${error.slice(0, 300)}`, {
    code: code === 429 ? SourceCode.RateLimited : SourceCode.YtDlpFailed,
    retryable,
    ...(code !== null ? { status: code } : {}),
    cause: raw,
  });
}

const PROGRESS_MARK = 'videodex-progress';

/** A `--progress-template` line: bytes so far and the total (exact, else yt-dlp's estimate, else unknown). */
export function parseProgressLine(line: string): { done: number; total: number | null } | null {
  if (!line.startsWith(PROGRESS_MARK)) return null;
  const [, done, total, estimate] = line.trim().split(/\s+/);
  const n = (v: string | undefined) => (v && /^\d+(\.\d+)?$/.test(v) ? Math.round(Number(v)) : null);
  const d = n(done);
  return d === null ? null : { done: d, total: n(total) ?? n(estimate) };
}
