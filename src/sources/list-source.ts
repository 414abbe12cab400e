import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { findOnPath, runTool, sha256File, type Config, type SourceInfo } from '../core/index.js';
import type { InputItem } from './input-item.js';
import { moveToUniquePath, safeFileName } from './media-names.js';
import { PARTIAL_DIR } from './partial-dir.js';
import { countRowDone, withSharedWhole } from './shared-whole.js';
import { AcquireError, SourceCode } from './source-errors.js';
import type { AcquireContext, Acquired, Source } from './source.js';

/** How close (seconds) a keyframe must sit to `start` for a stream copy to cut exactly there. */
const KEYFRAME_TOLERANCE_SEC = 0.05;

export type TrimMethod = 'copy' | 'reencode';

/** `12` → `000012`, `1.5` → `000001.500`: sortable, Kinetics-style clip suffixes. */
function stamp(sec: number): string {
  const whole = Math.floor(sec);
  const frac = Math.round((sec - whole) * 1000);
  return `${String(whole).padStart(6, '0')}${frac ? `.${String(frac).padStart(3, '0')}` : ''}`;
}

/** Keyframe times (seconds) of the first video stream between `from` and `to`. */
export async function keyframesBetween(ffprobe: string, file: string, from: number, to: number, signal?: AbortSignal): Promise<number[]> {
  const { stdout } = await runTool(
    ffprobe,
    ['-v', 'error', '-select_streams', 'v:0', '-skip_frame', 'nokey', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0',
      '-read_intervals', `${Math.max(0, from)}%${to}`, file],
    { timeoutMs: 120_000, ...(signal ? { signal } : {}) },
  );
  return stdout
    .toString('utf8')
    .split('\n')
    .map((l) => Number.parseFloat(l.split(',')[0] ?? ''))
    .filter((n) => Number.isFinite(n));
}

/** How many video packets `file` holds (0 when it has no video stream). */
async function videoPackets(ffprobe: string, file: string, signal?: AbortSignal): Promise<number> {
  const { stdout } = await runTool(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], {
    timeoutMs: 120_000,
    ...(signal ? { signal } : {}),
  });
  const n = Number.parseInt(stdout.toString('utf8').trim(), 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Cuts `[start, end)` of `file` into `out` (written as `.part`, then renamed by the caller). `auto` stream-copies
 * when a keyframe sits at `start` (no quality loss, instant) and re-encodes (H.264 CRF 18 + AAC) otherwise, so
 * a clip never starts on frames that cannot be decoded. Returns the method used.
 */
export async function trimVideo(
  tools: { ffmpeg: string; ffprobe: string },
  file: string,
  range: { start: number; end?: number },
  out: string,
  mode: 'auto' | TrimMethod,
  opts: { timeoutMs: number; signal?: AbortSignal } = { timeoutMs: 3_600_000 },
): Promise<TrimMethod> {
  const { start, end } = range;
  let method: TrimMethod = mode === 'auto' ? 'reencode' : mode;
  if (mode === 'auto') {
    if (start <= 0) method = 'copy';
    else {
      const kfs = await keyframesBetween(tools.ffprobe, file, start - 1, start + KEYFRAME_TOLERANCE_SEC, opts.signal);
      if (kfs.some((t) => Math.abs(t - start) <= KEYFRAME_TOLERANCE_SEC)) method = 'copy';
    }
  }
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  if (start > 0) args.push('-ss', String(start));
  args.push('-i', file);
  if (end !== undefined) args.push('-t', String(end - start));
  if (method === 'copy') args.push('-map', '0:v?', '-map', '0:a?', '-c', 'copy', '-avoid_negative_ts', 'make_zero');
  else args.push('-map', '0:v:0', '-map', '0:a?', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k');
  args.push('-movflags', '+faststart', '-f', 'mp4', out);
  await runTool(tools.ffmpeg, args, { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  return method;
}

/**
 * Where a list row cuts its clip from (`local:<path>` or `url:<url>`), or null when the row takes its whole video
 * (no start or end) or is no list row: rows with the same address share one fetch of the whole video.
 */
export function segmentAddress(item: InputItem): string | null {
  const l = item.list;
  if (!l || (l.start === undefined && l.end === undefined)) return null;
  return item.kind === 'local' ? `local:${item.path}` : `url:${item.url}`;
}

/**
 * Wraps a source for labelled-list rows (Kinetics CSV): the row's label becomes a category with source `list`,
 * the row is kept on `source.list`, and `start`/`end` cut the acquired video into a clip (`[Sources] TrimMode`),
 * the method recorded as `source.list.trim`. Items without a list pass straight through.
 */
export class ListAwareSource implements Source {
  readonly kind: Source['kind'];

  constructor(
    private readonly inner: Source,
    private readonly config: Config,
  ) {
    this.kind = inner.kind;
  }

  canHandle(input: InputItem): boolean {
    return this.inner.canHandle(input);
  }

  /**
   * The whole videos that several rows of this run cut clips from, by address: fetched once and kept until the
   * last of those rows has its clip (or the run ends). Each row fetched the whole video again: fifty labelled
   * segments of one long video meant fifty downloads of it.
   */
  private readonly wholes = new Map<string, { rows: number; whole?: Promise<Acquired> }>();

  beginRun(items: readonly InputItem[]): void {
    this.wholes.clear();
    const rows = new Map<string, number>();
    for (const item of items) {
      const at = this.segmentOf(item);
      if (at) rows.set(at, (rows.get(at) ?? 0) + 1);
    }
    for (const [at, n] of rows) if (n > 1) this.wholes.set(at, { rows: n });
  }

  async endRun(): Promise<void> {
    const left = [...this.wholes.values()];
    this.wholes.clear();
    await Promise.all(left.map((w) => this.dropWhole(w.whole)));
  }

  /** The address of a row that cuts a clip from a video this source takes; null for any other input. */
  private segmentOf(item: InputItem): string | null {
    return this.canHandle(item) ? segmentAddress(item) : null;
  }

  private async dropWhole(whole: Promise<Acquired> | undefined): Promise<void> {
    const acquired = whole ? await whole.catch(() => null) : null;
    // a user's own file (reference) is never touched
    if (acquired && acquired.storage !== 'reference') await rm(acquired.path, { force: true });
  }

  async notAcquired(input: InputItem, ctx: Pick<AcquireContext, 'mediaDir' | 'logger' | 'signal'>): Promise<void> {
    const at = this.segmentOf(input);
    if (at && input.shared && input.shared.rows > 1) await countRowDone({ ...input, shared: input.shared }, at, ctx);
  }

  async acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const at = this.segmentOf(input);
    const shared = at ? this.wholes.get(at) : undefined;
    if (!shared && at && input.shared && input.shared.rows > 1) {
      // rows of one video in separate runs (queue jobs): shared through the media folder instead of this run
      const item = { ...input, shared: input.shared };
      return withSharedWhole(item, at, ctx, () => this.inner.acquire(input, ctx), (whole) => this.acquireRow(input, ctx, whole, true));
    }
    if (!shared) return this.acquireRow(input, ctx, await this.inner.acquire(input, ctx), false);
    try {
      shared.whole ??= this.inner.acquire(input, ctx);
      return await this.acquireRow(input, ctx, await shared.whole, true);
    } finally {
      if (--shared.rows === 0 && this.wholes.get(at!) === shared) {
        this.wholes.delete(at!);
        await this.dropWhole(shared.whole);
      }
    }
  }

  private async acquireRow(input: InputItem, ctx: AcquireContext, acquired: Acquired, keepWhole: boolean): Promise<Acquired> {
    const list = input.list;
    if (!list) return acquired;
    const categories = [...(acquired.categories ?? [])];
    if (list.label) categories.push({ name: list.label, source: 'list' });
    const sourceList: NonNullable<SourceInfo['list']> = { ...list };
    if (list.start === undefined && list.end === undefined) {
      return { ...acquired, categories, source: { ...acquired.source, list: sourceList } };
    }
    const clip = await this.cut(acquired, list.start ?? 0, list.end, ctx, input, keepWhole);
    sourceList.trim = clip.method;
    return { ...clip.acquired, categories, source: { ...acquired.source, list: sourceList } };
  }

  private async cut(acquired: Acquired, start: number, end: number | undefined, ctx: AcquireContext, input: InputItem, keepWhole: boolean): Promise<{ acquired: Acquired; method: TrimMethod }> {
    const ffmpeg = ctx.tools?.ffmpeg.path ?? findOnPath('ffmpeg');
    const ffprobe = ctx.tools?.ffprobe.path ?? findOnPath('ffprobe');
    if (!ffmpeg || !ffprobe) throw new AcquireError('trimming a list row needs ffmpeg and ffprobe; install them: apt-get install -y ffmpeg', { code: 'E_TOOL_MISSING' });
    const partDir = path.join(ctx.mediaDir, PARTIAL_DIR);
    await mkdir(partDir, { recursive: true });
    const part = path.join(partDir, `${acquired.sha256.slice(0, 24)}-${stamp(start)}-${end === undefined ? 'end' : stamp(end)}.clip.part`);
    let method: TrimMethod;
    try {
      // a re-encode is as heavy as any ffmpeg job of the pipeline: it waits for a Cpu slot, not only the download's
      method = await cpuJob(ctx, () =>
        trimVideo({ ffmpeg, ffprobe }, acquired.path, { start, ...(end !== undefined ? { end } : {}) }, part, this.config.Sources.TrimMode, {
          timeoutMs: this.config.Sources.ToolTimeoutSec * 1000,
          signal: ctx.signal,
        }),
      );
    } catch (err) {
      await rm(part, { force: true });
      const why = err instanceof Error ? err.message : String(err);
      throw new AcquireError(`cutting ${start}-${end ?? 'end'} s of ${input.raw} failed: ${why}`, { code: SourceCode.Trim, cause: err });
    }
    const info = await stat(part).catch(() => null);
    // a start past the end still gives a file: the container's header, with no frame in it
    if (!info || info.size === 0 || (await cpuJob(ctx, () => videoPackets(ffprobe, part, ctx.signal)).catch(() => 0)) === 0) {
      await rm(part, { force: true });
      throw new AcquireError(`cutting ${start}-${end ?? 'end'} s of ${input.raw} gave an empty clip (is start past the end?)`, { code: SourceCode.Trim });
    }
    const sha256 = await sha256File(part);
    const stem = path.basename(acquired.path, path.extname(acquired.path));
    const finalPath = await moveToUniquePath(part, ctx.mediaDir, `${safeFileName(stem)}_${stamp(start)}_${end === undefined ? 'end' : stamp(end)}.mp4`);
    // The full-length file was only a means to the clip (other rows' clips too, when kept); a user's own file
    // (reference) is never touched.
    if (!keepWhole && acquired.storage !== 'reference') await rm(acquired.path, { force: true });
    ctx.logger.info({ input: input.raw, start, end, method }, 'list row trimmed');
    return {
      method,
      acquired: { ...acquired, path: finalPath, bytes: info.size, sha256, storage: acquired.storage === 'reference' ? 'copy' : acquired.storage },
    };
  }
}

function cpuJob<T>(ctx: AcquireContext, job: () => Promise<T>): Promise<T> {
  return ctx.cpu ? ctx.cpu(job) : job();
}
