import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError, type Video } from '../../core/index.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

export function registerShow(program: Command): void {
  withConfigOptions(program.command('show').description('print one whole record as JSON').argument('<id|path>', 'video id (or a unique prefix) or file path'))
    .action(async (ref: string, flags: CommonFlags) => {
      const app = appFrom(flags);
      try {
        const store = await app.library();
        let video = await store.get(ref);
        if (!video) video = current(await store.findByPath(path.resolve(ref)), path.resolve(ref));
        if (!video && /^[0-9a-f]{4,}$/i.test(ref)) {
          // a prefix must name one video: the first of several would be a guess
          const found: Video[] = [];
          for await (const v of store.iterate()) if (v.id.startsWith(ref.toLowerCase()) && found.push(v) > 5) break;
          if (found.length > 1) throw new AppError('E_AMBIGUOUS', `${ref}: ${found.length > 5 ? 'more than 5' : found.length} videos have ids starting so (${found.slice(0, 5).map((v) => v.id).join(', ')}): give more of the id`);
          video = found[0] ?? null;
        }
        if (!video) throw new AppError('E_NOT_FOUND', `${ref}: no such video in the library`);
        out(JSON.stringify(video, null, 2));
      } finally {
        await app.close();
      }
    });
}

/**
 * Of the records of a path, the one of the file there now: a file replaced in place leaves its old record beside
 * the new one until `remove --missing` prunes it. The one whose size is the file's, then the newest.
 */
function current(records: readonly Video[], file: string): Video | null {
  const size = existsSync(file) ? statSync(file).size : -1;
  const rank = (v: Video) => (v.file.bytes === size ? 1 : 0);
  return [...records].sort((a, b) => rank(b) - rank(a) || (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))[0] ?? null;
}
