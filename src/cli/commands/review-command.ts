import type { Command } from 'commander';
import { displayName } from '../../core/index.js';
import { ReviewCollector } from '../../tagging/index.js';
import { selectedRecords } from '../../store/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, number, out, positiveInt, withConfigOptions, type CommonFlags } from '../shared-options.js';
import { renderTable } from './search-command.js';

export function registerReview(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('review')
        .description('list model answers that match nothing in the taxonomy, and categories below [Tagging] ReviewBelow')
        .argument('[query...]', 'only records matching this free text, as for search'),
    ),
  )
    .option('--below <confidence>', 'list categories below this confidence ([Tagging] ReviewBelow)', number)
    .option('--top <n>', 'at most this many rows per section (default 50)', positiveInt)
    .option('--json', 'everything as JSON on stdout')
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { below?: number; top?: number; json?: boolean }) => {
      const app = appFrom(flags, { 'Tagging.ReviewBelow': flags.below });
      try {
        const store = await app.library();
        const top = flags.top ?? 50;
        const review = new ReviewCollector(app.config.Tagging.ReviewBelow, flags.json ? 10_000 : top);
        let records = 0;
        for await (const v of selectedRecords(store, queryFromFlags(words.join(' '), flags))) {
          records++;
          review.add(v, displayName(v));
        }
        const unmapped = review.unmappedAnswers();
        if (flags.json) {
          out(JSON.stringify({ records, reviewBelow: app.config.Tagging.ReviewBelow, unmapped, lowConfidence: review.low, lowConfidenceTotal: review.lowTotal }));
          return;
        }
        out(`Unmapped model answers (${unmapped.length}): add them to the taxonomy as names or keywords, or to the action list`);
        if (unmapped.length) {
          out(
            renderTable(
              unmapped.slice(0, top).map((u) => ({ answer: u.label, kind: u.kind, videos: String(u.videos), closest: u.closest ?? '-', examples: u.examples.join(' ') })),
            ),
          );
        }
        out('');
        out(`Low confidence (< ${app.config.Tagging.ReviewBelow}): ${review.lowTotal}`);
        if (review.low.length) {
          out(
            renderTable(
              review.low.slice(0, top).map((l) => ({
                video: l.videoId,
                name: l.name,
                category: l.category,
                kind: l.kind,
                confidence: l.confidence.toFixed(2),
                match: l.match ?? '-',
                answer: l.label ?? '-',
              })),
            ),
          );
        }
        out(`${records} record(s) reviewed`);
      } finally {
        await app.close();
      }
    });
}
