/** The library API: what the CLI and server use, for your own code and plugins. */
export { App, createPipeline } from './app.js';
export type { AppOptions } from './app.js';
export * from './core/index.js';
export type { Stage, StageContext, RunEvent, RunSummary, RunOptions } from './workflow/index.js';
export type { VideoStore, SearchQuery, SearchResult, SearchHit, Facets, QueryNode, SortKey, InputRecord } from './store/index.js';
export { parseQuery, planQuery, openStore, copyStore } from './store/index.js';
export type { Source, InputItem, Acquired, AcquireContext } from './sources/index.js';
export type { Tagger, TaggerContext } from './tagging/tagger.js';
export { createDescribeStage } from './workflow/index.js';
export type { VlmClient, VlmRequest, VlmResponse } from './analysis/index.js';
// Plugin authors: the plugin contract and helpers.
export { PLUGIN_API_VERSION, definePlugin, PluginError } from './plugins/index.js';
export type { VideodexPlugin, PluginTagger, PluginTag, PluginExporter, PluginFactory, PluginSetupContext } from './plugins/index.js';
export { normalizeTag, mergeTags, labelVocabulary, createTaggingSetup, computeTags, classify, parseRules } from './tagging/index.js';
export type { TaggingSetup, Taxonomy, RuleSet } from './tagging/index.js';
export { buildDataset, datasetOptions, datasetStats, formatDatasetStats, readManifest, writeRecords, writeParquet } from './export/index.js';
export type { DatasetOptions, DatasetReport, DatasetStats, DatasetManifest, DatasetFlags, SplitHistory, ExportFormat } from './export/index.js';
