import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../core/index.js';
import { defaultFields, EXPORT_FORMATS, selectFields, writeParquet, writeRecords, type ExportFormat } from '../../export/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, err, withConfigOptions, type CommonFlags } from '../shared-options.js';

export function registerExport(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('export')
        .description('write matching records as JSON, JSON lines, CSV, Parquet, or one row per scene (scenes-csv); streamed')
        .argument('[query...]', 'free text, as for search'),
      { outIsDataDir: false },
    ),
  )
    .addOption(new Option('--format <format>', 'output format ([Export] Format)').choices([...EXPORT_FORMATS]))
    .option('-o, --out <file>', 'write here (written to <file>.part, then renamed) instead of stdout')
    .option('--fields <list>', 'columns, comma-separated: flat column names or record paths like metadata.width ([Export] Fields)')
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { format?: ExportFormat; fields?: string }) => {
      const file = flags.out;
      const app = appFrom({ ...flags, outIsFile: true }, { 'Export.Format': flags.format, 'Export.Fields': flags.fields });
      try {
        const store = await app.store();
        const q = queryFromFlags(words.join(' '), flags);
        const format = app.config.Export.Format;
        const fields = app.config.Export.Fields;
        if (format === 'parquet' && !file) throw new ConfigError('export --format parquet needs --out <file>.parquet');
        if (format !== 'scenes-csv' && fields.length) selectFields(fields); // unknown names fail before any output
        if (!file) {
          await writeRecords(store.iterate(q), format, process.stdout, { fields });
          return;
        }
        const target = path.resolve(file);
        await mkdir(path.dirname(target), { recursive: true });
        const part = `${target}.part`;
        let n: number;
        if (format === 'parquet') {
          n = await writeParquet(store.iterate(q), part, fields.length ? selectFields(fields) : defaultFields());
        } else {
          const stream = createWriteStream(part);
          n = await writeRecords(store.iterate(q), format, stream, { fields });
          stream.end();
          await finished(stream);
        }
        await rename(part, target);
        err(`videodex: exported ${n} ${format === 'scenes-csv' ? 'scene' : 'record'}(s) to ${target}`);
      } finally {
        await app.close();
      }
    });
}
