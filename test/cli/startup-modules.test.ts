import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliArgv, repoRoot } from '../helpers/cli.js';

/**
 * What the CLI loads before it does anything. The model SDK, the HTTP client, the server, the Parquet writer and
 * the file-type sniffer are loaded by the commands that use them, when they use them: at start-up they were about
 * 300 modules, a third of a second of every command's start (more on a slow machine), `--version` included.
 */

/** A loader hook that prints each module URL Node loads (its own thread; stderr is shared). */
const RECORDER = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
   register('data:text/javascript,' + encodeURIComponent('export async function load(url, context, next) { process.stderr.write("loaded " + url + "\\\\n"); return next(url, context); }'));`,
)}`;

function loadedBy(args: string[]): Promise<{ code: number | null; loaded: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RECORDER, ...cliArgv(args)], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, loaded: stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice(7)) }));
  });
}

const packageOf = (url: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? null;
const LAZY = ['openai', 'undici', 'hono', '@hono/node-server', 'hyparquet', 'hyparquet-writer', 'file-type', 'strtok3'];

describe('CLI start-up', () => {
  it('loads neither the model SDK, nor the HTTP client, the server, the Parquet writer or the file sniffer for --version and --help', async () => {
    for (const args of [['--version'], ['search', '--help']]) {
      const { code, loaded } = await loadedBy(args);
      expect(code, args.join(' ')).toBe(0);
      // the recorder works: the CLI's own modules and its argument parser were seen
      expect(loaded.some((u) => u.endsWith('/src/cli/program.ts')), args.join(' ')).toBe(true);
      expect(loaded.map(packageOf), args.join(' ')).toContain('commander');
      const eager = [...new Set(loaded.map(packageOf).filter((p): p is string => p !== null && LAZY.includes(p)))];
      expect(eager, args.join(' ')).toEqual([]);
    }
  });
});
