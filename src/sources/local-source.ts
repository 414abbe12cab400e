import { copyFile, link, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../core/index.js';
import type { InputItem } from './input-item.js';
import { moveToUniquePath, safeFileName } from './media-names.js';
import { withPart } from './part-lock.js';
import { PARTIAL_DIR } from './partial-dir.js';
import { AcquireError, localFileError, SourceCode } from './source-errors.js';
import type { AcquireContext, Acquired, Source } from './source.js';

/**
 * Local files, by `[Sources] LocalMode`: `reference` (default) leaves the file where it is; `link` hard-links it
 * into MediaDir (falling back to a copy across file systems); `copy` copies it through a `.part` file.
 */
export class LocalSource implements Source {
  readonly kind = 'local' as const;

  canHandle(input: InputItem): boolean {
    return input.kind === 'local';
  }

  async acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const file = input.path!;
    const info = await stat(file).catch((err: unknown) => {
      throw localFileError(err, 'read');
    });
    if (!info.isFile()) throw new AcquireError('not a regular file', { code: SourceCode.LocalMissing });
    if (info.size === 0) throw new AcquireError('empty file (0 bytes)', { code: 'E_EMPTY' });
    const sha256 = await sha256File(file).catch((err: unknown) => {
      throw localFileError(err, 'read');
    });
    // A video still being written (a copy or a recording in progress) was indexed half done, under a hash of
    // neither its old nor its final bytes.
    const after = await stat(file).catch((err: unknown) => {
      throw localFileError(err, 'read');
    });
    if (after.size !== info.size || after.mtimeMs !== info.mtimeMs) {
      throw new AcquireError(`the file changed while it was read (${info.size} bytes, then ${after.size}): is it still being written? Run again once it is complete`, {
        code: SourceCode.Changing,
      });
    }
    const mode = ctx.config.Sources.LocalMode;
    let finalPath = file;
    let storage: Acquired['storage'] = 'reference';
    if (mode !== 'reference') {
      await mkdir(ctx.mediaDir, { recursive: true }).catch((err: unknown) => {
        throw localFileError(err, 'copy', ctx.mediaDir);
      });
      const name = safeFileName(path.basename(file));
      if (mode === 'link') {
        try {
          finalPath = await linkUnique(file, ctx.mediaDir, name);
          storage = 'link';
        } catch (err) {
          ctx.logger.info({ file, err: (err as Error).message }, 'hard link failed; copying');
        }
      }
      if (storage === 'reference') {
        const partDir = path.join(ctx.mediaDir, PARTIAL_DIR);
        // named by content: two files with the same bytes copied at once share it
        const part = path.join(partDir, `${sha256.slice(0, 32)}.copy.part`);
        finalPath = await withPart(part, async () => {
          try {
            await mkdir(partDir, { recursive: true });
            await copyFile(file, part);
            return await moveToUniquePath(part, ctx.mediaDir, name);
          } catch (err) {
            await rm(part, { force: true }).catch(() => undefined);
            // the file was just read whole (hashed): what fails now is writing the copy
            throw localFileError(err, 'copy', ctx.mediaDir);
          }
        }, { signal: ctx.signal }).catch((err: unknown) => {
          // the lock beside the .part could not be made: the same cause as the copy itself would meet
          throw err instanceof AcquireError || ctx.signal.aborted ? err : localFileError(err, 'copy', ctx.mediaDir);
        });
        storage = 'copy';
      }
    }
    return {
      path: finalPath,
      bytes: info.size,
      sha256,
      storage,
      source: { url: file, kind: 'local', fetchedAt: new Date().toISOString() },
    };
  }
}

/** Hard-links `file` into `dir` under a free name; throws when links are impossible (e.g. across devices). */
async function linkUnique(file: string, dir: string, name: string): Promise<string> {
  const ext = path.extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let i = 0; i < 100_000; i++) {
    const candidate = path.join(dir, i === 0 ? name : `${stem}-${i}${ext}`);
    try {
      await link(file, candidate);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // The same file already linked there (an earlier run): reuse it.
      const [a, b] = await Promise.all([stat(file), stat(candidate)]);
      if (a.ino === b.ino && a.dev === b.dev) return candidate;
    }
  }
  throw new Error(`no free file name for ${name} in ${dir}`);
}
