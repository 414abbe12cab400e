import { appendFileSync, existsSync, readFileSync, utimesSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { startServe } from '../helpers/serve.js';

const t = tempDir();
const data = path.join(t.dir, 'data');
let id = '';
let file = '';

beforeAll(async () => {
  file = path.join(t.dir, 'long-download.mp4');
  await makeTestVideo(file, { seconds: 1 });
  // 64 MB of trailing zeros (a box that runs to the end of the file, which players skip): more than the socket
  // buffers of a client that reads nothing can take, so the server is still sending when it is told to stop
  appendFileSync(file, Buffer.alloc(64 << 20));
  const r = await runCli(['process', file, '--json', '--data-dir', data]);
  id = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.type === 'result' && x.videoId)?.videoId;
});
afterAll(() => t.cleanup());

describe('videodex serve: stopping', () => {
  it('stops on SIGTERM while a browser still holds a video download open (it waited for the download to end)', async () => {
    expect(id).toMatch(/^[0-9a-f]+$/);
    const { base, stop, exited } = await startServe(data);
    const { port } = new URL(base);
    const socket = net.connect(Number(port), '127.0.0.1');
    let head = '';
    const started = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        head += d.toString('latin1', 0, 64);
        // the headers are in: stop reading, as a paused player does
        socket.pause();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.write(`GET /api/videos/${id}/file HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await started;
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    stop();
    // generous for a slow machine; before, it never exited while the client held on
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 45_000))]);
    socket.destroy();
    expect(code).toBe(0);
  }, 120_000);
});

/** Bytes a process and its children (the relaunched CLI) have read, by /proc: Linux only. */
function bytesRead(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const own = Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
  return own + children.reduce((sum, c) => sum + bytesRead(c), 0);
}

describe.skipIf(!existsSync('/proc/self/io'))('videodex serve: checking a large video', () => {
  it('reads a changed file once to check it, however many requests ask for it at once (each one hashed all of it)', async () => {
    const { base, stop, exited, pid } = await startServe(data);
    try {
      // a new time: no longer the file the run saw, so its bytes are hashed against the record's
      utimesSync(file, new Date(), new Date(Date.now() - 60_000));
      const before = bytesRead(pid);
      const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${base}/api/videos/${id}/file`, { method: 'HEAD' }).then((r) => r.status)));
      expect(answers).toEqual(Array(6).fill(200));
      const read = bytesRead(pid) - before;
      const size = 64 << 20;
      expect(read).toBeGreaterThan(size);
      expect(read, `${(read / size).toFixed(1)} times the file`).toBeLessThan(2 * size);
    } finally {
      stop();
      await exited;
    }
  }, 120_000);
});
