import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { ConfigError, type Video } from '../core/index.js';
import { cell, defaultFields, formulaSafe, pick, selectFields } from './field-select.js';
import { SCENE_COLUMNS } from './scene-columns.js';

export type ExportFormat = 'json' | 'jsonl' | 'csv' | 'scenes-csv' | 'parquet';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'json', 'csv', 'scenes-csv', 'parquet'];

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

function sceneColumns(fields: readonly string[] | undefined) {
  if (!fields?.length) return SCENE_COLUMNS;
  return fields.map((f) => {
    const c = SCENE_COLUMNS.find((col) => col.name.toLowerCase() === f.trim().toLowerCase());
    if (!c) throw new ConfigError(`--fields ${JSON.stringify(f)} is not a scenes-csv column; columns: ${SCENE_COLUMNS.map((col) => col.name).join(', ')}`);
    return c;
  });
}

/**
 * Streams records to `out` in the format: one record in memory at a time, backpressure respected, so an
 * export of 100k records stays small. Returns the number of rows written (records; scenes for scenes-csv).
 * `fields` picks columns: for json/jsonl/csv documented flat columns or dotted record paths (json/jsonl
 * without fields write whole records); for scenes-csv the scene column names. Parquet goes to a file:
 * use `writeParquet`.
 */
export async function writeRecords(records: AsyncIterable<Video>, format: ExportFormat, out: Writable, options: { fields?: readonly string[]; escapeFormulas?: boolean; bom?: boolean } = {}): Promise<number> {
  let n = 0;
  // Excel reads a UTF-8 CSV without a byte-order mark in the machine's code page: every title beyond ASCII garbled
  if (options.bom && (format === 'csv' || format === 'scenes-csv')) await write(out, '\ufeff');
  // CSV is opened in spreadsheets: text that would run as a formula is escaped unless asked not to
  const safe = options.escapeFormulas === false ? (x: string | number) => x : formulaSafe;
  const picked = options.fields?.length && format !== 'scenes-csv' ? selectFields(options.fields) : null;
  if (format === 'jsonl') {
    for await (const v of records) {
      await write(out, JSON.stringify(picked ? pick(v, picked) : v) + '\n');
      n++;
    }
  } else if (format === 'json') {
    await write(out, '[');
    for await (const v of records) {
      await write(out, (n ? ',\n' : '\n') + JSON.stringify(picked ? pick(v, picked) : v));
      n++;
    }
    await write(out, n ? '\n]\n' : ']\n');
  } else if (format === 'csv') {
    const columns = picked ?? defaultFields();
    await write(out, stringify([columns.map((c) => c.name)]));
    for await (const v of records) {
      await write(out, stringify([columns.map((c) => safe(cell(c.get(v))))]));
      n++;
    }
  } else if (format === 'scenes-csv') {
    const columns = sceneColumns(options.fields);
    await write(out, stringify([columns.map((c) => c.name)]));
    for await (const v of records) {
      for (const s of v.scenes) {
        await write(out, stringify([columns.map((c) => safe(c.get(s, v)))]));
        n++;
      }
    }
  } else {
    throw new ConfigError('parquet needs a file: use --out <file>.parquet');
  }
  return n;
}
