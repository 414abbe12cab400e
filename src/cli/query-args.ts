import { Command, type Option, type ParseOptionsResult } from 'commander';

/**
 * Negated query words on the command line: `videodex search beach -tag:silent --data-dir d --json`.
 *
 * The query language (docs/search.md) writes NOT with a leading minus (`-night`, `-tag:silent`, `-"a phrase"`),
 * but commander takes every word starting with `-` for an option and refuses one it does not know
 * (`error: unknown option '-tag:silent'`, exit 2). The way around it, `--`, makes every later word positional,
 * so `export -- -tag:silent --data-dir x` quietly searched for "--data-dir x" in the default library.
 *
 * The hook: commander builds every subcommand through `createCommand` and has each command sort its own
 * arguments in `parseOptions` (both public and documented for subclassing), so a command whose positional
 * argument is a query sorts its words first, knowing exactly the options commander registered for it: no argv
 * pre-pass in `main()` that would have to find the subcommand (`dataset build`) and its options again.
 *
 * A word of such a command is an option only when commander would find it by name: `--anything` (an unknown long
 * flag stays an error), an exact short flag the command registered (`-o`, `-q`, `-i`) or its help flag (`-h`);
 * and the value after an option that takes one is that option's, whatever it looks like (`--min-width -1`,
 * `--target-fps -5`). Every other word starting with a single `-` is a query word, as the words without one are,
 * and the query keeps its order (`-lake OR night`). After a literal `--` every word is a query word, as before.
 * Short flags glued together or to their value (`-qh`, `-ofile.csv`) are query words on these commands: `-outdoor`
 * cannot be told from `-o utdoor`, and the query language's reading wins; write `-o file.csv`.
 */

/** The name commands give their query argument (`.argument('[query...]', ...)`). */
export const QUERY_ARGUMENT = 'query';

/** Whether the command's positional words are a query in the query language. */
export function takesQuery(cmd: Command): boolean {
  return cmd.registeredArguments.some((a) => a.name() === QUERY_ARGUMENT);
}

const maybeOption = (arg: string) => arg.length > 1 && arg.startsWith('-');
/** As commander tells a negative number (an optional or variadic option takes one as its value). */
const negativeNumber = (arg: string) => /^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg);

/**
 * Splits a command's arguments into what commander should parse as options (each option with its value, in
 * order) and the query words (in order). `options` are the command's own, with its help option.
 */
export function splitQueryWords(args: readonly string[], options: readonly Option[]): { optionArgs: string[]; words: string[] } {
  const optionArgs: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      words.push(...args.slice(i + 1));
      break;
    }
    const option = maybeOption(arg) ? options.find((o) => o.short === arg || o.long === arg) : undefined;
    if (!option) {
      // `--flag`, known with `=value` or not known at all: commander's to take or refuse
      if (arg.startsWith('--')) optionArgs.push(arg);
      else words.push(arg);
      continue;
    }
    optionArgs.push(arg);
    if (option.required) {
      // commander takes the next word as the value, whatever it is
      if (i + 1 < args.length) optionArgs.push(args[++i]!);
    } else if (option.optional) {
      const next = args[i + 1];
      if (next !== undefined && (!maybeOption(next) || negativeNumber(next))) optionArgs.push(args[++i]!);
    }
    if (option.variadic) {
      // further values, as commander reads them: up to the next word that looks like an option
      while (i + 1 < args.length && args[i + 1] !== '--' && (!maybeOption(args[i + 1]!) || negativeNumber(args[i + 1]!))) optionArgs.push(args[++i]!);
    }
  }
  return { optionArgs, words };
}

/** The options a command knows by name: its own, and its help flags (which commander keeps apart). */
function knownOptions(cmd: Command): Option[] {
  return [...new Set([...cmd.options, ...cmd.createHelp().visibleOptions(cmd)])];
}

/** Commander's Command, whose query commands take `-word` as a query word (see above). Its subcommands are too. */
export class QueryWordsCommand extends Command {
  override createCommand(name?: string): Command {
    return new QueryWordsCommand(name);
  }

  override parseOptions(args: string[]): ParseOptionsResult {
    if (!takesQuery(this)) return super.parseOptions(args);
    const { optionArgs, words } = splitQueryWords(args, knownOptions(this));
    const parsed = super.parseOptions(optionArgs);
    return { operands: [...parsed.operands, ...words], unknown: parsed.unknown };
  }
}
