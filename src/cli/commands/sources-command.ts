import type { Command } from 'commander';
import { formatInputStatus, summarizeInputs } from '../../workflow/index.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface StatusFlags extends CommonFlags {
  json?: boolean;
  failed?: boolean;
}

export function registerSources(program: Command): void {
  const sources = program.command('sources').description('the acquisition log: what was downloaded or read, what failed and why');
  withConfigOptions(sources.command('status').description('counts of inputs, and failures grouped by cause'))
    .option('--json', 'the report as JSON')
    .option('--failed', 'list every failed input with its error, one a line')
    .action(async (flags: StatusFlags) => {
      const app = appFrom(flags);
      try {
        const store = await app.library();
        const rows = await store.listInputs();
        if (flags.failed) {
          for (const r of rows.filter((x) => x.status === 'failed')) {
            out(flags.json ? JSON.stringify(r) : `${r.key}\t${r.errorCode ?? 'E_UNKNOWN'}\t${r.error ?? ''}`);
          }
          return;
        }
        const report = summarizeInputs(rows);
        if (flags.json) out(JSON.stringify(report));
        else for (const line of formatInputStatus(report)) out(line);
      } finally {
        await app.close();
      }
    });
}
