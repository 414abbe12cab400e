export { loadConfig, configWith, envName, editDistance, CONFIG_SPEC } from './load-config.js';
export type { Config, LoadedConfig, LoadConfigOptions, SectionName, ValueSource } from './load-config.js';
export { describeConfig, maskSecret, secretValues, urlSecrets } from './describe-config.js';
export type { ConfigRow } from './describe-config.js';
export type { ConfigKey } from './config-key.js';
