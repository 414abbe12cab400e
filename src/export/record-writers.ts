import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Video } from '../core/index.js';
import { CSV_COLUMNS } from './csv-columns.js';

export type ExportFormat = 'json' | 'jsonl' | 'csv';

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * Streams records to `out` in the format: one record in memory at a time, backpressure respected, so an
 * export of 100k records stays small. Returns the number written.
 */
export async function writeRecords(records: AsyncIterable<Video>, format: ExportFormat, out: Writable, options: { fields?: readonly string[] } = {}): Promise<number> {
  let n = 0;
  if (format === 'jsonl') {
    for await (const v of records) {
      await write(out, JSON.stringify(v) + '\n');
      n++;
    }
  } else if (format === 'json') {
    await write(out, '[');
    for await (const v of records) {
      await write(out, (n ? ',\n' : '\n') + JSON.stringify(v));
      n++;
    }
    await write(out, n ? '\n]\n' : ']\n');
  } else {
    const columns = options.fields?.length ? options.fields.map((f) => {
      const c = CSV_COLUMNS.find((col) => col.name === f);
      if (!c) throw new Error(`unknown CSV field ${f}; fields: ${CSV_COLUMNS.map((col) => col.name).join(', ')}`);
      return c;
    }) : CSV_COLUMNS;
    await write(out, stringify([columns.map((c) => c.name)]));
    for await (const v of records) {
      await write(out, stringify([columns.map((c) => c.get(v) ?? '')]));
      n++;
    }
  }
  return n;
}
