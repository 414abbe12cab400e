import type { Command } from 'commander';
import { ExitCode } from '../../core/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, err, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

export function registerRetag(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('retag')
        .description('re-run tagging and classification on stored records with the current rules, taxonomy and plugins (no download, no model call)')
        .argument('[query...]', 'free text, as for search; none: every record'),
    ),
  )
    .option('--dry-run', 'count what would change, write nothing')
    .option('--force', 'recompute records already up to date with the current rules and taxonomy')
    .option('--json', 'the summary as JSON on stdout')
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { dryRun?: boolean; force?: boolean; json?: boolean }) => {
      const app = appFrom(flags);
      try {
        const q = queryFromFlags(words.join(' '), flags);
        const tty = process.stderr.isTTY;
        const summary = await app.retag(q, {
          dryRun: Boolean(flags.dryRun),
          force: Boolean(flags.force),
          onProgress: (seen) => {
            if (tty) process.stderr.write(`\rretag: ${seen} record(s)`);
          },
        });
        if (tty) process.stderr.write('\n');
        for (const f of summary.failed) err(`videodex: ${f.id}: ${f.error}`);
        if (flags.json) out(JSON.stringify(summary));
        const rate = summary.ms > 0 ? Math.round((summary.seen / summary.ms) * 1000) : summary.seen;
        err(
          `videodex: retag ${flags.dryRun ? '(dry run) ' : ''}${summary.seen} record(s): ${summary.changed} changed, ${summary.same} recomputed as they were, ${summary.upToDate} up to date` +
            `${summary.unaffected ? `, ${summary.unaffected} untouched by the rule edit` : ''}` +
            `${summary.skipped ? `, ${summary.skipped} skipped (probe failed)` : ''} ` +
            `(tags +${summary.tagsAdded} -${summary.tagsRemoved}, categories +${summary.categoriesAdded} -${summary.categoriesRemoved})` +
            `${summary.failed.length ? `, ${summary.failed.length} failed` : ''} in ${(summary.ms / 1000).toFixed(1)}s (${rate}/s)`,
        );
        process.exitCode = summary.failed.length ? ExitCode.SomeFailed : ExitCode.Ok;
      } finally {
        await app.close();
      }
    });
}
