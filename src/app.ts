import { mkdirSync } from 'node:fs';
import {
  AuditLog,
  ConfigError,
  ContentCache,
  createLogger,
  loadConfig,
  MediaTools,
  secretValues,
  type Config,
  type LoadConfigOptions,
  type LoadedConfig,
  type Logger,
  stableHash,
} from './core/index.js';
import { buildDataset, datasetOptions, videodexVersion, type DatasetFlags, type DatasetProgress, type DatasetReport } from './export/index.js';
import { expandInputs, HttpSource, LocalSource, type ExpandedInputs, type Source } from './sources/index.js';
import { SqliteStore, type SearchQuery, type VideoStore } from './store/index.js';
import { indexStage, PipelineRunner, probeStage, type RunOptions, type RunSummary, type Stage } from './workflow/index.js';

export interface AppOptions extends LoadConfigOptions {
  /** Log to the log file (default true); tests and one-shot reads may turn it off. */
  logToFile?: boolean;
}

/**
 * The composition root: reads the config once and builds the store, tools, sources and pipeline. The only
 * place that picks adapters or reads the environment.
 */
export class App {
  readonly config: Config;
  readonly logger: Logger;
  readonly secrets: readonly string[];
  private storePromise: Promise<VideoStore> | null = null;
  private toolsPromise: Promise<MediaTools> | null = null;

  constructor(readonly loaded: LoadedConfig, options: { logToFile?: boolean } = {}) {
    this.config = loaded.config;
    this.secrets = secretValues(loaded);
    this.logger = createLogger({
      file: options.logToFile === false ? null : this.config.Logging.File,
      level: this.config.Logging.Level,
      secrets: this.secrets,
    });
  }

  static create(options: AppOptions = {}): App {
    const loaded = loadConfig({ env: process.env, ...options });
    return new App(loaded, options);
  }

  /** The configured store, migrated. Drivers for other backends load only when asked for. */
  store(): Promise<VideoStore> {
    this.storePromise ??= (async () => {
      const db = this.config.Database;
      let store: VideoStore;
      if (db.Backend === 'sqlite') store = new SqliteStore(db.Path);
      else throw new ConfigError(`[Database] Backend = ${db.Backend} is not available in this build; use sqlite`);
      await store.migrate();
      return store;
    })();
    return this.storePromise;
  }

  /** ffmpeg and ffprobe as configured: system first, then the npm-bundled builds. */
  tools(): Promise<MediaTools> {
    this.toolsPromise ??= MediaTools.resolve({ ffmpeg: this.config.Paths.Ffmpeg, ffprobe: this.config.Paths.Ffprobe });
    return this.toolsPromise;
  }

  sources(): Source[] {
    return [new LocalSource(), new HttpSource()];
  }

  stages(): Stage[] {
    return [probeStage, indexStage];
  }

  expand(inputs: readonly string[], listFiles: readonly string[] = []): Promise<ExpandedInputs> {
    const g = this.config.General;
    return expandInputs(inputs, listFiles, { videoExtensions: g.VideoExtensions, sniffContent: g.SniffContent, followSymlinks: g.FollowSymlinks });
  }

  async runner(): Promise<PipelineRunner> {
    mkdirSync(this.config.Paths.DataDir, { recursive: true });
    const [store, tools] = await Promise.all([this.store(), this.tools()]);
    return new PipelineRunner({
      config: this.config,
      logger: this.logger,
      tools,
      store,
      sources: this.sources(),
      stages: this.stages(),
      cache: new ContentCache(this.config.Paths.CacheDir),
      audit: new AuditLog(this.config.Logging.AuditFile, this.secrets),
    });
  }

  /** Expands inputs and runs the pipeline over them. */
  async process(inputs: readonly string[], options: RunOptions & { listFiles?: readonly string[] } = {}): Promise<RunSummary> {
    const expanded = await this.expand(inputs, options.listFiles ?? []);
    const runner = await this.runner();
    return runner.run(expanded.items, { ...options, problems: [...(options.problems ?? []), ...expanded.problems] });
  }

  /**
   * Builds an action-recognition dataset in `outDir` from the records matching `query` (see docs/datasets.md).
   * Flags override `[Dataset]`; clips are cut under `[Concurrency] Cpu` jobs.
   */
  async buildDataset(
    query: SearchQuery,
    outDir: string,
    flags: DatasetFlags = {},
    hooks: { onProgress?(p: DatasetProgress): void; signal?: AbortSignal } = {},
  ): Promise<DatasetReport> {
    const options = datasetOptions(this.config, outDir, flags);
    const [store, tools] = await Promise.all([this.store(), this.tools()]);
    const { outDir: _out, ...hashed } = options;
    return buildDataset(store.iterate(query), options, {
      ffmpeg: tools.ffmpeg.path,
      ffprobe: tools.ffprobe.path,
      logger: this.logger,
      query,
      version: videodexVersion(),
      configHash: stableHash(hashed),
      ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.storePromise) await (await this.storePromise.catch(() => null))?.close();
    this.logger.flush?.();
  }
}

/** Library entry point: a pipeline over a config (config.ini, env and overrides as for the CLI). */
export function createPipeline(options: AppOptions = {}): App {
  return App.create(options);
}
