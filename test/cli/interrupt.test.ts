import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv, repoRoot } from '../helpers/cli.js';
import { startTestServer } from '../helpers/http-server.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const t = tempDir('videodex-interrupt-');
let server: Awaited<ReturnType<typeof startTestServer>>;
let requested: () => void = () => undefined;
const stalledAsked = new Promise<void>((r) => (requested = r));

beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'local.mp4'), { seconds: 1, width: 160, height: 120 });
  server = await startTestServer({
    // a download that never ends: the run is in the middle of it when Ctrl-C comes
    '/stalled.mp4': (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '10000000' });
      res.write(Buffer.alloc(1000));
      requested();
    },
  });
});
afterAll(async () => {
  await server?.close();
  t.cleanup();
});

describe('Ctrl-C during process', () => {
  it('cuts the work in flight short, keeps what was done, says so, and exits 130', async () => {
    const data = path.join(t.dir, 'data');
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VIDEODEX_')) delete env[k];
    const child = spawn(process.execPath, cliArgv(['process', path.join(t.dir, 'local.mp4'), `${server.base}/stalled.mp4`, '--data-dir', data, '--json', '-q']), {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await stalledAsked;
    // and the local file done
    for (const started = Date.now(); !/local\.mp4","videoId":"[0-9a-f]+","status":"done"/.test(stdout); ) {
      if (Date.now() - started > 60_000) throw new Error(`the local file never finished: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // as a terminal does: to the whole process group
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    // the stalled download in flight is cut short, not waited for: the notice said "stopping after the stages in flight"
    expect(stderr).toContain('videodex: stopping: the stages in flight are cut short and run again next time (Ctrl-C again to quit now)');
    expect(stderr).toContain('videodex: stopped by Ctrl-C before every input was done; run the same command again to go on');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ type: 'summary', stopped: true });
    // the local file finished before the stop, and stays done
    const results = lines.filter((l) => l.type === 'result');
    expect(results.find((r) => r.input.endsWith('local.mp4'))).toMatchObject({ status: 'done' });
    expect(results.find((r) => r.input.endsWith('stalled.mp4'))).toMatchObject({ status: 'aborted' });
  });
});
