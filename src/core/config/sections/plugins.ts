import { list } from '../config-key.js';

export const Plugins = {
  Modules: list([], 'Plugins: npm package names or paths to ES modules, comma-separated.'),
} as const;
