import { existsSync, mkdirSync, readdirSync, writeFileSync as realWriteFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/media.js';

/** The next lock write creates its file and then fails as a full disk does. */
const failNext = { on: false };
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    writeFile: async (...args: Parameters<typeof real.writeFile>) => {
      if (failNext.on && String(args[0]).endsWith('.lock')) {
        failNext.on = false;
        realWriteFileSync(String(args[0]), '', { flag: 'wx' });
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return real.writeFile(...args);
    },
  };
});

const { withPart } = await import('../../src/sources/part-lock.js');
const t = tempDir('videodex-part-lock-');
afterAll(() => t.cleanup());

describe('the .part lock', () => {
  it('a lock file made but not written (disk full) is removed with the error: the next attempt does not wait on it', async () => {
    const part = path.join(t.dir, '.partial', 'x.part');
    mkdirSync(path.dirname(part), { recursive: true });
    failNext.on = true;
    await expect(withPart(part, async () => 'ran')).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(`${part}.lock`)).toBe(false);
    const started = Date.now();
    expect(await withPart(part, async () => 'ran')).toBe('ran');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(readdirSync(path.dirname(part))).toEqual([]);
  });

  it('an empty lock of a process that died before writing it is waited on only until it is a minute old', async () => {
    const part = path.join(t.dir, '.partial', 'y.part');
    mkdirSync(path.dirname(part), { recursive: true });
    realWriteFileSync(`${part}.lock`, '');
    const stop = new AbortController();
    const waiting = withPart(part, async () => 'ran', { signal: stop.signal });
    await new Promise((r) => setTimeout(r, 200));
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});
