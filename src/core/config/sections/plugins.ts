import { int, list } from '../config-key.js';

export const Plugins = {
  Modules: list([], 'Plugins: npm package names or paths to ES modules, comma-separated.'),
  StageTimeoutSec: int(
    3600,
    { min: 0, max: 604_800 },
    "Longest a plugin's stage may run for one video, in seconds: past it the stage fails for that video (its ctx.signal is aborted) and the run goes on. 0 = no limit.",
  ),
} as const;
