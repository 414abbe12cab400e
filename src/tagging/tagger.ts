import type { Config, Logger, Tag, Video } from '../core/index.js';

export interface TaggerContext {
  readonly config: Config;
  readonly logger: Logger;
  /** A plugin tagger's: aborted once it has run `[Plugins] StageTimeoutSec` on one video (its tag stage has failed). */
  readonly signal?: AbortSignal;
}

/** Derives tags from a record. Pure with respect to the record: no downloads, no model calls. */
export interface Tagger {
  readonly name: string;
  tag(video: Video, ctx: TaggerContext): Tag[] | Promise<Tag[]>;
}
