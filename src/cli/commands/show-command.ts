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
        if (!video) {
          const byPath = await store.findByPath(path.resolve(ref));
          video = byPath[0] ?? null;
        }
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
