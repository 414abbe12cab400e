/**
 * Rows in the text format of PostgreSQL's COPY: columns separated by tabs, rows by newlines, NULL as `\N`, and
 * a backslash, tab, newline or carriage return inside a value escaped with a backslash. Bulk upserts stream
 * records this way rather than as a 9,500-parameter INSERT per 500 records, which the server parsed and
 * planned for each statement and the driver grew its message buffer for, copying it a dozen times.
 */

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as COPY reads it back unchanged. */
export function copyText(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : s;
}

/** A text[] literal: every element quoted, so commas, braces, spaces and the word NULL stay text. */
export function arrayLiteral(items: readonly string[]): string {
  return `{${items.map((x) => `"${x.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** One column of a row: null, a boolean, a number, a string or a string array. */
export function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return copyText(arrayLiteral(v as string[]));
  return copyText(String(v));
}

/** One row, newline included. */
export function copyRow(values: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : '\t') + copyField(values[i]);
  return `${line}\n`;
}
