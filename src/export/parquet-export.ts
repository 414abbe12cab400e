import { ParquetWriter, fileWriter, schemaFromColumnData, type BasicType, type ColumnSource } from 'hyparquet-writer';
import type { Video } from '../core/index.js';
import { cell, type Field } from './field-select.js';

/** Parquet types of the documented flat columns; every other field is a UTF-8 string (objects as JSON). */
const TYPES: Record<string, BasicType> = {
  duration_sec: 'DOUBLE',
  fps: 'DOUBLE',
  width: 'INT32',
  height: 'INT32',
  rotation: 'INT32',
  scene_count: 'INT32',
  bit_rate: 'INT64',
  bytes: 'INT64',
};

function typeOf(f: Field): BasicType {
  return (f.flat && TYPES[f.name]) || 'STRING';
}

function convert(value: unknown, type: BasicType): unknown {
  if (value === null || value === undefined || value === '') return null;
  if (type === 'INT64') return BigInt(Math.round(Number(value)));
  if (type === 'INT32') return Math.round(Number(value));
  if (type === 'DOUBLE') return Number(value);
  return String(cell(value as never));
}

/**
 * Streams records into a Parquet file (hyparquet-writer: pure JavaScript, no native code), a row group per
 * `batch` records, so memory holds one batch. Snappy-compressed. Returns the number of rows.
 */
export async function writeParquet(records: AsyncIterable<Video>, file: string, fields: readonly Field[], batch = 5000): Promise<number> {
  const types = fields.map(typeOf);
  const empty = (): unknown[][] => fields.map(() => []);
  const columns = (data: unknown[][]): ColumnSource[] =>
    fields.map((f, i) => ({ name: f.name, data: data[i]! as ColumnSource['data'], type: types[i]!, nullable: true }));
  const writer = new ParquetWriter({ writer: fileWriter(file), schema: schemaFromColumnData({ columnData: columns(empty()) }), createdBy: 'videodex' });
  let rows = empty();
  let n = 0;
  const flush = async () => {
    if (rows[0]!.length === 0) return;
    await writer.write({ columnData: columns(rows), rowGroupSize: batch });
    rows = empty();
  };
  for await (const v of records) {
    fields.forEach((f, i) => rows[i]!.push(convert(f.get(v), types[i]!)));
    n++;
    if (rows[0]!.length >= batch) await flush();
  }
  await flush();
  await writer.finish();
  return n;
}
