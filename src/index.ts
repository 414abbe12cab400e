/** The library API: what the CLI and server use, for your own code and plugins. */
export { App, createPipeline } from './app.js';
export type { AppOptions } from './app.js';
export * from './core/index.js';
export type { Stage, StageContext, RunEvent, RunSummary, RunOptions } from './workflow/index.js';
export type { VideoStore, SearchQuery, SearchResult, InputRecord } from './store/index.js';
export type { Source, InputItem, Acquired, AcquireContext } from './sources/index.js';
export type { Tagger, TaggerContext } from './tagging/tagger.js';
export { buildDataset, datasetOptions, datasetStats, formatDatasetStats, readManifest, writeRecords, writeParquet } from './export/index.js';
export type { DatasetOptions, DatasetReport, DatasetStats, DatasetManifest, DatasetFlags, ExportFormat } from './export/index.js';
