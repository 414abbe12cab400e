import { parse as parseCsv, type Options } from 'csv-parse/sync';

export interface CsvRow {
  record: Record<string, string>;
  /** The line the row ends on (comments and blank lines count), as a person sees it in an editor. */
  line: number;
}

export interface CsvRows {
  rows: CsvRow[];
  /** Rows that could not be read, by the line they start on. */
  bad: Array<{ line: number; message: string }>;
}

const OPTIONS: Options = {
  skip_empty_lines: true,
  trim: true,
  relax_column_count: true,
  // a line starting with # is a comment; a # inside a row is data (`C# basics`, `clip.mp4#t=3`)
  comment: '#',
  comment_no_infix: true,
  // a malformed row is a problem of that row, not of the whole list
  skip_records_with_error: true,
};

/** Thrown from `on_skip` to stop a parse at its first unreadable row. */
const STOP = Symbol('stop at the unreadable row');

/**
 * The rows of a CSV list with a header (lower-cased column names). A row csv-parse cannot read is reported by the
 * line it starts on and the others still run. Reading stops at such a row and starts again, with a fresh parser,
 * on the next line: csv-parse cannot tell a line break inside quotes from the end of a row, so after a bad quote
 * its own recovery can take the following good rows for part of the bad one (a quote opened and never closed
 * swallows every line after it, and the error names the last line of the file). Null when not even the header
 * can be read.
 */
export function readCsvRows(text: string): CsvRows | null {
  const lines = text.split('\n');
  let columns: string[] | null = null;
  const rows: CsvRow[] = [];
  const bad: CsvRows['bad'] = [];
  // lines before the part being read: after an unreadable row, the rest is read again on its own
  let offset = 0;
  for (;;) {
    let failure: (Error & { code?: string; lines?: number }) | null = null;
    // the last line known to be read: the header's, then each row's
    let lastRead = offset === 0 ? firstContentLine(lines, 0) : offset;
    const options = {
      ...OPTIONS,
      columns: columns ?? ((h: string[]) => (columns = h.map((c) => c.trim().toLowerCase()))),
      on_record: (record: Record<string, string>, context: { lines: number }) => {
        rows.push({ record, line: context.lines + offset });
        lastRead = context.lines + offset;
        return record;
      },
      // documented (csv.js.org/parse/options/on_skip) and in the parser, not in this version's typings
      on_skip: (error: Error) => {
        failure = error;
        throw STOP;
      },
    } as Options;
    try {
      parseCsv(offset === 0 ? text : lines.slice(offset).join('\n'), options);
    } catch (err) {
      if (err !== STOP) return null;
    }
    if (!columns) return null;
    const error = failure as (Error & { code?: string; lines?: number }) | null;
    if (!error) return { rows, bad };
    const start = firstContentLine(lines, lastRead);
    const at = (error.lines ?? start - offset) + offset;
    const unclosed = error.code === 'CSV_QUOTE_NOT_CLOSED' || at > start;
    bad.push({
      line: start,
      message: unclosed ? 'not a readable CSV row: a quote opened on this line is not closed on it' : `not a readable CSV row: ${error.message.replace(/\s*(at|on) line \d+\b/, '')}`,
    });
    offset = start;
  }
}

/** The 1-based number of the first line after line `after` (1-based) that holds data: not blank, not a comment. */
function firstContentLine(lines: readonly string[], after: number): number {
  for (let i = after; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t && !t.startsWith('#')) return i + 1;
  }
  return after + 1;
}
