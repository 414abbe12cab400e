import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { semiSpaceMb } from '../../src/cli/node-flags.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir();
afterAll(() => t.cleanup());

const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;

/** A stand-in CLI: relaunches for the command `batchy`, then says what it runs with and exits 7 (or hangs). */
const script = path.join(t.dir, 'cli.mts');
writeFileSync(
  script,
  `import { relaunchWithNodeFlags, semiSpaceMb } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'src/cli/node-flags.ts')).href)};
await relaunchWithNodeFlags(process.argv, new Set(['batchy']));
if (process.argv.includes('graceful')) {
  // (listening before it says it runs) stops a second after its first SIGINT, as process does; a second SIGINT would show
  let n = 0;
  process.on('SIGINT', () => {
    process.stdout.write('sigint ' + ++n + '\\n');
    setTimeout(() => process.exit(130), 1000);
  });
}
process.stdout.write('semi=' + semiSpaceMb() + ' relaunched=' + (process.env.VIDEODEX_NODE_RELAUNCHED ?? '') + ' pid=' + process.pid + '\\n');
if (process.argv.includes('hang') || process.argv.includes('graceful')) setInterval(() => {}, 1000); else process.exitCode = 7;
`,
);

function run(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void, options: { detached?: boolean } = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.VIDEODEX_NODE_RELAUNCHED;
  // detached: a process group of its own, as a shell gives a job, that the test can signal as a terminal does
  const child = spawn(process.execPath, ['--import', loader, script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: Boolean(options.detached) });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    onLine?.(d, child);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // 'exit' for the signal test: an orphaned child would keep the pipes, and 'close', from ever ending
  return new Promise((resolve) => child.on(onLine ? 'exit' : 'close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Whether the process `pid` has ended within `ms`. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + ms; alive() && Date.now() < deadline; ) await new Promise((res) => setTimeout(res, 50));
  return !alive();
}

describe('the videodex launcher', () => {
  it('has a shebang every system runs (BusyBox env has no -S)', () => {
    expect(readFileSync(path.join(repoRoot, 'src/cli/main.ts'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(readFileSync(path.join(repoRoot, 'dist/cli/main.js'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs a batch command in a child Node with the 64 MB young generation, and ends with its exit code', async () => {
    const r = await run(['batchy']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^semi=64 relaunched=1 pid=\d+\n$/);
    expect(r.stdout).not.toContain(`pid=${process.pid}`);
    expect(r.code).toBe(7);
  });

  it('runs any other command in place, as does a batch command started with the flag already', async () => {
    const other = await run(['search']);
    expect(other.stdout).toMatch(/^semi=null relaunched= /);
    expect(other.code).toBe(7);
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '--max-semi-space-size=32' };
    delete env.VIDEODEX_NODE_RELAUNCHED;
    const child = spawn(process.execPath, ['--import', loader, script, 'batchy'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((resolve) => child.on('close', resolve));
    expect(out).toMatch(/^semi=32 relaunched= /);
  });

  it('passes SIGTERM to the child and ends by the same signal', async () => {
    const r = await run(['batchy', 'hang'], (line, child) => {
      if (line.includes('semi=')) child.kill('SIGTERM');
    });
    expect(r.stdout).toContain('semi=64');
    expect(r.signal).toBe('SIGTERM');
    // and the child is gone, not left running on its own
    expect(await goneWithin(Number(/pid=(\d+)/.exec(r.stdout)![1]), 10_000)).toBe(true);
  });

  it('passes a SIGINT sent to the launcher alone to the child, once', async () => {
    const r = await run(['batchy', 'graceful'], (line, child) => {
      if (line.includes('semi=')) child.kill('SIGINT');
    });
    expect(r.stdout).toMatch(/semi=64 relaunched=1 pid=\d+\nsigint 1\n$/);
    expect(r.code).toBe(130);
  });

  it('a second SIGINT sent to the launcher soon after the first reaches the child too (quit now)', async () => {
    const r = await run(['batchy', 'graceful'], (line, child) => {
      if (!line.includes('semi=')) return;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGINT'), 250);
    });
    expect(r.stdout).toMatch(/sigint 1\nsigint 2\n$/);
  });

  it('a SIGINT to the whole process group (Ctrl-C in a terminal) reaches the child once, not twice', async () => {
    const group = (line: string, child: ReturnType<typeof spawn>) => {
      if (line.includes('semi=')) process.kill(-child.pid!, 'SIGINT');
    };
    const graceful = await run(['batchy', 'graceful'], group, { detached: true });
    expect(graceful.stdout).toMatch(/semi=64 relaunched=1 pid=\d+\nsigint 1\n$/);
    expect(graceful.code).toBe(130);
    // a command with no SIGINT handler of its own stops at once, as Node does by default
    const plain = await run(['batchy', 'hang'], group, { detached: true });
    expect(plain.signal).toBe('SIGINT');
    expect(await goneWithin(Number(/pid=(\d+)/.exec(plain.stdout)![1]), 10_000)).toBe(true);
  });

  it('stops the child when the launcher is killed outright (SIGKILL cannot be passed on)', async () => {
    const r = await run(['batchy', 'hang'], (line, child) => {
      if (line.includes('semi=')) child.kill('SIGKILL');
    });
    expect(r.signal).toBe('SIGKILL');
    expect(await goneWithin(Number(/pid=(\d+)/.exec(r.stdout)![1]), 10_000)).toBe(true);
  });

  it('the built command starts a batch command through the relaunch (as a program, via its shebang)', async () => {
    const built = path.join(repoRoot, 'dist/cli/main.js');
    // what npm does to a bin when it links or installs it
    chmodSync(built, statSync(built).mode | 0o111);
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    for (const k of Object.keys(env)) if (k.startsWith('VIDEODEX_')) delete env[k];
    const child = spawn(built, ['retag', '--help'], { cwd: t.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('retag');
  });

  it('reads the semi-space from the flags or NODE_OPTIONS, the command line winning', () => {
    expect(semiSpaceMb([], '')).toBeNull();
    expect(semiSpaceMb(['--max-semi-space-size=64'], '')).toBe(64);
    expect(semiSpaceMb([], '--inspect --max_semi_space_size=32')).toBe(32);
    expect(semiSpaceMb(['--max-semi-space-size=64'], '--max-semi-space-size=16')).toBe(64);
    expect(semiSpaceMb(['--max-old-space-size=4096'], '')).toBeNull();
  });
});
