import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartWriter } from '../../src/sources/part-writer.js';
import { tempDir } from '../helpers/media.js';

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir('videodex-part-');
});
afterEach(() => tmp.cleanup());

/** Chunks of uneven sizes with distinct bytes, so a misplaced or lost chunk shows. */
function chunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(97 + ((i * 131) % 700), i % 251));
}

async function writeAll(w: PartWriter, parts: Buffer[]): Promise<void> {
  for (const c of parts) {
    const wait = w.write(c);
    if (wait) await wait;
  }
}

const small = { batchBytes: 1000, maxPendingBytes: 4000, flushEveryBytes: 3000 };

describe('PartWriter', () => {
  it('writes every chunk in order, flushing in the background only when durable', async () => {
    const parts = chunks(300);
    for (const durable of [true, false]) {
      const file = path.join(tmp.dir, `out-${durable}`);
      const w = await PartWriter.open(file, 0, { durable, ...small });
      await writeAll(w, parts);
      await w.finish();
      expect(readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
      if (durable) expect(w.flushes).toBeGreaterThan(0);
      else expect(w.flushes).toBe(0);
    }
  });

  it('asks the caller to wait when too much is queued, and goes on once the disk caught up', async () => {
    const file = path.join(tmp.dir, 'out');
    const w = await PartWriter.open(file, 0, { durable: false, ...small });
    let waited = 0;
    for (const c of chunks(100)) {
      const wait = w.write(c);
      if (wait) {
        waited++;
        await wait;
      }
    }
    await w.finish();
    expect(waited).toBeGreaterThan(0);
    expect(readFileSync(file).length).toBe(Buffer.concat(chunks(100)).length);
  });

  it('writes a batch smaller than batchBytes once data stops coming (a stalled server), without finish', async () => {
    const file = path.join(tmp.dir, 'stalled');
    const w = await PartWriter.open(file, 0, { durable: true, ...small, lingerMs: 20 });
    const parts = chunks(3); // under batchBytes: no batch write would start on its own
    await writeAll(w, parts);
    const deadline = Date.now() + 10_000;
    while (readFileSync(file).length < Buffer.concat(parts).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
    await writeAll(w, chunks(2));
    await w.finish();
    expect(readFileSync(file).equals(Buffer.concat([...parts, ...chunks(2)]))).toBe(true);
  });

  it('resumes after the bytes already in the file, keeping them', async () => {
    const file = path.join(tmp.dir, 'out');
    writeFileSync(file, 'prefix-');
    const w = await PartWriter.open(file, 7, { durable: true, ...small });
    await writeAll(w, [Buffer.from('rest')]);
    await w.finish();
    expect(readFileSync(file, 'utf8')).toBe('prefix-rest');
  });

  it('close(true) writes what is queued (an interrupted download keeps its bytes); close() drops it', async () => {
    const kept = path.join(tmp.dir, 'kept');
    const w1 = await PartWriter.open(kept, 0, { durable: true, batchBytes: 1 << 20 });
    w1.write(Buffer.from('received'));
    await w1.close(true);
    expect(readFileSync(kept, 'utf8')).toBe('received');
    const dropped = path.join(tmp.dir, 'dropped');
    const w2 = await PartWriter.open(dropped, 0, { durable: true, batchBytes: 1 << 20 });
    w2.write(Buffer.from('junk'));
    await w2.close();
    expect(readFileSync(dropped, 'utf8')).toBe('');
    expect(() => w2.write(Buffer.from('x'))).toThrow(/after close/);
  });

  it('creates a missing folder for a new file, but not for a resumed one', async () => {
    const file = path.join(tmp.dir, 'gone', 'deeper', 'out');
    const w = await PartWriter.open(file, 0, { durable: false });
    await w.finish();
    expect(existsSync(file)).toBe(true);
    await expect(PartWriter.open(path.join(tmp.dir, 'nowhere', 'out'), 10, { durable: false })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.runIf(existsSync('/dev/full'))('a failed write surfaces from write or finish, and the descriptor is closed', async () => {
    const w = await PartWriter.open('/dev/full', 0, { durable: false, batchBytes: 10, maxPendingBytes: 10 });
    const err = await (async () => {
      try {
        for (let i = 0; i < 5; i++) await w.write(Buffer.alloc(100));
        await w.finish();
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
      return null;
    })();
    expect(err?.code).toBe('ENOSPC');
    await w.close();
  });
});
