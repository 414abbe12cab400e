import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const redisUrl = process.env.VIDEODEX_TEST_REDIS_URL;
const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const t = tempDir();
beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'a.mp4'), { seconds: 1 });
});
afterAll(() => t.cleanup());

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning: () => boolean;
}

/**
 * `videodex <args>` as a terminal starts it: through the launcher (a second Node), in a process group of its own
 * that the test signals as a closing terminal does (SIGHUP to every process of the group).
 */
function startInGroup(args: string[]): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', VIDEODEX_QUEUE_REDISURL: '' };
  delete env.VIDEODEX_NODE_RELAUNCHED;
  const child = spawn(process.execPath, ['--import', loader, path.join(repoRoot, 'src/cli/main.ts'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let text = '';
  let running = true;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  return { child, stderr: () => text, exited, isRunning: () => running };
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await delay(100)) if (await cond()) return true;
  return cond();
}

/** A terminal closing: SIGHUP to the group, then nobody reads what the command writes any more. */
async function hangUp(s: Started): Promise<void> {
  process.kill(-s.child.pid!, 'SIGHUP');
  // the command's own line about it, or its end (what it did before the fix)
  await waitFor(() => /SIGHUP \(the terminal closed\): going on/.test(s.stderr()) || !s.isRunning(), 10_000);
  s.child.stderr!.destroy();
}

describe('a long-running command whose terminal closes (SIGHUP)', () => {
  it.skipIf(!redisUrl)('a worker goes on: it takes jobs queued after the hang-up, writing into a closed stderr, and stops cleanly on SIGTERM', async () => {
    const data = path.join(t.dir, 'data-worker');
    const q = ['--redis', redisUrl!, '--queue', `videodex-hangup-${process.pid}-${Date.now()}`, '--data-dir', data];
    const worker = startInGroup(['worker', ...q]);
    try {
      expect(await waitFor(() => /worker on /.test(worker.stderr()) || !worker.isRunning(), 60_000)).toBe(true);
      await hangUp(worker);
      expect(worker.isRunning()).toBe(true);
      await runCli(['enqueue', path.join(t.dir, 'a.mp4'), ...q], { env: { ...process.env, VIDEODEX_QUEUE_REDISURL: '' } });
      const indexed = async () => JSON.parse((await runCli(['search', '--json', '--data-dir', data])).stdout || '{}').total === 1;
      expect(await waitFor(async () => !worker.isRunning() || (await indexed()), 90_000)).toBe(true);
      expect(worker.isRunning()).toBe(true);
      expect(await indexed()).toBe(true);
      expect(readFileSync(path.join(data, 'videodex.log'), 'utf8')).toMatch(/worker: SIGHUP \(the terminal closed\): going on/);
      process.kill(worker.child.pid!, 'SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (worker.isRunning()) process.kill(-worker.child.pid!, 'SIGKILL');
    }
  }, 180_000);

  it('serve goes on answering, and stops cleanly on SIGTERM', async () => {
    const data = path.join(t.dir, 'data-serve');
    expect((await runCli(['process', path.join(t.dir, 'a.mp4'), '-q', '--data-dir', data])).code).toBe(0);
    const serve = startInGroup(['serve', '--port', '0', '--data-dir', data]);
    try {
      expect(await waitFor(() => /serving \S+ library on http:\/\/\S+\//.test(serve.stderr()) || !serve.isRunning(), 60_000)).toBe(true);
      const base = /serving \S+ library on (http:\/\/\S+?)\/\s/.exec(serve.stderr())![1]!;
      await hangUp(serve);
      expect(serve.isRunning()).toBe(true);
      const res = await fetch(`${base}/api/search?q=`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { total: number }).total).toBe(1);
      process.kill(serve.child.pid!, 'SIGTERM');
      expect(await serve.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (serve.isRunning()) process.kill(-serve.child.pid!, 'SIGKILL');
    }
  }, 120_000);

  // A real terminal that goes away: python3's pty (python3 comes with yt-dlp, which the tests install) runs
  // `videodex serve` on a pseudo-terminal and closes it. Node 20 then aborted on exit (SIGABRT, status 134) trying
  // to restore the settings of the terminal that was gone.
  const python = spawnSync('python3', ['--version']).status === 0;
  it.skipIf(!python)('on a pseudo-terminal that closes, serve goes on and later stops with status 0, not an abort', async () => {
    const data = path.join(t.dir, 'data-pty');
    expect((await runCli(['process', path.join(t.dir, 'a.mp4'), '-q', '--data-dir', data])).code).toBe(0);
    const wrapper = [
      'import os, pty, re, sys',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      '    os.execvp(sys.argv[1], sys.argv[1:])',
      'buf = b""',
      'while not re.search(rb"serving \\S+ library on (http://\\S+?)/\\s", buf):',
      '    buf += os.read(fd, 4096)',
      'url = re.search(rb"serving \\S+ library on (http://\\S+?)/\\s", buf).group(1).decode()',
      'os.close(fd)',
      'print("READY", pid, url, flush=True)',
      '_, status = os.waitpid(pid, 0)',
      'print("EXIT", os.waitstatus_to_exitcode(status), flush=True)',
    ].join('\n');
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    delete env.VIDEODEX_NODE_RELAUNCHED;
    const py = spawn('python3', ['-c', wrapper, process.execPath, '--import', loader, path.join(repoRoot, 'src/cli/main.ts'), 'serve', '--port', '0', '--data-dir', data], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    py.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const ended = new Promise<void>((resolve) => py.on('exit', () => resolve()));
    try {
      expect(await waitFor(() => /READY \d+ \S+\n/.test(out) || py.exitCode !== null, 60_000)).toBe(true);
      const [, pid, base] = /READY (\d+) (\S+)\n/.exec(out)!;
      // the terminal is gone: what the server still answers
      const res = await fetch(`${base}/api/health`);
      expect(res.status).toBe(200);
      process.kill(Number(pid), 'SIGTERM');
      await ended;
      expect(out).toMatch(/EXIT 0\n/);
    } finally {
      if (py.exitCode === null) py.kill('SIGKILL');
    }
  }, 120_000);
});
