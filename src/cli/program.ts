import { Command, CommanderError } from 'commander';
import { AppError, ConfigError, describeError, ExitCode, QueryError } from '../core/index.js';
import { registerConfig } from './commands/config-command.js';
import { scrubbed } from './shared-options.js';
import { registerDb } from './commands/db-command.js';
import { registerDataset } from './commands/dataset-command.js';
import { registerDoctor } from './commands/doctor-command.js';
import { registerExport } from './commands/export-command.js';
import { registerProcess } from './commands/process-command.js';
import { registerScenes } from './commands/scenes-command.js';
import { registerQueue } from './commands/queue-commands.js';
import { registerSearch } from './commands/search-command.js';
import { registerServe } from './commands/serve-command.js';
import { registerShow } from './commands/show-command.js';
import { registerSources } from './commands/sources-command.js';
import { registerUsage } from './commands/usage-command.js';
import { QueryWordsCommand } from './query-args.js';

import { registerCategories } from './commands/categories-command.js';
import { registerRemove } from './commands/remove-command.js';
import { registerRetag } from './commands/retag-command.js';
import { registerReview } from './commands/review-command.js';
import { registerTag } from './commands/tag-command.js';
import { registerTags } from './commands/tags-command.js';

/** Every command, in help order. Add a command: write commands/<name>-command.ts and list it here. */
const COMMANDS: Array<(program: Command) => void> = [
  registerProcess, registerSearch, registerShow, registerScenes, registerExport, registerDataset, registerSources, registerRemove, registerRetag, registerTag, registerTags,
  registerCategories, registerReview, registerUsage, registerDb, registerServe, registerQueue, registerConfig, registerDoctor,
];

/** What the user named is not there (a video, an id prefix naming several, a dataset folder): exit 1, as `show` always did. */
/** Failures of what was asked, not of videodex: exit 1, as a run with a failed input. */
const NOT_FOUND_CODES = new Set(['E_NOT_FOUND', 'E_AMBIGUOUS', 'E_DATASET_MISSING', 'E_DATASET_EMPTY', 'E_DATASET_LABELS', 'E_INPUT_FAILED']);

export function buildProgram(): Command {
  // A QueryWordsCommand, as every subcommand then is: a query command (search, export, remove, dataset build, ...)
  // takes `-tag:silent` or `-night` among its flags as a query word, not as an unknown option (query-args.ts).
  const program = new QueryWordsCommand('videodex')
    .description('turn piles of videos into a searchable, tagged, AI-described library and training datasets')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // -V / --version only before the command name: after it, `search -Vlog` is a query word, not the version
    .enablePositionalOptions()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Whether an error is the reader of stdout having gone (`videodex export | head`). */
const isClosedPipe = (err: unknown) => ['EPIPE', 'ERR_STREAM_DESTROYED'].includes((err as NodeJS.ErrnoException | null)?.code ?? '');

let stdoutGone = false;
/** Why stdout could not be written (a full disk behind `> file`), when that was not the reader going away. */
let stdoutFailed: Error | null = null;
/**
 * `videodex export | head`: once the reader has gone, what is left to write has no reader, which is no failure:
 * the command stops at its next write, quietly, as `cat | head` does. Without a listener the first EPIPE would
 * crash the process with a stack trace. Attached once and kept: a write may fail after the command returned.
 */
function watchStdout(): void {
  if (process.stdout.listeners('error').includes(onStdoutError)) return;
  process.stdout.on('error', onStdoutError);
}
function onStdoutError(err: Error): void {
  // thrown from here it was an uncaught exception: a stack trace and exit 1, for `export > file` on a full disk
  if (!stdoutGone && !isClosedPipe(err)) stdoutFailed ??= err;
  else stdoutGone = true;
}

/** The line and exit code of a stdout that failed: the output is cut short, which is no success. */
function reportStdoutFailure(err: Error): number {
  process.stderr.write(`videodex: cannot write the output: ${scrubbed(describeError(err))}; what was written is incomplete\n`);
  return ExitCode.Fatal;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  watchStdout();
  try {
    await program.parseAsync([...argv]);
    // (a write's error arrives a tick later: the last one may fail after the command returned)
    await new Promise((resolve) => setImmediate(resolve));
    if (stdoutFailed) return reportStdoutFailure(stdoutFailed);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (stdoutFailed) return reportStdoutFailure(stdoutFailed);
    // (also when wrapped: a plugin exporter's EPIPE comes as a PluginError naming the plugin, its cause the EPIPE)
    if ((isClosedPipe(err) || isClosedPipe((err as { cause?: unknown } | null)?.cause)) && (stdoutGone || process.stdout.destroyed)) return Number(process.exitCode ?? 0);
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : ExitCode.Usage;
    }
    if (err instanceof QueryError) {
      process.stderr.write(`videodex: query: ${err.message}\n`);
      return ExitCode.Usage;
    }
    process.stderr.write(`videodex: ${scrubbed(describeError(err))}\n`);
    if (err instanceof ConfigError) return ExitCode.Config;
    if (err instanceof AppError && NOT_FOUND_CODES.has(err.code)) return ExitCode.SomeFailed;
    return ExitCode.Fatal;
  }
}

