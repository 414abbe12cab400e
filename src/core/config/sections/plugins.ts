import { int, list } from '../config-key.js';

export const Plugins = {
  Modules: list([], 'Plugins: npm package names or paths to ES modules, comma-separated.'),
  StageTimeoutSec: int(
    3600,
    { min: 0, max: 604_800 },
    "Longest a plugin's stage or tagger may run for one video, and a plugin's exporter may go without taking its next record (or finishing after its last), in seconds: past it the stage (the tag stage) fails for that video and the run goes on, or the export fails; its ctx.signal is aborted. 0 = no limit.",
  ),
} as const;
