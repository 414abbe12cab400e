import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const t = tempDir('videodex-export-format-');
const data = path.join(t.dir, 'data');

beforeAll(async () => {
  mkdirSync(path.join(t.dir, 'v'));
  await makeTestVideo(path.join(t.dir, 'v', 'one.mp4'), { seconds: 1, width: 160, height: 120 });
  const r = await runCli(['process', path.join(t.dir, 'v'), '--data-dir', data, '-q']);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => t.cleanup());

describe('export --out names the format by its extension when --format is not given', () => {
  it('.csv is CSV, .json a JSON array, .ndjson JSON lines, .parquet Parquet; --format still wins; another extension takes [Export] Format', async () => {
    const out = (name: string) => path.join(t.dir, name);
    for (const [name, check] of [
      ['lib.csv', (s: string) => expect(s.split('\n')[0]).toMatch(/^id,/)],
      ['lib.json', (s: string) => expect(JSON.parse(s)).toHaveLength(1)],
      ['lib.ndjson', (s: string) => expect(JSON.parse(s.trim()).id).toMatch(/^[0-9a-f]+$/)],
      ['lib.parquet', (s: string) => expect(s.slice(0, 4)).toBe('PAR1')],
      ['lib.txt', (s: string) => expect(JSON.parse(s.trim()).id).toMatch(/^[0-9a-f]+$/)],
    ] as const) {
      const r = await runCli(['export', '-o', out(name), '--data-dir', data]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      check(readFileSync(out(name), 'latin1'));
    }
    // an explicit format wins over the name
    const r = await runCli(['export', '--format', 'jsonl', '-o', out('forced.csv'), '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out('forced.csv'), 'utf8').trim()).id).toMatch(/^[0-9a-f]+$/);
    // and a configured one still serves names that say nothing
    const ini = out('config.ini');
    writeFileSync(ini, `[Paths]\nDataDir = ${data}\n[Export]\nFormat = csv\n`);
    const c = await runCli(['export', '--config', ini, '-o', out('configured.out')]);
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(out('configured.out'), 'utf8').split('\n')[0]).toMatch(/^id,/);
  });
});
