import type { Writable } from 'node:stream';
import type { Config, Logger, Video } from '../core/index.js';
import type { TaggerContext } from '../tagging/index.js';
import type { Stage } from '../workflow/index.js';

/**
 * The plugin API version this build speaks. A plugin may state the version it was written for
 * (`apiVersion`); a plugin written for a newer API, or one older than MIN_PLUGIN_API_VERSION, is refused at
 * load time. Bumped only for breaking changes to the types below.
 */
export const PLUGIN_API_VERSION = 1;
export const MIN_PLUGIN_API_VERSION = 1;

/** Writes records in a format of the plugin's own (e.g. a COCO file, a spreadsheet). */
export interface PluginExporter {
  readonly name: string;
  readonly description?: string;
  /** File extension for `-o` defaults, without the dot. */
  readonly extension?: string;
  /**
   * Streams the records to `out`; returns how many were written. Must respect backpressure. `ctx.signal` is
   * aborted when it has gone `[Plugins] StageTimeoutSec` without taking its next record (or finishing after the
   * last): the export has failed then, and whatever the exporter still does is of no use.
   */
  write(records: AsyncIterable<Video>, out: Writable, ctx: { config: Config; logger: Logger; signal?: AbortSignal }): Promise<number>;
}

/** What a plugin tagger returns for one tag: a name, or a name with a confidence (0..1) and a detail. */
export type PluginTag = string | { name: string; confidence?: number; rule?: string; source?: string };

/**
 * A tagger a plugin adds to the `tag` stage. Its tags are recorded with `source: 'plugin'` and
 * `rule: '<plugin>/<tagger>'` unless it gives its own `rule`.
 */
export interface PluginTagger {
  readonly name: string;
  readonly version?: string;
  tag(video: Video, ctx: TaggerContext): readonly PluginTag[] | Promise<readonly PluginTag[]>;
}

/**
 * What a plugin module exports (as its default export, or as named exports): a name, a version, and any of
 * stages, taggers and exporters. Stage results belong in `extra[<plugin name>]`; tags a stage returns are
 * moved to `extra[<plugin name>].tags` and credited to the plugin, so `retag` keeps them.
 */
export interface VideodexPlugin {
  /** Unique among loaded plugins; lower-case letters, digits, - and _ (an npm scope is allowed). */
  readonly name: string;
  /** The plugin's own version (semver); part of its stages' and taggers' cache keys. */
  readonly version: string;
  /** The API version the plugin was written for; PLUGIN_API_VERSION when absent. */
  readonly apiVersion?: number;
  readonly description?: string;
  readonly stages?: readonly Stage[];
  readonly taggers?: readonly PluginTagger[];
  readonly exporters?: readonly PluginExporter[];
}

/** What a plugin factory (a default-exported function) receives. */
export interface PluginSetupContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly apiVersion: number;
}

/** A plugin module may export a plugin object, or a (possibly async) function that makes one. */
export type PluginFactory = (ctx: PluginSetupContext) => VideodexPlugin | Promise<VideodexPlugin>;

/** Identity helper that types a plugin object for authors: `export default definePlugin({...})`. */
export function definePlugin<T extends VideodexPlugin | PluginFactory>(plugin: T): T {
  return plugin;
}
