import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv, repoRoot, runCli } from '../helpers/cli.js';
import { FakeVlmServer } from '../helpers/fake-vlm-server.js';
import { startTestServer } from '../helpers/http-server.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

/**
 * A crash (SIGKILL of the whole process group, as a power cut or the OOM killer) in the middle of `process`: the
 * same command run again repeats nothing that was done, resumes the interrupted download where its bytes end,
 * and leaves a sound database.
 */
const t = tempDir('videodex-crash-');
let server: Awaited<ReturnType<typeof startTestServer>>;
let model: FakeVlmServer;
let remote: Buffer;
let crashed = false;
let halfSent: () => void = () => undefined;
const halfWasSent = new Promise<void>((r) => (halfSent = r));

beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'a.mp4'), { seconds: 1, width: 160, height: 120 });
  await makeTestVideo(path.join(t.dir, 'b.mp4'), { seconds: 1, width: 160, height: 120, source: 'testsrc' });
  // noise, so the file passes the 1 MiB under which a download keeps no resume state
  remote = readFileSync(await makeTestVideo(path.join(t.dir, 'remote-source.mp4'), { seconds: 2, width: 320, height: 240, source: 'smptebars', extra: ['-vf', 'noise=alls=60:allf=t'] }));
  expect(remote.length).toBeGreaterThan(1024 * 1024);
  const half = Math.floor(remote.length * 0.6);
  const headers = { 'content-type': 'video/mp4', etag: '"remote-v1"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT', 'accept-ranges': 'bytes' };
  server = await startTestServer({
    '/remote.mp4': (req, res) => {
      if (!crashed) {
        // the first run: 60% of the bytes, then nothing more, so the download is in flight when the crash comes
        res.writeHead(200, { ...headers, 'content-length': String(remote.length) });
        res.write(remote.subarray(0, half), () => halfSent());
        return;
      }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m && req.headers['if-range'] === headers.etag) {
        const from = Number(m[1]);
        res.writeHead(206, { ...headers, 'content-length': String(remote.length - from), 'content-range': `bytes ${from}-${remote.length - 1}/${remote.length}` });
        res.end(remote.subarray(from));
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': String(remote.length) });
      res.end(remote);
    },
  });
  model = await new FakeVlmServer({
    defaultReply: () => ({ kind: 'text', text: JSON.stringify({ description: 'A test pattern on a screen.', tags: ['pattern'], category: 'test', actions: [] }) }),
  }).start();
});
afterAll(async () => {
  await server?.close();
  await model?.stop();
  t.cleanup();
});

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const until = async (what: string, ok: () => boolean, output: () => string) => {
  for (const started = Date.now(); !ok(); ) {
    if (Date.now() - started > 120_000) throw new Error(`${what} never happened: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('a crash in the middle of process', () => {
  it('the same command again repeats nothing done, resumes the download from its bytes, and the database is sound', async () => {
    const data = path.join(t.dir, 'data');
    const args = ['process', path.join(t.dir, 'a.mp4'), path.join(t.dir, 'b.mp4'), `${server.base}/remote.mp4`, '--data-dir', data, '--json', '-q', '--endpoint', `${model.url}/v1`];
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VIDEODEX_')) delete env[k];
    const child = spawn(process.execPath, cliArgv(args), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, signal) => r(signal)));
    const done = (name: string) => new RegExp(`${name}","videoId":"[0-9a-f]+","status":"done"`).test(stdout);
    await halfWasSent;
    await until('a.mp4 and b.mp4 done', () => done('a\\.mp4') && done('b\\.mp4'), () => stderr);
    // the bytes received are on disk in the download's .part file
    const partOnDisk = () => files(data).some((f) => f.endsWith('.part') && statSync(f).size >= remote.length * 0.6 - 1);
    await until('the .part file holding the bytes sent', partOnDisk, () => files(data).join('\n'));
    const callsBefore = model.requests.length;
    expect(callsBefore).toBeGreaterThan(0);

    crashed = true;
    process.kill(-child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const again = await runCli(args, { env });
    expect(again.code, again.stderr).toBe(0);
    const results = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; input: string; status: string });
    const status = (name: string) => results.find((r) => r.type === 'result' && r.input.endsWith(name))?.status;
    expect(status('a.mp4')).toBe('unchanged');
    expect(status('b.mp4')).toBe('unchanged');
    expect(status('remote.mp4')).toBe('done');
    // the model was asked about the remote video only: one video's worth of calls, not three
    const calls = model.requests.slice(callsBefore);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThanOrEqual(callsBefore / 2);
    // the download went on from the bytes on disk, checked against the same version of the file
    const second = server.hitsOf('/remote.mp4')[1]!;
    expect(second.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(second.range!)![0])).toBeGreaterThanOrEqual(Math.floor(remote.length * 0.6) - 1);
    expect(second.ifRange).toBe('"remote-v1"');
    expect(server.hitsOf('/remote.mp4')).toHaveLength(2);

    const db = new Database(path.join(data, 'videodex.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM videos').pluck().get()).toBe(3);
      const remoteDoc = JSON.parse(db.prepare("SELECT doc FROM video_docs WHERE doc LIKE '%remote.mp4%'").pluck().get() as string) as { file: { bytes: number }; ai?: unknown };
      expect(remoteDoc.file.bytes).toBe(remote.length);
      expect(remoteDoc.ai).toBeDefined();
    } finally {
      db.close();
    }
    // no download debris left
    expect(files(data).filter((f) => /\.part(\.json)?$/.test(f))).toEqual([]);
  });
});
