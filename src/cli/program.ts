import { Command, CommanderError } from 'commander';
import { AppError, ConfigError, describeError, ExitCode, QueryError } from '../core/index.js';
import { registerConfig } from './commands/config-command.js';
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

import { registerCategories } from './commands/categories-command.js';
import { registerRemove } from './commands/remove-command.js';
import { registerRetag } from './commands/retag-command.js';
import { registerReview } from './commands/review-command.js';
import { registerTags } from './commands/tags-command.js';

/** Every command, in help order. Add a command: write commands/<name>-command.ts and list it here. */
const COMMANDS: Array<(program: Command) => void> = [
  registerProcess, registerSearch, registerShow, registerScenes, registerExport, registerDataset, registerSources, registerRemove, registerRetag, registerTags,
  registerCategories, registerReview, registerUsage, registerDb, registerServe, registerQueue, registerConfig, registerDoctor,
];

export function buildProgram(): Command {
  const program = new Command('videodex')
    .description('turn piles of videos into a searchable, tagged, AI-described library and training datasets')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : ExitCode.Usage;
    }
    if (err instanceof QueryError) {
      process.stderr.write(`videodex: query: ${err.message}\n`);
      return ExitCode.Usage;
    }
    process.stderr.write(`videodex: ${describeError(err)}\n`);
    if (err instanceof ConfigError) return ExitCode.Config;
    if (err instanceof AppError && err.code === 'E_NOT_FOUND') return ExitCode.SomeFailed;
    return ExitCode.Fatal;
  }
}

