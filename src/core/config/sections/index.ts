import { Concurrency } from './concurrency.js';
import { Database } from './database.js';
import { Dataset } from './dataset.js';
import { Export } from './export.js';
import { General } from './general.js';
import { Logging } from './logging.js';
import { Paths } from './paths.js';
import { Plugins } from './plugins.js';
import { QwenVL } from './qwen-vl.js';
import { Queue } from './queue.js';
import { SceneDetection } from './scene-detection.js';
import { Server } from './server.js';
import { Sources } from './sources.js';
import { Tagging } from './tagging.js';

/** Every section of config.ini. One file a section, so each capability owns its keys. */
export const CONFIG_SPEC = {
  General,
  Paths,
  Concurrency,
  Sources,
  SceneDetection,
  QwenVL,
  Tagging,
  Database,
  Export,
  Dataset,
  Logging,
  Plugins,
  Queue,
  Server,
} as const;
