import { createHash } from 'node:crypto';
import { appendFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFileHash } from '../../src/sources/file-hasher.js';
import { tempDir } from '../helpers/media.js';

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir('videodex-hasher-');
});
afterEach(() => tmp.cleanup());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Bytes that differ everywhere, so a skipped or repeated range changes the digest. */
const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + (i >> 9)) & 255));

describe('startFileHash (hashing thread)', () => {
  it('hashes a file as it grows, in uneven steps, to the same digest as hashing it whole', async () => {
    const file = path.join(tmp.dir, 'grow.part');
    const all = bytes(5 * 1024 * 1024 + 4321);
    writeFileSync(file, '');
    const job = startFileHash(file);
    let at = 0;
    for (const step of [1, 1 << 20, 3000, 2 << 20, 777777]) {
      appendFileSync(file, all.subarray(at, at + step));
      at += step;
      job.advance(at);
    }
    appendFileSync(file, all.subarray(at));
    expect(await job.digest(all.length)).toBe(sha(all));
  });

  it('includes bytes that were in the file before the job started (a resumed download)', async () => {
    const file = path.join(tmp.dir, 'resume.part');
    const all = bytes(3 * 1024 * 1024, 2);
    writeFileSync(file, all.subarray(0, 1234567));
    const job = startFileHash(file);
    appendFileSync(file, all.subarray(1234567));
    expect(await job.digest(all.length)).toBe(sha(all));
  });

  it('runs many jobs at once without mixing them up', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ file: path.join(tmp.dir, `${i}.part`), body: bytes(300_000 + i * 99_991, i + 3) }));
    const digests = await Promise.all(
      files.map(({ file, body }) => {
        writeFileSync(file, body);
        const job = startFileHash(file);
        job.advance(body.length);
        return job.digest(body.length);
      }),
    );
    expect(digests).toEqual(files.map((f) => sha(f.body)));
  });

  it('rejects with a clear error when the file is shorter than claimed, or gone', async () => {
    const file = path.join(tmp.dir, 'short.part');
    writeFileSync(file, bytes(2 * 1024 * 1024));
    const job = startFileHash(file);
    truncateSync(file, 1000);
    await expect(job.digest(2 * 1024 * 1024)).rejects.toThrow(/hashing the download failed: the file ended at byte 1000/);

    const gone = path.join(tmp.dir, 'gone.part');
    writeFileSync(gone, 'x');
    rmSync(gone);
    await expect(startFileHash(gone).digest(1)).rejects.toThrow(/hashing the download failed: ENOENT/);
  });

  it('a cancelled job asks nothing more, and the thread goes on serving the next one', async () => {
    const file = path.join(tmp.dir, 'c.part');
    const body = bytes(4 * 1024 * 1024, 9);
    writeFileSync(file, body);
    const cancelled = startFileHash(file);
    cancelled.advance(body.length);
    cancelled.cancel();
    await expect(cancelled.digest(body.length)).rejects.toThrow(/already finished/);
    const next = startFileHash(file);
    expect(await next.digest(body.length)).toBe(sha(body));
  });

  it('an empty file has the digest of nothing', async () => {
    const file = path.join(tmp.dir, 'empty.part');
    writeFileSync(file, '');
    expect(await startFileHash(file).digest(0)).toBe(sha(Buffer.alloc(0)));
  });
});
