import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir('videodex-nolib-');
afterAll(() => t.cleanup());

describe('a command over a library that is not there', () => {
  // A typo in --data-dir used to make a new empty library and answer "no matches" (exit 0).
  const commands: string[][] = [
    ['search', 'beach'],
    ['show', '0123456789abcdef'],
    ['export', '--format', 'jsonl'],
    ['tags'],
    ['categories'],
    ['review'],
    ['retag'],
    ['remove', '--all'],
    ['sources', 'status'],
    ['dataset', 'build', '-o', path.join(t.dir, 'ds')],
    ['serve', '--port', '0'],
  ];
  it.each(commands)('%s says so and makes nothing', async (...args) => {
    const dir = path.join(t.dir, `typo-${args[0]}`);
    const r = await runCliInProcess(...args, '--data-dir', dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`no library at ${path.join(dir, 'videodex.db')}: process some videos first`);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(dir, 'videodex.db'))).toBe(false);
    // nor the folder: the log file is opened on its first line, and nothing was logged
    expect(existsSync(dir)).toBe(false);
  });

  it('dataset stats on a folder with no dataset says so with exit 1, as show does for an unknown id', async () => {
    const dir = path.join(t.dir, 'no-dataset');
    const r = await runCliInProcess('dataset', 'stats', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`videodex: ${dir}: no dataset.json (not a videodex dataset, or its build never finished)\n`);
  });

  it('process --retry-failed with no inputs reads what failed from the library: none there is the same mistake', async () => {
    // it made an empty library and said "0 inputs" (exit 0)
    const dir = path.join(t.dir, 'typo-retry');
    const r = await runCliInProcess('process', '--retry-failed', '--data-dir', dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`no library at ${path.join(dir, 'videodex.db')}: process some videos first`);
    expect(existsSync(path.join(dir, 'videodex.db'))).toBe(false);
  });

  it('process whose every input is a problem (a mistyped list, an empty argument) reports them and makes no library', async () => {
    for (const [name, args] of [['missing-list', ['-i', path.join(t.dir, 'no-such-list.txt')]], ['empty-arg', ['']]] as const) {
      const dir = path.join(t.dir, `all-problems-${name}`);
      const r = await runCliInProcess('process', ...args, '--data-dir', dir);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/1 input problem\(s\)/);
      expect(existsSync(path.join(dir, 'videodex.db')), name).toBe(false);
      expect(existsSync(path.join(dir, 'tagging-setups.json')), name).toBe(false);
    }
  });

  it('process with a file where the data folder goes says so in one line (exit 3), not a raw EEXIST (exit 4)', async () => {
    const file = path.join(t.dir, 'a-file');
    writeFileSync(file, 'not a folder\n');
    const r = await runCliInProcess('process', file, '--data-dir', file);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe(`videodex: cannot make the data folder ${file} ([Paths] DataDir, --data-dir): a file is in the way (it, or a folder above it, is not a folder)\n`);
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
  });

  it('--db naming a missing file is the same mistake', async () => {
    const file = path.join(t.dir, 'nodb.db');
    const r = await runCliInProcess('search', '--db', file);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no library at ${file}`);
    expect(existsSync(file)).toBe(false);
  });
});
