import type { AuditLog, Config, ContentCache, Logger, MediaTools, Resource, Video, VideoPatch } from '../core/index.js';

/** What a stage may use while it runs. Built by the runner; a stage never reaches for globals. */
export interface StageContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly tools: MediaTools;
  readonly cache: ContentCache;
  readonly audit: AuditLog;
  readonly signal: AbortSignal;
  /**
   * The run asked for this stage again (`--force <stage>`): a stage that keeps partial results between attempts
   * (describe's answers by request) starts afresh instead of reusing them.
   */
  readonly forced?: boolean;
  /** Progress inside the stage, 0..1, for long stages (downloads, scene detection). */
  progress(fraction: number): void;
  /**
   * Runs one ffmpeg/ffprobe job under the `[Concurrency] Cpu` limit. For a stage whose resource is not `cpu` (the
   * model stage renders frames); in a `cpu` stage, which already holds a slot, it runs the job at once.
   */
  cpu<T>(job: () => Promise<T>): Promise<T>;
}

/** A dry-run plan with the model tokens it would spend. */
export interface StagePlan {
  text: string;
  estimatedTokens?: number;
}

/**
 * A pipeline stage. The runner calls `run` only when the stage's `version` or `inputHash` differs from its
 * last `done` entry on the record (or it is forced), under the concurrency limit of its `resource`, and saves
 * the returned patch at once. Throwing marks the stage `failed` on the record for this video only.
 */
export interface Stage {
  readonly name: string;
  /** Bump when the stage's output for the same input changes. */
  readonly version: string;
  /** Stages that must be `done` (or `skipped`) first. */
  readonly needs: readonly string[];
  readonly resource: Resource;
  /**
   * Optional: the stage reads a person's tag edits (`extra._userTags`, tagging's `tag` stage). The runner gives it
   * the edits as stored when it runs, not those of the copy it has held since the run began, and runs it (and the
   * stages after it) again when a later write of the record finds them edited meanwhile.
   */
  readonly readsUserEdits?: boolean;
  /** Hash of everything the output depends on: the record fields read and the settings used. */
  inputHash(video: Video, config: Config): string;
  /**
   * Optional: a reason to skip this stage for this video (e.g. no model endpoint); recorded as `skipped`.
   * Return null to run.
   */
  skipReason?(video: Video, config: Config): string | null;
  /**
   * Optional: the reason `skipReason` gives every video under these settings whatever the record holds (describe
   * with no endpoint, scenes with scene detection off), or null. A dry run says it for inputs not acquired yet,
   * whose record it cannot ask. Read from videodex's own stages only: a plugin stage is listed as one that runs.
   */
  settingsSkipReason?(config: Config): string | null;
  /**
   * Optional: what a run would do, for --dry-run (e.g. frames and estimated tokens). A stage that calls a
   * model may also return its estimated tokens, which the runner totals.
   */
  plan?(video: Video, ctx: StageContext): Promise<string | StagePlan>;
  /**
   * Optional: true when the record lacks what this stage's last successful run put on it (another stage's patch
   * dropped it), so the stage runs again although its version and input hash match.
   */
  outputMissing?(video: Video, config: Config): boolean;
  /** Cache the patch by (content hash, version, input hash) in the content cache; for expensive stages. */
  readonly cacheable?: boolean;
  run(video: Video, ctx: StageContext): Promise<VideoPatch>;
}
