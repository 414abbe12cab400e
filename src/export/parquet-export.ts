import type { BasicType, ColumnSource, ParquetWriter } from 'hyparquet-writer';
import { AppError, type Video } from '../core/index.js';
import { cell, type Field } from './field-select.js';

/** Parquet types of the documented flat columns; every other flat column is a UTF-8 string. */
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

/** What a record-path column is written as: a number, boolean or string type, or JSON text (BYTE_ARRAY/JSON). */
type Kind = 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'JSON';

const SOURCE_INFO: Record<string, Kind> = {
  url: 'STRING', kind: 'STRING', title: 'STRING', uploader: 'STRING', uploadedAt: 'STRING', pageUrl: 'STRING', description: 'STRING',
  durationSec: 'DOUBLE', fetchedAt: 'STRING',
  'list.file': 'STRING', 'list.label': 'STRING', 'list.split': 'STRING', 'list.start': 'DOUBLE', 'list.end': 'DOUBLE', 'list.row': 'INT64', 'list.trim': 'STRING',
};
const LABEL: Record<string, Kind> = { name: 'STRING', source: 'STRING', confidence: 'DOUBLE', rule: 'STRING' };

/**
 * The scalar leaves of the record (src/core/video.ts) and their column types; `*` is any key of a map or index
 * of a list. Object and list paths (metadata.audio, scenes, ai.tags...) are not listed: they are JSON either way.
 */
const RECORD_TYPES: ReadonlyArray<[string[], Kind]> = Object.entries<Kind>({
  id: 'STRING', contactSheet: 'STRING', createdAt: 'STRING', updatedAt: 'STRING',
  ...prefixed('source', SOURCE_INFO),
  ...prefixed('alsoFrom.*', SOURCE_INFO),
  'file.path': 'STRING', 'file.bytes': 'INT64', 'file.sha256': 'STRING', 'file.storage': 'STRING',
  ...prefixed('metadata', {
    durationSec: 'DOUBLE', container: 'STRING', bitRate: 'INT64', width: 'INT32', height: 'INT32', sampleAspectRatio: 'STRING', fps: 'DOUBLE', frameCount: 'INT64',
    rotation: 'INT32', videoCodec: 'STRING', pixelFormat: 'STRING', bitDepth: 'INT32', interlaced: 'BOOLEAN', variableFrameRate: 'BOOLEAN', videoStartSec: 'DOUBLE', videoStreamIndex: 'INT32',
    'audio.codec': 'STRING', 'audio.channels': 'INT32', 'audio.sampleRate': 'INT32', creationTime: 'STRING', 'containerTags.*': 'STRING',
  }),
  ...prefixed('scenes.*', {
    index: 'INT32', startSec: 'DOUBLE', endSec: 'DOUBLE', startFrame: 'INT64', endFrame: 'INT64', keyframe: 'STRING', transition: 'STRING',
    score: 'DOUBLE', description: 'STRING',
  }),
  ...prefixed('ai', {
    model: 'STRING', endpoint: 'STRING', provider: 'STRING', template: 'STRING', templateHash: 'STRING', instruction: 'STRING', description: 'STRING',
    'tags.*': 'STRING', category: 'STRING', 'actions.*': 'STRING', promptTokens: 'INT64', completionTokens: 'INT64', estimatedTokens: 'INT64',
    framesSent: 'INT32', at: 'STRING',
  }),
  ...prefixed('tags.*', LABEL),
  ...prefixed('categories.*', { ...LABEL, kind: 'STRING', label: 'STRING', match: 'STRING' }),
  ...prefixed('stages.*', {
    status: 'STRING', version: 'STRING', inputHash: 'STRING', at: 'STRING', ms: 'INT64', error: 'STRING', errorCode: 'STRING', reason: 'STRING',
  }),
}).map(([p, k]) => [p.split('.'), k]);

function prefixed(prefix: string, types: Record<string, Kind>): Record<string, Kind> {
  return Object.fromEntries(Object.entries(types).map(([k, v]) => [`${prefix}.${k}`, v]));
}

function schemaKind(name: string): Kind | undefined {
  const parts = name.split('.');
  return RECORD_TYPES.find(([p]) => p.length === parts.length && p.every((s, i) => s === '*' || s === parts[i]))?.[1];
}

/** The type that holds every non-null value of a sample: JSON when there are none, or of several kinds. */
function inferKind(values: readonly unknown[]): Kind {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (!present.length) return 'JSON';
  if (present.every((v) => typeof v === 'boolean')) return 'BOOLEAN';
  if (present.every((v) => typeof v === 'string')) return 'STRING';
  if (present.every((v) => typeof v === 'number')) return present.every((v) => Number.isSafeInteger(v)) ? 'INT64' : 'DOUBLE';
  return 'JSON';
}

const INT32_MAX = 2 ** 31 - 1;

/** The value as the column stores it, or `undefined` when it does not fit the column's type. */
function fit(value: unknown, kind: Kind): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'INT32':
      return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= INT32_MAX ? value : undefined;
    case 'INT64':
      return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    case 'DOUBLE':
      return typeof value === 'number' ? value : undefined;
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : undefined;
    case 'STRING':
      return typeof value === 'string' ? value : undefined;
    case 'JSON':
      return value; // the writer stores JSON.stringify(value)
  }
}

function convertFlat(value: unknown, type: BasicType): unknown {
  if (value === null || value === undefined || value === '') return null;
  if (type === 'INT64') return BigInt(Math.round(Number(value)));
  if (type === 'INT32') return Math.round(Number(value));
  if (type === 'DOUBLE') return Number(value);
  return String(cell(value as never));
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

interface Column {
  type: BasicType;
  convert: (value: unknown, id: string) => unknown;
}

/**
 * How each field is written. Flat columns have their documented types. A record path takes its type from the
 * record schema (src/core/video.ts) where the schema fixes one, so a column never depends on which videos came
 * first (fps 30 in the first rows and 29.97 later is still DOUBLE, a description absent from the first rows
 * still a string). Paths the schema leaves open (extra.*, plugin results) are typed from their values in the
 * first row group (`first`): the writer needs the schema before the first row group and later rows are not read
 * yet. A later value that does not fit stops the export with one line naming the field and the video: writing
 * it as null would lose data without a word, and a rounded or stringified value would be a wrong one.
 */
function columnsFor(fields: readonly Field[], first: ReadonlyArray<readonly unknown[]>): Column[] {
  return fields.map((f, i) => {
    if (f.flat) {
      const type = TYPES[f.name] ?? 'STRING';
      return { type, convert: (v) => convertFlat(v, type) };
    }
    const fromSchema = schemaKind(f.name);
    const kind = fromSchema ?? inferKind(first[i] ?? []);
    const why = fromSchema ? 'from the record schema' : `chosen from the first ${first[i]?.length ?? 0} rows`;
    return {
      type: kind,
      convert: (value, id) => {
        const out = fit(value, kind);
        if (out === undefined) {
          throw new AppError(
            'E_EXPORT',
            `parquet export: field ${f.name} of video ${id} is ${shown(value)}, which does not fit the column's type ${kind} (${why}); export it as csv or jsonl, or leave the field out`,
          );
        }
        return out;
      },
    };
  });
}

/**
 * Streams records into a Parquet file (hyparquet-writer: pure JavaScript, no native code), a row group per
 * `batch` records, so memory holds one batch. Snappy-compressed. Returns the number of rows.
 */
export async function writeParquet(records: AsyncIterable<Video>, file: string, fields: readonly Field[], batch = 5000): Promise<number> {
  const empty = (): unknown[][] => fields.map(() => []);
  let rows = empty();
  let ids: string[] = [];
  let columns: Column[] | null = null;
  let writer: ParquetWriter | null = null;
  // loaded when a Parquet file is written, not by every command (hyparquet and its writer are 50-odd modules)
  const { ParquetWriter: Writer, fileWriter, schemaFromColumnData } = await import('hyparquet-writer');
  const columnData = (data: unknown[][]): ColumnSource[] =>
    fields.map((f, i) => ({ name: f.name, data: data[i]! as ColumnSource['data'], type: columns![i]!.type, nullable: true }));
  const open = (): ParquetWriter => {
    columns = columnsFor(fields, rows);
    return new Writer({ writer: fileWriter(file), schema: schemaFromColumnData({ columnData: columnData(empty()) }), createdBy: 'videodex' });
  };
  let n = 0;
  const flush = async () => {
    if (ids.length === 0) return;
    writer ??= open();
    const converted = rows.map((values, i) => values.map((v, r) => columns![i]!.convert(v, ids[r]!)));
    await writer.write({ columnData: columnData(converted), rowGroupSize: batch });
    rows = empty();
    ids = [];
  };
  for await (const v of records) {
    fields.forEach((f, i) => rows[i]!.push(f.get(v)));
    ids.push(v.id);
    n++;
    if (ids.length >= batch) await flush();
  }
  await flush();
  writer ??= open();
  await writer.finish();
  return n;
}
