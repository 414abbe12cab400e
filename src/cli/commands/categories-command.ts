import type { Command } from 'commander';
import { CategoryCounter } from '../../tagging/index.js';
import { selectedRecords } from '../../store/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';
import { renderTable } from './search-command.js';

export function registerCategories(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('categories')
        .description('count videos per category and action label, by source (ai, rule, list)')
        .argument('[query...]', 'only records matching this free text, as for search'),
    ),
  )
    .option('--json', 'counts as JSON on stdout')
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { json?: boolean }) => {
      const app = appFrom(flags);
      try {
        const store = await app.library();
        const counter = new CategoryCounter();
        for await (const v of selectedRecords(store, queryFromFlags(words.join(' '), flags))) counter.add(v);
        const rows = counter.result();
        if (flags.json) {
          out(JSON.stringify({ records: counter.records, unmapped: counter.unmapped, categories: rows }));
          return;
        }
        out(
          renderTable(
            rows.map((r) => ({
              category: r.name,
              kind: r.kind,
              videos: String(r.videos),
              sources: Object.entries(r.bySource).map(([s, n]) => `${s}:${n}`).join(' '),
              confidence: r.meanConfidence.toFixed(2),
            })),
          ),
        );
        out(`${rows.length} categor${rows.length === 1 ? 'y' : 'ies'} over ${counter.records} record(s); ${counter.unmapped} unmapped answer(s) (see videodex review)`);
      } finally {
        await app.close();
      }
    });
}
