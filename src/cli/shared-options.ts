import { Command, InvalidArgumentError, Option } from 'commander';
import { App } from '../app.js';
import { ConfigError, loadConfig, redact } from '../core/index.js';

/**
 * The secrets of the apps this process built. What the CLI prints last (a command's failure) may quote a
 * library's error that no one scrubbed; it is scrubbed here. A new list each time: `redact` keeps its forms per list.
 */
let knownSecrets: readonly string[] = [];

/** Text the CLI prints, with every secret it knows of starred. */
export function scrubbed(text: string): string {
  return knownSecrets.length ? redact(text, knownSecrets) : text;
}

/** Options every command takes; they map onto config keys. */
export function withConfigOptions(cmd: Command, options: { outIsDataDir?: boolean } = {}): Command {
  cmd
    .option('--config <file>', 'config file (default: ./config.ini when present, or VIDEODEX_CONFIG)')
    .option('--db <path>', 'SQLite database file ([Database] Path)')
    .option('--data-dir <dir>', 'data folder for database, media, cache and logs ([Paths] DataDir)');
  if (options.outIsDataDir !== false) cmd.option('--out <dir>', 'same as --data-dir');
  return cmd
    .addOption(new Option('--log-level <level>', 'log file level ([Logging] Level)').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']));
}

export interface CommonFlags {
  /** Set by commands whose --out names an output file, not the data folder. */
  outIsFile?: boolean;
  config?: string;
  db?: string;
  out?: string;
  dataDir?: string;
  logLevel?: string;
}

/** The flag that sets each key, as the commands spell it (a command that spells one otherwise says so to appFrom). */
const FLAG_OF: Readonly<Record<string, string>> = {
  'Database.Path': '--db',
  'Paths.DataDir': '--data-dir',
  'Logging.Level': '--log-level',
  'Concurrency.Downloads': '--concurrency-downloads',
  'Concurrency.Cpu': '--concurrency-cpu',
  'Concurrency.Ai': '--concurrency-ai',
  'SceneDetection.Threshold': '--scene-threshold',
  'SceneDetection.Detector': '--detector',
  'SceneDetection.MinSceneLen': '--min-scene-len',
  'SceneDetection.AdaptiveThreshold': '--adaptive-threshold',
  'SceneDetection.FadeThreshold': '--fade-threshold',
  'QwenVL.DefaultInstruction': '--qwen-instruction',
  'QwenVL.Template': '--template',
  'QwenVL.Model': '--model',
  'QwenVL.PublicEndpoint': '--endpoint',
  'QwenVL.VpcEndpoint': '--endpoint',
  'Server.Host': '--host',
  'Server.Port': '--port',
  'Tagging.ReviewBelow': '--below',
  'Queue.RedisUrl': '--redis',
  'Queue.Name': '--queue',
  'Queue.WorkerConcurrency': '--concurrency',
  'Database.Schema': '--schema',
  'Export.Format': '--format',
  'Export.Fields': '--fields',
  'Logging.AuditFile': '--audit-file',
};

const SET_IN: Record<string, string> = { file: 'set in the config file', env: 'set in the environment', flag: 'set by a flag', default: 'the default' };

/** Builds the app from flags on top of env and config.ini. */
export function appFrom(flags: CommonFlags, overrides: Record<string, unknown> = {}, options: { logToFile?: boolean; flagNames?: Record<string, string> } = {}): App {
  const loaded = loadConfig({
    env: process.env,
    flagNames: { ...FLAG_OF, ...(flags.out !== undefined && flags.dataDir === undefined && !flags.outIsFile ? { 'Paths.DataDir': '--out' } : {}), ...options.flagNames },
    ...(flags.config !== undefined ? { file: flags.config } : {}),
    overrides: {
      'Database.Path': flags.db,
      'Paths.DataDir': flags.dataDir ?? (typeof flags.out === 'string' && !flags.outIsFile ? flags.out : undefined),
      'Logging.Level': flags.logLevel,
      ...overrides,
    },
  });
  const backend = loaded.config.Database.Backend;
  if (flags.db !== undefined && backend !== 'sqlite') {
    // the SQLite file it names would be passed by, and the command would read or write the server's library
    throw new ConfigError(`--db ${flags.db} names a SQLite file, but [Database] Backend = ${backend} (${SET_IN[loaded.sources['Database.Backend']!]}); drop --db, or set Backend = sqlite`);
  }
  const app = new App(loaded, { ...(options.logToFile !== undefined ? { logToFile: options.logToFile } : {}) });
  knownSecrets = [...new Set([...knownSecrets, ...app.secrets])];
  return app;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

export function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Writes a line to stdout (results); progress and errors go to stderr. */
export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(scrubbed(line) + '\n');
}
