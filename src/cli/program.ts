import { Command, CommanderError } from 'commander';
import { AppError, ConfigError, describeError, ExitCode } from '../core/index.js';
import { registerConfig } from './commands/config-command.js';
import { registerDataset } from './commands/dataset-command.js';
import { registerDoctor } from './commands/doctor-command.js';
import { registerExport } from './commands/export-command.js';
import { registerProcess } from './commands/process-command.js';
import { registerQueue } from './commands/queue-commands.js';
import { registerSearch } from './commands/search-command.js';
import { registerShow } from './commands/show-command.js';

/** Every command, in help order. Add a command: write commands/<name>-command.ts and list it here. */
const COMMANDS: Array<(program: Command) => void> = [registerProcess, registerSearch, registerShow, registerExport, registerDataset, registerConfig, registerDoctor, registerQueue];

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
    process.stderr.write(`videodex: ${describeError(err)}\n`);
    if (err instanceof ConfigError) return ExitCode.Config;
    if (err instanceof AppError && err.code === 'E_NOT_FOUND') return ExitCode.SomeFailed;
    return ExitCode.Fatal;
  }
}

