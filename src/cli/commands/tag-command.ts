import { InvalidArgumentError, type Command } from 'commander';
import { ExitCode } from '../../core/index.js';
import { addedAndRemoved, userTagEdits, userTagName } from '../../tagging/index.js';
import { resolveRecord } from '../resolve-record.js';
import { appFrom, err, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

/** Tag names, comma-separated, the option given once or more. */
function names(value: string, previous: string[] = []): string[] {
  const list = value.split(',').map((n) => n.trim()).filter(Boolean);
  for (const n of list) if (!userTagName(n)) throw new InvalidArgumentError(`${JSON.stringify(n)} is no tag name: it needs a letter or a digit`);
  if (list.length === 0) throw new InvalidArgumentError('expected one or more tag names, comma-separated');
  return [...previous, ...list];
}

type TagFlags = CommonFlags & { add?: string[]; remove?: string[]; clear?: boolean; json?: boolean };

export function registerTag(program: Command): void {
  withConfigOptions(
    program
      .command('tag')
      .description("add or remove tags of videos by hand; kept over every later tagging (rules, model, file names), and a removed tag never comes back")
      .argument('<id|path...>', 'video ids (or unique prefixes of 4+ characters) or file paths'),
  )
    .option('--add <names>', 'tags to add, comma-separated (repeatable)', names)
    .option('--remove <names>', 'tags to take away and keep away, comma-separated (repeatable)', names)
    .option('--clear', "forget this video's earlier hand edits first (what tagging computes comes back)")
    .option('--json', 'each video as a JSON line on stdout: id, tags, the hand edits')
    .action(async (refs: string[], flags: TagFlags, command: Command) => {
      const both = addedAndRemoved(flags.add, flags.remove);
      if (both) command.error(`error: ${both}: both --add and --remove`, { exitCode: ExitCode.Usage, code: 'videodex.tagBoth' });
      const editing = Boolean(flags.add?.length || flags.remove?.length || flags.clear);
      const app = appFrom(flags);
      let failed = 0;
      try {
        const store = await app.library();
        for (const ref of refs) {
          try {
            const found = await resolveRecord(store, ref);
            const { video, retagged } = editing ? await app.editTags(found, { add: flags.add, remove: flags.remove, clear: flags.clear }) : { video: found, retagged: true };
            const edits = userTagEdits(video) ?? { add: [], remove: [] };
            if (flags.json) out(JSON.stringify({ id: video.id, tags: video.tags.map((t) => t.name), edits }));
            else {
              const mine = [...edits.add.map((n) => `+${n}`), ...edits.remove.map((n) => `-${n}`)];
              out(`${video.id}  ${video.tags.map((t) => t.name).join(', ') || '(no tags)'}${mine.length ? `  (by hand: ${mine.join(' ')})` : ''}`);
            }
            if (!retagged) err(`videodex: ${video.id}: its probe failed, so it is not tagged; the edits apply once it is processed`);
          } catch (e) {
            failed++;
            err(`videodex: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        process.exitCode = failed ? ExitCode.SomeFailed : ExitCode.Ok;
      } finally {
        await app.close();
      }
    });
}
