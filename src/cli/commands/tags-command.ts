import { InvalidArgumentError, type Command } from 'commander';
import type { TagSource } from '../../core/index.js';
import { TagCounter } from '../../tagging/index.js';
import { selectedRecords } from '../../store/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, out, positiveInt, withConfigOptions, type CommonFlags } from '../shared-options.js';
import { renderTable } from './search-command.js';

const TAG_SOURCES: TagSource[] = ['filename', 'metadata', 'ai', 'rule', 'plugin', 'list', 'user'];

export function registerTags(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('tags')
        .description('list tags with how many videos have them, by source (filename, metadata, ai, rule, plugin, list, user)')
        .argument('[query...]', 'only records matching this free text, as for search'),
    ),
  )
    .option('--from <source>', `only tags from this source: ${TAG_SOURCES.join('|')}`, (v: string) => {
      if (!TAG_SOURCES.includes(v as TagSource)) throw new InvalidArgumentError(`expected one of ${TAG_SOURCES.join(', ')}`);
      return v;
    })
    .option('--min-count <n>', 'only tags on at least this many videos', positiveInt)
    .option('--top <n>', 'at most this many tags (default 100)', positiveInt)
    .option('--json', 'all counts as JSON on stdout')
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { from?: string; minCount?: number; top?: number; json?: boolean }) => {
      const app = appFrom(flags);
      try {
        const store = await app.library();
        const counter = new TagCounter();
        for await (const v of selectedRecords(store, queryFromFlags(words.join(' '), flags))) counter.add(v, flags.from);
        const rows = counter.result().filter((r) => r.videos >= (flags.minCount ?? 1));
        if (flags.json) {
          out(JSON.stringify({ records: counter.records, tags: rows }));
          return;
        }
        const shown = rows.slice(0, flags.top ?? 100);
        out(
          renderTable(
            shown.map((r) => ({
              tag: r.name,
              videos: String(r.videos),
              ...Object.fromEntries(TAG_SOURCES.map((s) => [s, r.bySource[s] ? String(r.bySource[s]) : ''])),
              confidence: r.meanConfidence.toFixed(2),
            })),
          ),
        );
        out(`${shown.length} of ${rows.length} tag(s) over ${counter.records} record(s)`);
      } finally {
        await app.close();
      }
    });
}
