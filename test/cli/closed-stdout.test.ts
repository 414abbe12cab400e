import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { cliArgv, repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const t = tempDir();
const data = path.join(t.dir, 'data');

beforeAll(async () => {
  const store = new SqliteStore(path.join(data, 'videodex.db'));
  await store.migrate();
  // far more than a pipe's 64 KiB buffer, so the export is still writing when its reader goes
  await store.upsertMany!(Array.from({ length: 2000 }, (_, i) => makeRecord({ id: `c${String(i).padStart(15, '0')}`, tags: [{ name: `tag-${i % 50}`, source: 'rule' }] })));
  await store.close();
});
afterAll(() => t.cleanup());

/** Runs the CLI, reads the first chunk of its stdout, then closes the pipe as `| head -c` does. */
function runAndCloseEarly(args: string[], settings: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; firstChunk: string }> {
  return new Promise((resolve, reject) => {
    // as runCli does: the developer's own settings stay out
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIDEODEX_'))), ...settings };
    const child = spawn(process.execPath, cliArgv(args), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr = '';
    let firstChunk = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', (d: Buffer) => {
      firstChunk = d.toString('utf8');
      child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, firstChunk }));
  });
}

describe('stdout closed by its reader (videodex export | head)', () => {
  it.each([['jsonl'], ['csv'], ['json']])('export --format %s stops quietly with exit code 0', async (format) => {
    const r = await runAndCloseEarly(['export', '--format', format, '--data-dir', data]);
    expect(r.firstChunk.length).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('stdout closed under a plugin exporter (videodex export --format <plugin> | head)', () => {
  it('stops quietly with exit code 0 (it was "plugin x: exporter x: write EPIPE", exit 4)', async () => {
    const plugin = path.join(t.dir, 'lines.mjs');
    writeFileSync(
      plugin,
      `import { once } from 'node:events';
export default { name: 'lines', version: '1.0.0', exporters: [{ name: 'lines', async write(records, out) {
  let n = 0;
  for await (const v of records) { if (!out.write(JSON.stringify(v) + '\\n')) await once(out, 'drain'); n++; }
  return n;
} }] };
`,
    );
    const r = await runAndCloseEarly(['export', '--format', 'lines', '--data-dir', data], { VIDEODEX_PLUGINS_MODULES: plugin });
    expect(r.firstChunk.length).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('stdout that cannot be written (videodex export > file on a full disk)', () => {
  /** Runs the CLI with stdout on /dev/full, which answers every write with ENOSPC as a full disk does. */
  function runToFullDisk(args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIDEODEX_')));
      const full = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, cliArgv(args), { cwd: repoRoot, stdio: ['ignore', full, 'pipe'], env });
      closeSync(full);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it.skipIf(!existsSync('/dev/full')).each([['jsonl'], ['csv']])('export --format %s says so in one line and exits 4 (it was a stack trace and exit 1)', async (format) => {
    const r = await runToFullDisk(['export', '--format', format, '--data-dir', data]);
    expect(r.stderr).toBe('videodex: cannot write the output: ENOSPC: no space left on device, write; what was written is incomplete\n');
    expect(r.code).toBe(4);
  });
});
