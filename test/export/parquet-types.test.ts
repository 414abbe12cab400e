import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type SchemaElement } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { selectFields, writeParquet } from '../../src/export/index.js';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const t = tempDir('videodex-parquet-types-');
const data = path.join(t.dir, 'data');
afterAll(() => t.cleanup());

async function* iter(items: Video[]) {
  yield* items;
}

/** Each column's physical type and converted type ('-' when none), keyed by name. */
async function columnTypes(file: string): Promise<Record<string, string>> {
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(file));
  const out: Record<string, string> = {};
  for (const el of meta.schema.slice(1) as SchemaElement[]) out[el.name] = `${el.type}/${el.converted_type ?? '-'}/${el.repetition_type}`;
  return out;
}

const read = async (file: string) => (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Array<Record<string, unknown>>;

describe('parquet export: record-path fields get types from their values (they were all strings)', () => {
  beforeAll(async () => {
    mkdirSync(path.join(t.dir, 'v'));
    await makeTestVideo(path.join(t.dir, 'v', 'a.mp4'), { seconds: 1, width: 320, height: 240, fps: 25 });
    await makeTestVideo(path.join(t.dir, 'v', 'b.mp4'), { seconds: 1, width: 160, height: 120, fps: 30, audio: true });
    const r = await runCli(['process', path.join(t.dir, 'v'), '--data-dir', data, '-q']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('videodex export --format parquet --fields id,metadata.width,metadata.fps,... reads back typed', async () => {
    const file = path.join(t.dir, 'x.parquet');
    const fields = 'id,width,metadata.width,metadata.height,metadata.fps,metadata.durationSec,metadata.videoCodec,metadata.audio,metadata.audio.channels,file.bytes,scenes,ai.description';
    const r = await runCli(['export', '--format', 'parquet', '-o', file, '--fields', fields, '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(await columnTypes(file)).toEqual({
      id: 'BYTE_ARRAY/UTF8/OPTIONAL',
      width: 'INT32/-/OPTIONAL',
      'metadata.width': 'INT32/-/OPTIONAL',
      'metadata.height': 'INT32/-/OPTIONAL',
      'metadata.fps': 'DOUBLE/-/OPTIONAL',
      'metadata.durationSec': 'DOUBLE/-/OPTIONAL',
      'metadata.videoCodec': 'BYTE_ARRAY/UTF8/OPTIONAL',
      'metadata.audio': 'BYTE_ARRAY/JSON/OPTIONAL',
      'metadata.audio.channels': 'INT32/-/OPTIONAL',
      'file.bytes': 'INT64/-/OPTIONAL',
      scenes: 'BYTE_ARRAY/JSON/OPTIONAL',
      // no model ran: null in every row, still a string column (the record schema says so)
      'ai.description': 'BYTE_ARRAY/UTF8/OPTIONAL',
    });
    const rows = await read(file);
    expect(rows).toHaveLength(2);
    const [a, b] = [...rows].sort((x, y) => Number(y['metadata.width']) - Number(x['metadata.width']));
    expect(a).toMatchObject({ width: 320, 'metadata.width': 320, 'metadata.height': 240, 'metadata.fps': 25, 'metadata.videoCodec': 'h264', 'metadata.audio': null, 'metadata.audio.channels': null, 'ai.description': null });
    expect(b).toMatchObject({ width: 160, 'metadata.width': 160, 'metadata.fps': 30, 'metadata.audio': expect.objectContaining({ codec: 'aac' }), 'metadata.audio.channels': 1 });
    expect(typeof a!['file.bytes']).toBe('bigint');
    expect(a!['metadata.durationSec']).toBeCloseTo(1, 0);
    expect(Array.isArray(a!.scenes)).toBe(true);
  });
});

describe('parquet export: paths the record schema leaves open (extra.*) are typed from the first row group', () => {
  const rec = (extra: Record<string, unknown>) => makeRecord({ extra });

  it('whole numbers INT64, other numbers DOUBLE, booleans BOOLEAN, strings UTF8, objects and mixed JSON, nulls everywhere', async () => {
    const file = path.join(t.dir, 'extra.parquet');
    const records = [
      rec({ p: { n: 3, d: 0.5, b: true, s: 'x', o: { k: 1 }, m: 1, z: null } }),
      rec({ p: { n: null, d: 2, b: false, s: null, o: [1, 2], m: 'one', z: null } }),
      rec({ p: { n: 2 ** 40, d: 1.25, b: null, s: 'y', o: null, m: null } }),
      // second row group: values that fit the types chosen from the first
      rec({ p: { n: 7, d: 3, b: true, s: 'z', o: 'text', m: { a: 1 }, z: { late: true } } }),
    ];
    const names = ['p.n', 'p.d', 'p.b', 'p.s', 'p.o', 'p.m', 'p.z'].map((n) => `extra.${n}`);
    expect(await writeParquet(iter(records), file, selectFields(names), 3)).toBe(4);
    expect(await columnTypes(file)).toEqual({
      'extra.p.n': 'INT64/-/OPTIONAL',
      'extra.p.d': 'DOUBLE/-/OPTIONAL',
      'extra.p.b': 'BOOLEAN/-/OPTIONAL',
      'extra.p.s': 'BYTE_ARRAY/UTF8/OPTIONAL',
      'extra.p.o': 'BYTE_ARRAY/JSON/OPTIONAL',
      'extra.p.m': 'BYTE_ARRAY/JSON/OPTIONAL',
      // only nulls in the first row group: JSON text, which can hold whatever comes later
      'extra.p.z': 'BYTE_ARRAY/JSON/OPTIONAL',
    });
    const rows = await read(file);
    expect(rows.map((r) => r['extra.p.n'])).toEqual([3n, null, 2n ** 40n, 7n]);
    expect(rows.map((r) => r['extra.p.d'])).toEqual([0.5, 2, 1.25, 3]);
    expect(rows.map((r) => r['extra.p.b'])).toEqual([true, false, null, true]);
    expect(rows.map((r) => r['extra.p.s'])).toEqual(['x', null, 'y', 'z']);
    expect(rows.map((r) => r['extra.p.o'])).toEqual([{ k: 1 }, [1, 2], null, 'text']);
    expect(rows.map((r) => r['extra.p.m'])).toEqual([1, 'one', null, { a: 1 }]);
    expect(rows.map((r) => r['extra.p.z'])).toEqual([null, null, null, { late: true }]);
  });

  it('a later value that does not fit the chosen type stops the export with one line naming the field', async () => {
    const file = path.join(t.dir, 'bad.parquet');
    const records = [rec({ p: { n: 1 } }), rec({ p: { n: 2 } }), rec({ p: { n: 2.5 } })];
    const late = records[2]!;
    const run = writeParquet(iter(records), file, selectFields(['id', 'extra.p.n']), 2);
    await expect(run).rejects.toThrow(new RegExp(`^parquet export: field extra\\.p\\.n of video ${late.id} is 2\\.5, which does not fit the column's type INT64 \\(chosen from the first 2 rows\\)`));
    await expect(run).rejects.toThrow(/^[^\n]*$/);
    const strings = writeParquet(iter([rec({ p: { s: 'a' } }), rec({ p: { s: 5 } })]), path.join(t.dir, 'bad2.parquet'), selectFields(['extra.p.s']), 1);
    await expect(strings).rejects.toThrow(/field extra\.p\.s of video \w+ is 5, which does not fit the column's type STRING/);
  });

  it('a schema-typed path never depends on the first row group: fps 30 then 29.97 stays DOUBLE', async () => {
    const file = path.join(t.dir, 'fps.parquet');
    const meta = (fps: number) => ({ ...makeRecord().metadata!, fps });
    const records = [makeRecord({ metadata: meta(30) }), makeRecord({ metadata: meta(29.97) }), makeRecord({ metadata: null })];
    await writeParquet(iter(records), file, selectFields(['metadata.fps', 'metadata.width']), 1);
    expect(await columnTypes(file)).toMatchObject({ 'metadata.fps': 'DOUBLE/-/OPTIONAL', 'metadata.width': 'INT32/-/OPTIONAL' });
    expect((await read(file)).map((r) => r['metadata.fps'])).toEqual([30, 29.97, null]);
    expect(existsSync(file)).toBe(true);
  });

  it('refuses a field given twice (a file with two columns of one name is one readers refuse)', () => {
    expect(() => selectFields(['id', 'width', 'metadata.width', ' id'])).toThrow('--fields "id" is given twice');
    expect(selectFields(['id', 'width', 'metadata.width']).map((f) => f.name)).toEqual(['id', 'width', 'metadata.width']);
  });
});
