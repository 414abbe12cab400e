import type { Config, Logger, MediaTools, SourceInfo, SourceKind, Tag, Category } from '../core/index.js';
import type { InputItem } from './input-item.js';

export interface AcquireContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** ffmpeg/ffprobe, for HLS/DASH and for trimming list rows; absent in callers that only fetch files. */
  readonly tools?: MediaTools;
  /** Where downloads and copies go. */
  readonly mediaDir: string;
  /** Bytes so far and total (when known). */
  progress(done: number, total: number | null): void;
  /**
   * Runs an ffmpeg/ffprobe job that is not the download itself (cutting a list row's clip) under the
   * `[Concurrency] Cpu` limit; absent: at once (callers without a pipeline).
   */
  cpu?<T>(job: () => Promise<T>): Promise<T>;
}

/** A video on local disk, ready to probe. */
export interface Acquired {
  path: string;
  bytes: number;
  sha256: string;
  storage: 'reference' | 'link' | 'copy' | 'download';
  source: SourceInfo;
  /** Tags and categories the source itself gave (yt-dlp tags, list labels). */
  tags?: Tag[];
  categories?: Category[];
}

/**
 * Brings one input to local disk. Implementations write to `<name>.part` and rename, so a crash never
 * leaves a half file under a final name. Throws SourceError (retryable set where trying again can help).
 */
export interface Source {
  readonly kind: SourceKind;
  /** Whether this source takes the input (first match wins, in the order sources are registered). */
  canHandle(input: InputItem): boolean;
  acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired>;
  /** Told a run's inputs before it starts, so work they have in common can be done once. Optional. */
  beginRun?(items: readonly InputItem[]): void;
  /** Told the run ended (also when stopped): what was kept for its inputs goes. Optional. */
  endRun?(): Promise<void>;
  /**
   * Told an input it takes needs no acquisition this time (acquired before and unchanged, or failed before and not
   * tried again), so what it keeps for the inputs sharing work with this one (queued list rows of one video) does
   * not wait for it. Never throws. Optional.
   */
  notAcquired?(input: InputItem, ctx: Pick<AcquireContext, 'mediaDir' | 'logger' | 'signal'>): Promise<void>;
}
