import { copyFile, link, mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SourceError, sha256File } from '../core/index.js';
import type { InputItem } from './input-item.js';
import type { AcquireContext, Acquired, Source } from './source.js';
import { uniqueMediaPath } from './media-names.js';

/** Local files: referenced in place (default), hard-linked or copied into the media folder. */
export class LocalSource implements Source {
  readonly kind = 'local' as const;

  canHandle(input: InputItem): boolean {
    return input.kind === 'local';
  }

  async acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const file = input.path!;
    let info;
    try {
      info = await stat(file);
    } catch {
      throw new SourceError('no such file', { code: 'E_NOT_FOUND' });
    }
    if (!info.isFile()) throw new SourceError('not a regular file');
    if (info.size === 0) throw new SourceError('empty file (0 bytes)', { code: 'E_EMPTY' });
    const sha256 = await sha256File(file);
    const mode = ctx.config.Sources.LocalMode;
    let finalPath = file;
    let storage: Acquired['storage'] = 'reference';
    if (mode !== 'reference') {
      await mkdir(ctx.mediaDir, { recursive: true });
      const target = await uniqueMediaPath(ctx.mediaDir, `${sha256.slice(0, 12)}-${path.basename(file)}`);
      storage = 'copy';
      if (mode === 'link') {
        try {
          await link(file, target);
          storage = 'link';
        } catch (err) {
          ctx.logger.info({ file, err: (err as Error).message }, 'hard link failed; copying');
        }
      }
      if (storage === 'copy') {
        const part = `${target}.part`;
        await copyFile(file, part);
        await rename(part, target).catch(async (err) => {
          await unlink(part).catch(() => undefined);
          throw err;
        });
      }
      finalPath = target;
    }
    return {
      path: finalPath,
      bytes: info.size,
      sha256,
      storage,
      source: { url: file, kind: 'local', fetchedAt: new Date().toISOString(), ...(input.list ? { list: input.list } : {}) },
    };
  }
}
