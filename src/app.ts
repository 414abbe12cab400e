import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  AppError,
  AuditLog,
  ConfigError,
  ContentCache,
  createLogger,
  loadConfig,
  maskSecret,
  MediaTools,
  secretValues,
  type Config,
  type LoadConfigOptions,
  type LoadedConfig,
  type Logger,
  stableHash,
  USER_TAGS_KEY,
  type Video,
} from './core/index.js';
import { buildDataset, datasetOptions, videodexVersion, type DatasetFlags, type DatasetProgress, type DatasetReport } from './export/index.js';
import { createSources, expandInputs, isUrl, type ExpandedInputs, type Source, type SourceSet } from './sources/index.js';
import { openStore, selectedRecords, type InputRecord, type OpenStoreOptions, type VideoStore } from './store/index.js';
import { checkPluginNeeds, loadPlugins, pluginExporters, pluginStages, pluginTaggers, type LoadedPlugin, type PluginExporter } from './plugins/index.js';
import { editUserTags, labelVocabulary, loadTaggingSetup, readSetupLedger, recordSetup, type TaggingSetup } from './tagging/index.js';
import type { SearchQuery } from './store/index.js';
import {
  createClassifyStage,
  createDescribeStage,
  createTagStage,
  indexStage,
  keyframesStage,
  PipelineRunner,
  probeStage,
  retagInParallel,
  scenesStage,
  type RetagSummary,
  type RunOptions,
  type RunSummary,
  type Stage,
  type HashingStage,
} from './workflow/index.js';

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
  private sourceSet: SourceSet | null = null;
  private stageList: { plugins: LoadedPlugin[]; stages: Stage[]; tag: HashingStage; classify: HashingStage } | null = null;
  private pluginsPromise: Promise<LoadedPlugin[]> | null = null;
  private loadedPlugins: LoadedPlugin[] = [];
  private taggingSetup: TaggingSetup | null = null;

  constructor(readonly loaded: LoadedConfig, options: { logToFile?: boolean } = {}) {
    this.config = loaded.config;
    this.secrets = secretValues(loaded);
    this.logger = createLogger({
      file: options.logToFile === false ? null : this.config.Logging.File,
      level: this.config.Logging.Level,
      secrets: this.secrets,
      maxBytes: this.config.Logging.MaxSize,
      keep: this.config.Logging.Keep,
    });
  }

  static create(options: AppOptions = {}): App {
    const loaded = loadConfig({ env: process.env, ...options });
    return new App(loaded, options);
  }

  /** How `[Database]` says to open the library (plain data: retag's worker threads open it the same way). */
  private storeOptions(): Omit<OpenStoreOptions, 'logger'> {
    const db = this.config.Database;
    return {
      backend: db.Backend,
      path: db.Path,
      url: db.Url,
      schema: db.Schema,
      poolSize: db.PoolSize,
      compat: db.Compat,
      ...(db.SearchReplica ? { replicaDir: path.join(this.config.Paths.CacheDir, 'search-replica') } : {}),
    };
  }

  /** The configured store, migrated (a new SQLite library is made). Drivers for other backends load only when asked for. */
  store(): Promise<VideoStore> {
    this.storePromise ??= (async () => {
      const store = await openStore({ ...this.storeOptions(), logger: this.logger });
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

  /** Every acquisition source, built once: they share the per-host limit, bandwidth cap and connection pool. */
  sources(): readonly Source[] {
    this.sourceSet ??= createSources(this.config);
    return this.sourceSet.sources;
  }

  /**
   * The plugins of `[Plugins] Modules`, imported and validated once. Call before `stages()` so plugin stages
   * and taggers are part of the pipeline; a bad plugin is a ConfigError before any work.
   */
  loadPlugins(): Promise<LoadedPlugin[]> {
    this.pluginsPromise ??= loadPlugins(this.config.Plugins.Modules, { config: this.config, logger: this.logger }).then((loaded) => {
      this.loadedPlugins = loaded;
      return loaded;
    });
    return this.pluginsPromise;
  }

  /** Tag rules, taxonomy and action labels of `[Tagging]`, parsed and checked once (ConfigError on a bad file). */
  tagging(): TaggingSetup {
    this.taggingSetup ??= loadTaggingSetup(this.config);
    return this.taggingSetup;
  }

  /** The pipeline's `tag` and `classify` stages, whose versions and input hashes retag records. */
  private taggingStages(): { tag: HashingStage; classify: HashingStage } {
    this.stages();
    return this.stageList!;
  }

  /**
   * Adds the tagging setup to the data folder's ledger: the records a run tags carry only a hash of it, and a
   * later retag finds its rules there. Only a speed-up for that retag, so a failure to write it is logged, not fatal.
   */
  private rememberSetup(): void {
    try {
      recordSetup(this.config.Paths.DataDir, this.tagging());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not record the tagging setup; a retag after a rule edit will recompute every record');
    }
  }

  /** Exporters added by plugins, by name (after `loadPlugins()`). */
  exporters(): Map<string, PluginExporter> {
    return pluginExporters(this.loadedPlugins);
  }

  /**
   * The pipeline's stages in registration order (the runner orders by `needs`, keeping this order otherwise):
   * analysis (probe, scenes, keyframes, describe), then plugin stages, then tag and classify (which read what
   * those left), then index. Built once per set of loaded plugins; the describe stage checks its templates here,
   * before any work.
   */
  stages(): Stage[] {
    if (this.stageList?.plugins !== this.loadedPlugins) {
      const setup = this.tagging();
      const analysis: Stage[] = [probeStage, scenesStage, keyframesStage, createDescribeStage(this.config, { afterKeyframes: true, vocabulary: labelVocabulary(setup.taxonomy) })];
      const plugins = pluginStages(this.loadedPlugins);
      const tag = createTagStage(setup, pluginTaggers(this.loadedPlugins));
      const classify = createClassifyStage(setup);
      const finishing: Stage[] = [tag, classify, indexStage];
      checkPluginNeeds(this.loadedPlugins, [...analysis, ...finishing].map((s) => s.name));
      this.stageList = { plugins: this.loadedPlugins, stages: [...analysis, ...plugins, ...finishing], tag, classify };
    }
    return this.stageList.stages;
  }

  /**
   * The library a command reads or changes, which must exist. On SQLite a path with no database is a mistake (a
   * typo in --data-dir, a file name given to --out) that `store()` would answer with a new empty library and
   * "no matches". `process`, `worker`, `db migrate` and `db copy --to` make one.
   */
  async library(): Promise<VideoStore> {
    const db = this.config.Database;
    if (db.Backend === 'sqlite' && db.Path !== ':memory:' && !existsSync(db.Path)) {
      throw new ConfigError(`no library at ${db.Path}: process some videos first (videodex process <folder>), or point --data-dir or --db at an existing library`);
    }
    // the same mistake on a server (a mistyped [Database] Schema): migrating would make an empty library there
    this.storePromise ??= (async () => {
      const store = await openStore({ ...this.storeOptions(), logger: this.logger });
      if (store.hasLibrary && !(await store.hasLibrary())) {
        await store.close();
        const where = `${db.Backend} ${maskSecret(db.Url)}${db.Backend === 'postgres' || db.Schema !== 'public' ? ` ${db.Backend === 'postgres' ? 'schema' : 'database'} ${db.Schema}` : ''}`;
        throw new ConfigError(`no library at ${where}: process some videos first (videodex process <folder>) or run videodex db migrate, or point [Database] Url and Schema at an existing library`);
      }
      await store.migrate();
      return store;
    })();
    return this.storePromise;
  }

  expand(inputs: readonly string[], listFiles: readonly string[] = []): Promise<ExpandedInputs> {
    const g = this.config.General;
    return expandInputs(inputs, listFiles, { videoExtensions: g.VideoExtensions, sniffContent: g.SniffContent, followSymlinks: g.FollowSymlinks });
  }

  /**
   * For a dry run, which writes nothing: the library when there is one, else an empty one in memory (a plan
   * against no library runs every stage; opening the file would make a library in a folder it may not have).
   */
  private planningStore(): Promise<VideoStore> {
    const db = this.config.Database;
    if (db.Backend !== 'sqlite' || db.Path === ':memory:' || existsSync(db.Path)) return this.store();
    this.storePromise ??= (async () => {
      const { replicaDir: _replica, ...options } = this.storeOptions();
      const store = await openStore({ ...options, path: ':memory:', logger: this.logger });
      await store.migrate();
      return store;
    })();
    return this.storePromise;
  }

  /** The data folder, made if missing; a file in its place is a setting to fix (it read as a raw EEXIST, exit 4). */
  private makeDataDir(): void {
    const dir = this.config.Paths.DataDir;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way (it, or a folder above it, is not a folder)' : (err as Error).message;
      throw new ConfigError(`cannot make the data folder ${dir} ([Paths] DataDir, --data-dir): ${why}`);
    }
  }

  /**
   * The audit trail, checked before any work when the model is used: a folder there (or a file where its folder
   * goes) failed each video's describe with a raw "EISDIR: illegal operation on a directory" after its model call
   * was made and paid for, the answer lost. Nothing is made: the nearest existing folder above it is checked.
   */
  private checkAuditFile(): void {
    const q = this.config.QwenVL;
    if (!(q.UseVpc ? q.VpcEndpoint : q.PublicEndpoint)) return;
    const file = this.config.Logging.AuditFile;
    const where = `[Logging] AuditFile ${file}`;
    if (existsSync(file) && statSync(file).isDirectory()) throw new ConfigError(`${where} is a folder, not the audit file: name a file`);
    let place = existsSync(file) ? file : path.dirname(file);
    while (!existsSync(place) && path.dirname(place) !== place) place = path.dirname(place);
    if (place !== file && !statSync(place).isDirectory()) throw new ConfigError(`${where} cannot be written: a file is in the way of its folder (${place})`);
    try {
      accessSync(place, constants.W_OK);
    } catch {
      throw new ConfigError(`${where} cannot be written: ${place} is not writable`);
    }
  }

  async runner(options: { dryRun?: boolean } = {}): Promise<PipelineRunner> {
    // the tools and the stages (templates, label files, plugin needs) are checked before the data folder and the
    // library are made: a missing ffmpeg (exit 4) or a ConfigError (exit 3) runs nothing, and left an empty library
    const [tools] = await Promise.all([this.tools(), this.loadPlugins()]);
    const stages = this.stages();
    if (!options.dryRun) {
      this.checkAuditFile();
      this.makeDataDir();
    }
    const store = await (options.dryRun ? this.planningStore() : this.store());
    if (!options.dryRun) this.rememberSetup();
    return new PipelineRunner({
      config: this.config,
      logger: this.logger,
      tools,
      store,
      sources: this.sources(),
      stages,
      cache: new ContentCache(this.config.Paths.CacheDir),
      audit: new AuditLog(this.config.Logging.AuditFile, this.secrets, { retryEveryMs: this.config.Logging.AuditRetrySec * 1000 }),
    });
  }

  /**
   * One acquisition-log row for each record with a failed stage (its video was acquired; describe failed while
   * the model was down): the run's summary says "use --retry-failed" of those too. One a video, as each input of
   * it would retry the stage again; a local one whose file is still there is preferred.
   */
  private async inputsOfFailedRecords(store: VideoStore): Promise<InputRecord[]> {
    const ids = new Set<string>();
    for await (const video of store.iterate({ failed: true })) ids.add(video.id);
    if (ids.size === 0) return [];
    const byVideo = new Map<string, InputRecord>();
    for (const row of await store.listInputs('done')) {
      if (!row.videoId || !ids.has(row.videoId)) continue;
      const chosen = byVideo.get(row.videoId);
      if (chosen && (isUrl(chosen.key) || existsSync(chosen.key))) continue;
      byVideo.set(row.videoId, row);
    }
    return [...byVideo.values()];
  }

  /**
   * The inputs the acquisition log marks failed (and those of records with a failed stage), rebuilt as items: rows from a list file are read again from it
   * (keeping label, start, end), the others from their key (a URL or an absolute path). A row whose list can no
   * longer be read is a problem, not run: its label, start and end are only in the list, and the bare URL would
   * record the whole video under the row's key (a clip key `…#t=0.5,2` marked done with no clip cut).
   */
  async failedInputs(): Promise<ExpandedInputs> {
    const store = await this.store();
    const failed = [...(await store.listInputs('failed')), ...(await this.inputsOfFailedRecords(store))];
    const keys = new Set(failed.map((r) => r.key));
    const lists = [...new Set(failed.map((r) => r.listFile).filter((f): f is string => !!f))];
    const fromLists = lists.length ? await this.expand([], lists) : { items: [], problems: [] };
    const unreadable = new Map(fromLists.problems.filter((p) => lists.includes(p.raw)).map((p) => [p.raw, p.message]));
    const items = fromLists.items.filter((i) => keys.has(i.key));
    const problems = [...fromLists.problems];
    // a row whose file is still missing was said once by the list's reading (`urls.txt row 4: ...`) and stays
    // failed under its list; tried again as a bare path it would be said twice and counted as a command-line input
    const unreadableRows = (fromLists.unreadable ?? []).filter((u) => keys.has(u.item.key));
    const found = new Set([...items, ...unreadableRows.map((u) => u.item)].map((i) => i.key));
    for (const r of failed) {
      if (found.has(r.key)) continue;
      const listGone = r.listFile ? unreadable.get(r.listFile) : undefined;
      if (listGone !== undefined) {
        problems.push({ raw: r.key, message: `not retried: its list ${r.listFile} cannot be read (${listGone}), so its label, start and end are unknown` });
        continue;
      }
      if (r.listFile && SEGMENT_KEY.test(r.key)) {
        // a clip's row edited out of its list: its start and end are gone with it
        problems.push({ raw: r.key, message: `not retried: the row is no longer in its list ${r.listFile}, so its start and end are unknown` });
        continue;
      }
      if (isUrl(r.key) || /^(ytdl|yt-dlp):/i.test(r.key)) items.push({ key: r.key, raw: r.key, kind: 'url', url: r.key });
      else items.push({ key: r.key, raw: r.key, kind: 'local', path: r.key });
    }
    return { items, problems, ...(unreadableRows.length ? { unreadable: unreadableRows } : {}) };
  }

  /**
   * Re-runs tagging and classification over stored records matching `query` (no download, no model call),
   * with the current rules, taxonomy and plugin taggers.
   */
  async retag(query: SearchQuery = {}, options: { dryRun?: boolean; force?: boolean; onProgress?: (seen: number) => void; signal?: AbortSignal } = {}): Promise<RetagSummary> {
    const [store, loaded] = await Promise.all([this.library(), this.loadPlugins()]);
    const { tag, classify } = this.taggingStages();
    const setup = this.tagging();
    const dataDir = this.config.Paths.DataDir;
    // the setups earlier runs tagged with, for telling the records a rule edit cannot change (rule-diff.ts)
    const earlier = readSetupLedger(dataDir).map((e) => e.options);
    if (!options.dryRun) this.rememberSetup();
    return retagInParallel({
      store,
      config: this.config,
      logger: this.logger,
      setup,
      tagStage: tag,
      classifyStage: classify,
      earlier,
      pluginTaggers: pluginTaggers(loaded),
      query,
      workers: this.config.Concurrency.Cpu,
      storeOptions: this.storeOptions(),
      ...options,
    });
  }

  /**
   * A person's edits of one record's tags (see user-tags.ts): kept on the record, then the record re-tagged and
   * re-classified with them and the current rules (no download, no model call). A record whose probe failed keeps
   * the edits for when it is processed; it is not tagged before (`retagged` false).
   */
  async editTags(video: Video, edit: { add?: readonly string[]; remove?: readonly string[]; clear?: boolean }): Promise<{ video: Video; retagged: boolean }> {
    const store = await this.library();
    // a bad name is refused before anything is written
    editUserTags(video, edit);
    // Only the edits, made on the ones stored at that moment: writing back the whole `video` read earlier replaced
    // a stage result a running `process` stored in between, and that process's next write undid the edit.
    const edited = await store.updateUserTags(video.id, (stored) => editUserTags(stored, edit).extra[USER_TAGS_KEY], new Date().toISOString());
    if (!edited) throw new AppError('E_NOT_FOUND', `${video.id}: no such video in the library (removed meanwhile)`);
    const summary = await this.retag({ text: `id:${video.id}` });
    if (summary.failed.length) throw new AppError('E_RETAG_FAILED', `${video.id}: ${summary.failed[0]!.error}`);
    return { video: (await store.get(video.id)) ?? edited, retagged: summary.skipped === 0 };
  }

  /** Expands inputs (or, with `onlyFailed`, takes the failed ones from the acquisition log) and runs the pipeline. */
  async process(inputs: readonly string[], options: RunOptions & { listFiles?: readonly string[]; onlyFailed?: boolean } = {}): Promise<RunSummary> {
    // a dry run reads the failed inputs from the library too, without making one where there is none
    if (options.dryRun) await this.planningStore();
    // only what failed before needs a library to read it from: a mistyped --data-dir made an empty one and "0 inputs"
    else if (options.onlyFailed) await this.library();
    const expanded = options.onlyFailed ? await this.failedInputs() : await this.expand(inputs, options.listFiles ?? []);
    // every input a problem (a mistyped list or folder): the problems are reported as a run reports them, and no
    // library or data folder is made where there was none (an empty one was left behind)
    const nothingToRun = !options.onlyFailed && expanded.items.length === 0;
    const runner = await this.runner({ dryRun: Boolean(options.dryRun) || nothingToRun });
    return runner.run(expanded.items, { ...options, problems: [...(options.problems ?? []), ...expanded.problems], ...(expanded.unreadable ? { unreadable: expanded.unreadable } : {}) });
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
    const [store, tools] = await Promise.all([this.library(), this.tools()]);
    const { outDir: _out, resplit: _resplit, ...hashed } = options;
    return buildDataset(selectedRecords(store, query), options, {
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
    await this.sourceSet?.close();
    this.logger.flush?.();
  }
}

/** The `#t=<start>,<end>` a list row with a segment adds to its input key (expand-inputs.ts). */
const SEGMENT_KEY = /#t=[\d.]*,[\d.]*$/;

/** Library entry point: a pipeline over a config (config.ini, env and overrides as for the CLI). */
export function createPipeline(options: AppOptions = {}): App {
  return App.create(options);
}
