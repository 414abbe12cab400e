import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI_NODE_FLAGS } from '../../src/cli/node-flags.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const entry = path.join(root, 'src/cli/main.ts');
// Absolute, so the CLI can run from any working folder (tests of ./config.ini discovery).
const tsxLoader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Node's arguments that run the CLI from source with `args`, with the launcher's node flags as `videodex` runs. */
export function cliArgv(args: readonly string[]): string[] {
  return [...CLI_NODE_FLAGS, '--import', tsxLoader, entry, ...args];
}

/** Runs the real CLI (from source, through tsx) as a separate process, as a user would. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...(options.env ?? process.env) };
    // A test must not pick up the developer's own settings.
    for (const k of Object.keys(env)) if (k.startsWith('VIDEODEX_') && !(options.env && k in options.env)) delete env[k];
    const child = spawn(process.execPath, cliArgv(args), {
      cwd: options.cwd ?? root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export const repoRoot = root;

/** Runs the CLI in this process (faster than runCli; for tests that need no separate process), capturing output. */
export async function runCliInProcess(...args: string[]): Promise<CliResult> {
  const { vi } = await import('vitest');
  const { main } = await import('../../src/cli/program.js');
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  const before = process.exitCode;
  try {
    const code = await main(['node', 'videodex', ...args]);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = before;
  }
}

/** A flag or config mistake as the CLI reports it: exit 3, nothing on stdout, this one line on stderr. */
export async function expectConfigError(r: CliResult, line: string): Promise<void> {
  const { expect } = await import('vitest');
  expect(r.code, r.stderr).toBe(3);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`videodex: ${line}\n`);
}
