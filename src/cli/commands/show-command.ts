import type { Command } from 'commander';
import { resolveRecord } from '../resolve-record.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

export function registerShow(program: Command): void {
  withConfigOptions(program.command('show').description('print one whole record as JSON').argument('<id|path>', 'video id (or a unique prefix of 4+ characters) or file path'))
    .action(async (ref: string, flags: CommonFlags) => {
      const app = appFrom(flags);
      try {
        const video = await resolveRecord(await app.library(), ref);
        out(JSON.stringify(video, null, 2));
      } finally {
        await app.close();
      }
    });
}
