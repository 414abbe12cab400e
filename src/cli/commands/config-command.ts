import type { Command } from 'commander';
import { describeConfig } from '../../core/index.js';
import { renderTable } from './search-command.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

export function registerConfig(program: Command): void {
  withConfigOptions(program.command('config').description('print the effective configuration, where each value came from, secrets masked'))
    .option('--json', 'as JSON')
    .action(async (flags: CommonFlags & { json?: boolean }) => {
      const app = appFrom(flags);
      try {
        const rows = describeConfig(app.loaded);
        if (flags.json) {
          out(JSON.stringify({ file: app.loaded.file, keys: rows }, null, 2));
          return;
        }
        out(`config file: ${app.loaded.file ?? '(none: defaults, environment and flags)'}`);
        out(renderTable(rows.map((r) => ({ key: `[${r.section}] ${r.key}`, value: r.value, source: r.source }))));
      } finally {
        await app.close();
      }
    });
}
