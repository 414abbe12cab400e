import { ConfigError, type Video } from '../core/index.js';
import { CSV_COLUMNS } from './csv-columns.js';

export type FieldValue = string | number | boolean | null | object;

export interface Field {
  name: string;
  get: (v: Video) => FieldValue;
  /** A documented flat column (typed), rather than a path into the record. */
  flat: boolean;
}

function atPath(v: Video, parts: readonly string[]): FieldValue {
  let cur: unknown = v;
  for (const p of parts) {
    // own keys only: metadata.constructor or extra.toString read Object's methods, which JSON dropped (the field
    // went missing from the row) and CSV refused mid-export ("Invalid Casting Value")
    if (cur === null || cur === undefined || typeof cur !== 'object' || !Object.hasOwn(cur, p)) return null;
    cur = (cur as Record<string, unknown>)[p];
  }
  return (cur ?? null) as FieldValue;
}

const RECORD_KEYS = new Set(['id', 'source', 'alsoFrom', 'file', 'metadata', 'scenes', 'contactSheet', 'ai', 'tags', 'categories', 'extra', 'stages', 'createdAt', 'updatedAt']);

/**
 * Fields for `--fields`: each a documented flat column (`duration_sec`, `tags`...) or a dotted path into the
 * record (`metadata.width`, `ai.description`, `source.list.label`). Unknown names stop the export with the
 * list of columns.
 */
export function selectFields(names: readonly string[]): Field[] {
  const seen = new Set<string>();
  return names.map((raw) => {
    const name = raw.trim();
    // one column per name: a file with two columns of one name is one many readers refuse (pyarrow, pandas)
    if (seen.has(name)) throw new ConfigError(`--fields ${JSON.stringify(name)} is given twice`);
    seen.add(name);
    const col = CSV_COLUMNS.find((c) => c.name === name);
    if (col) return { name, get: col.get, flat: true };
    const parts = name.split('.');
    if (RECORD_KEYS.has(parts[0]!) && parts.every((p) => p.length > 0)) return { name, get: (v) => atPath(v, parts), flat: false };
    throw new ConfigError(
      `--fields ${JSON.stringify(name)} is not a column or record path; columns: ${CSV_COLUMNS.map((c) => c.name).join(', ')}; or a path such as metadata.width or ai.description`,
    );
  });
}

/** All documented flat columns. */
export function defaultFields(): Field[] {
  return CSV_COLUMNS.map((c) => ({ name: c.name, get: c.get, flat: true }));
}

/** A record reduced to the fields, keyed by the field names as given. */
export function pick(v: Video, fields: readonly Field[]): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of fields) out[f.name] = f.get(v);
  return out;
}

/** A value as one CSV cell: objects as JSON. */
export function cell(value: FieldValue): string | number {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return value;
}

/** A text cell a spreadsheet would take for a formula: `=`, `+`, `-`, `@`, a tab or a carriage return first. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * A cell as a spreadsheet opens it safely: text that it would run as a formula gets a leading `'` (OWASP's advice
 * for CSV injection), which spreadsheets show as text and do not keep. Titles and descriptions come from the
 * internet (a yt-dlp title `=HYPERLINK("http://...")`, a container comment): opened in Excel, they ran. Numbers,
 * negative ones included, stay as they are.
 */
export function formulaSafe(value: string | number): string | number {
  return typeof value === 'string' && FORMULA_START.test(value) && !NUMBER.test(value.trim()) ? `'${value}` : value;
}
