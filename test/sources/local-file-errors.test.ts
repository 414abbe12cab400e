import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configWith, createLogger } from '../../src/core/index.js';
import { expandInputs, LocalSource } from '../../src/sources/index.js';
import { localFileError, type AcquireError } from '../../src/sources/source-errors.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir();
afterAll(() => t.cleanup());
const logger = createLogger({ file: null, level: 'silent', secrets: [] });
const opts = { videoExtensions: ['mp4'], sniffContent: false, followSymlinks: false };

function acquire(file: string, mediaDir: string, mode: 'reference' | 'copy' = 'reference') {
  const ctx = { config: configWith({ Sources: { LocalMode: mode } }), logger, signal: new AbortController().signal, mediaDir, progress: () => undefined };
  return new LocalSource().acquire({ key: file, raw: file, kind: 'local', path: file }, ctx);
}

const errorOf = async (p: Promise<unknown>) => (await p.then(() => null, (e: unknown) => e)) as AcquireError;

describe('a local file that cannot be read: one line with the cause in words and a stable code', () => {
  it('maps the system codes: unreadable, missing, a folder; too many open files is retried', () => {
    const sys = (code: string) => Object.assign(new Error(`${code}: raw system text, open '/x'`), { code });
    const denied = localFileError(sys('EACCES'), 'read');
    expect([denied.message, denied.code, denied.retryable]).toEqual(['cannot read the file: permission denied (EACCES)', 'E_UNREADABLE', false]);
    expect([localFileError(sys('ENOENT'), 'read').message, localFileError(sys('ENOENT'), 'read').code]).toEqual(['no such file', 'E_NOT_FOUND']);
    expect(localFileError(sys('EISDIR'), 'read').code).toBe('E_LOCAL_MISSING');
    expect(localFileError(sys('EIO'), 'read').message).toBe('cannot read the file: input/output error (a failing disk or network share) (EIO)');
    expect(localFileError(sys('EMFILE'), 'read').retryable).toBe(true);
    // a code without words keeps Node's own text
    expect(localFileError(sys('EWEIRD'), 'read').message).toBe("cannot read the file: EWEIRD: raw system text, open '/x'");
    const full = localFileError(sys('ENOSPC'), 'copy', '/lib/media');
    expect([full.message, full.code]).toEqual(['cannot copy the file into /lib/media: no space left on the device (ENOSPC)', 'E_DISK']);
  });

  it('a symbolic link loop given as an input is named as one, not as a missing file', async () => {
    const a = path.join(t.dir, 'loop-a.mp4');
    symlinkSync(path.join(t.dir, 'loop-b.mp4'), a);
    symlinkSync(a, path.join(t.dir, 'loop-b.mp4'));
    const r = await expandInputs([a], [], opts);
    expect(r.problems).toEqual([{ raw: a, message: 'too many symbolic links (a link loop) (ELOOP)' }]);
    // and reached directly, the source says the same with its code
    const e = await errorOf(acquire(a, path.join(t.dir, 'media')));
    expect([e.message, e.code]).toEqual(['cannot read the file: too many symbolic links (a link loop) (ELOOP)', 'E_UNREADABLE']);
  });

  it('LocalMode = copy into a MediaDir that a file stands in the way of: E_DISK naming the folder, no copy left behind', async () => {
    const file = path.join(t.dir, 'fine.mp4');
    writeFileSync(file, 'some bytes');
    const media = path.join(t.dir, 'not-a-folder');
    writeFileSync(media, 'x');
    const e = await errorOf(acquire(file, media, 'copy'));
    expect(e.code).toBe('E_DISK');
    expect(e.message).toBe(`cannot copy the file into ${media}: a file is in the way of the folder (EEXIST)`);
    // a MediaDir whose part folder cannot be made (a file in its place) fails the same way and leaves nothing
    const media2 = path.join(t.dir, 'media2');
    mkdirSync(media2);
    writeFileSync(path.join(media2, '.partial'), 'x');
    const e2 = await errorOf(acquire(file, media2, 'copy'));
    expect(e2.code).toBe('E_DISK');
    expect(e2.message).toMatch(new RegExp(`^cannot copy the file into ${media2}: `));
    expect(readdirSync(media2)).toEqual(['.partial']);
  });

  it('a file the user may not read (EACCES, for real: as root, read by an unprivileged child)', () => {
    const file = path.join(t.dir, 'private', 'secret.mp4');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'private bytes');
    chmodSync(file, 0o600);
    const source = fileURLToPath(new URL('../../src/sources/index.ts', import.meta.url));
    const core = fileURLToPath(new URL('../../src/core/index.ts', import.meta.url));
    const script = `
      const { LocalSource } = await import(${JSON.stringify(source)});
      const { configWith, createLogger } = await import(${JSON.stringify(core)});
      const ctx = { config: configWith(), logger: createLogger({ file: null, level: 'silent', secrets: [] }), signal: new AbortController().signal, mediaDir: '/nonexistent', progress: () => undefined };
      const f = ${JSON.stringify(file)};
      try { await new LocalSource().acquire({ key: f, raw: f, kind: 'local', path: f }, ctx); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code })); }`;
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) chmodSync(file, 0o000);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.trim())).toEqual({ message: 'cannot read the file: permission denied (EACCES)', code: 'E_UNREADABLE' });
  });

  it('a file that grows while it is read (a copy still running) fails as E_FILE_CHANGING, and is taken once it is still', async () => {
    const file = path.join(t.dir, 'growing.mp4');
    // large and sparse: hashing it takes long enough for the write below to land during the read
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 512 * 1024 * 1024);
    closeSync(fd);
    const media = path.join(t.dir, 'media-growing');
    const reading = errorOf(acquire(file, media));
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(file, 'more bytes');
    const e = await reading;
    expect([e.code, e.retryable]).toEqual(['E_FILE_CHANGING', false]);
    expect(e.message).toBe(`the file changed while it was read (${512 * 1024 * 1024} bytes, then ${512 * 1024 * 1024 + 10}): is it still being written? Run again once it is complete`);
    const again = await acquire(file, media);
    expect(again.bytes).toBe(512 * 1024 * 1024 + 10);
  });
});
