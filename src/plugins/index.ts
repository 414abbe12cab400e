export { PLUGIN_API_VERSION, MIN_PLUGIN_API_VERSION, definePlugin } from './plugin-api.js';
export type { VideodexPlugin, PluginTagger, PluginTag, PluginExporter, PluginFactory, PluginSetupContext } from './plugin-api.js';
export { PluginError } from './plugin-error.js';
export { loadPlugins, validatePlugin, checkPluginNeeds, RESERVED_NAMES } from './plugin-loader.js';
export type { LoadedPlugin, LoadPluginsOptions } from './plugin-loader.js';
export { adaptPluginStage, adaptPluginTagger, adaptPluginExporter, pluginStages, pluginTaggers, pluginExporters } from './plugin-adapters.js';
