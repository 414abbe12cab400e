import type { Command } from 'commander';
import { ConfigError, displayName } from '../../core/index.js';
import { MAX_LIMIT } from '../../store/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

export function registerSearch(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('search')
        .description('search the library by text, tags, categories and metadata')
        .argument('[query...]', 'the query language: words, "exact phrases", prefix*, -not, OR, (groups), field:value (see docs/search.md)'),
    ),
  )
    .option('--json', 'results as JSON on stdout (hits, total, facets)')
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { json?: boolean }) => {
      // a page, as limit: in the query: more was cut to 1000 without a word (export, retag and the like take any)
      if (flags.limit !== undefined && flags.limit > MAX_LIMIT) throw new ConfigError(`--limit ${flags.limit}: a search page holds at most ${MAX_LIMIT} (follow --cursor for the next, or use export)`);
      const q = queryFromFlags(words.join(' '), flags);
      const app = appFrom(flags);
      try {
        const store = await app.library();
        const result = await store.search(q);
        if (flags.json) {
          out(JSON.stringify({ total: result.total, hits: result.hits, facets: result.facets, nextCursor: result.nextCursor ?? null }));
          return;
        }
        out(renderTable(result.hits.map((h) => h.video && ({
          id: h.id,
          name: displayName(h.video),
          duration: h.video.metadata ? `${h.video.metadata.durationSec.toFixed(1)}s` : '-',
          size: h.video.metadata ? `${h.video.metadata.width}x${h.video.metadata.height}` : '-',
          codec: h.video.metadata?.videoCodec ?? '-',
          tags: h.video.tags.slice(0, 6).map((t) => t.name).join(','),
        }))));
        for (const h of result.hits) if (h.highlight) out(`  ${h.id.slice(0, 12)}  ${h.highlight}`);
        out(`${result.hits.length} of ${result.total} match${result.total === 1 ? '' : 'es'}${result.nextCursor ? ` (next page: --cursor ${result.nextCursor})` : ''}`);
      } finally {
        await app.close();
      }
    });
}

/** A plain aligned table; long cells are cut so a row fits a terminal. */
export function renderTable(rows: Array<Record<string, string>>): string {
  if (!rows.length) return '(no matches)';
  const cols = Object.keys(rows[0]!);
  const cut = (s: string) => (s.length > 40 ? `${s.slice(0, 39)}…` : s);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cut(r[c] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => cut(c).padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(cols.map((c) => c.toUpperCase())), ...rows.map((r) => fmt(cols.map((c) => r[c] ?? '')))].join('\n');
}
