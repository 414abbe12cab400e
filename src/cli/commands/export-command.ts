import { createWriteStream, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ConfigError, ExitCode } from '../../core/index.js';
import { defaultFields, EXPORT_FORMATS, selectFields, writeParquet, writeRecords } from '../../export/index.js';
import { selectedRecords, type SearchQuery } from '../../store/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { outputTarget } from '../output-target.js';
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
    .option('--format <format>', `output format: ${EXPORT_FORMATS.join(', ')}, or the name of a plugin's exporter ([Export] Format)`)
    .option('-o, --out <file>', 'write here (written to <file>.part, then renamed) instead of stdout')
    .option('--fields <list>', 'columns, comma-separated: flat column names or record paths like metadata.width ([Export] Fields)')
    .option('--bom', 'CSV: begin with a UTF-8 byte-order mark, for Excel ([Export] CsvBom)')
    .option('--no-escape-formulas', "CSV: write text that a spreadsheet would run as a formula as it is, without the leading ' ([Export] EscapeFormulas)")
    .action(async (words: string[], flags: SearchFlags & CommonFlags & { format?: string; fields?: string; escapeFormulas?: boolean; bom?: boolean }) => {
      const file = flags.out;
      const builtIn = flags.format === undefined || (EXPORT_FORMATS as readonly string[]).includes(flags.format);
      // `-o lib.csv` means CSV: a file named for one format and filled with another (the configured) is a trap
      const asked = flags.format ?? (file ? formatOfFileName(file) : undefined);
      // commander sets escapeFormulas true unless --no-escape-formulas: only the flag given overrides the config
      const app = appFrom({ ...flags, outIsFile: true }, { 'Export.Format': builtIn ? asked : undefined, 'Export.Fields': flags.fields, 'Export.EscapeFormulas': flags.escapeFormulas === false ? 'false' : undefined, 'Export.CsvBom': flags.bom ? 'true' : undefined });
      try {
        const q = queryFromFlags(words.join(' '), flags);
        if (!builtIn) {
          await exportWithPlugin(app, flags.format!, q, file, flags.fields);
          return;
        }
        const store = await app.library();
        const format = app.config.Export.Format;
        const fields = app.config.Export.Fields;
        if (format === 'parquet' && !file) throw new ConfigError('export --format parquet needs --out <file>.parquet');
        if (format !== 'scenes-csv' && fields.length) selectFields(fields); // unknown names fail before any output
        if (!file) {
          await writeRecords(selectedRecords(store, q), format, process.stdout, { fields, escapeFormulas: app.config.Export.EscapeFormulas, bom: app.config.Export.CsvBom });
          return;
        }
        const { target, n } = await writeViaPart(
          file,
          (part) =>
            format === 'parquet'
              ? writeParquet(selectedRecords(store, q), part, fields.length ? selectFields(fields) : defaultFields())
              : streamTo(part, (stream) => writeRecords(selectedRecords(store, q), format, stream, { fields, escapeFormulas: app.config.Export.EscapeFormulas, bom: app.config.Export.CsvBom })),
          // Parquet's writer opens its file again for every chunk: a pipe would see an end after the first
          format === 'parquet' ? 'a Parquet file is written in chunks, each opening the file again' : undefined,
        );
        err(`videodex: exported ${n} ${format === 'scenes-csv' ? 'scene' : 'record'}(s) to ${target}`);
      } finally {
        await app.close();
      }
    });
}

const FORMAT_OF_EXTENSION = new Map<string, (typeof EXPORT_FORMATS)[number]>([
  ['.csv', 'csv'],
  ['.parquet', 'parquet'],
  ['.json', 'json'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
]);

/** The built-in format a file name's extension names, if any. */
export function formatOfFileName(file: string): (typeof EXPORT_FORMATS)[number] | undefined {
  return FORMAT_OF_EXTENSION.get(path.extname(file).toLowerCase());
}

/**
 * `--format <name>` naming a plugin's exporter: the plugin streams the matching records to stdout or to
 * `<file>.part`, renamed when it returns. Plugins load only here, so built-in exports never depend on them.
 */
async function exportWithPlugin(app: App, name: string, q: SearchQuery, file: string | undefined, fields: string | undefined): Promise<void> {
  await app.loadPlugins();
  const exporter = app.exporters().get(name);
  if (!exporter) {
    const fromPlugins = [...app.exporters().keys()];
    throw new ConfigError(
      `export: unknown format "${name}"; built-in: ${EXPORT_FORMATS.join(', ')}; from plugins: ${fromPlugins.length ? fromPlugins.join(', ') : 'none loaded ([Plugins] Modules)'}`,
    );
  }
  if (fields) throw new ConfigError(`export: --fields does not apply to the plugin format "${name}", which chooses its own output`);
  const store = await app.library();
  const ctx = { config: app.config, logger: app.logger };
  if (!file) {
    await exporter.write(selectedRecords(store, q), process.stdout, ctx);
    return;
  }
  const { target, n } = await writeViaPart(file, (part) => streamTo(part, (stream) => exporter.write(selectedRecords(store, q), stream, ctx)));
  err(`videodex: exported ${n} record(s) to ${target} (${name}, from a plugin)`);
}

/**
 * Writes `file` through `<file>.part` (folder made), renamed when `write` succeeds and removed when it fails. A
 * symbolic link is written through to the file it names; a device, a named pipe or a socket (`-o /dev/stdout`, a FIFO
 * another program reads) is written to as it is, unless `regularOnly` says why this output needs a plain file.
 */
async function writeViaPart(file: string, write: (part: string) => Promise<number>, regularOnly?: string): Promise<{ target: string; n: number }> {
  const given = path.resolve(file);
  const out = outputTarget(file);
  // checked before a record is read: the rename at the end would fail only after the whole export
  if (out.kind === 'folder') throw new ConfigError(`export: --out ${file} is a folder, not a file`);
  if (out.kind === 'special') {
    if (regularOnly) throw new ConfigError(`export: --out ${file} is not a plain file (a device or a pipe): ${regularOnly}; write to a file`);
    return { target: given, n: await write(given) };
  }
  const target = out.path;
  await mkdir(path.dirname(target), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    // a file where a folder of the path goes read as a raw "EEXIST: file already exists, mkdir ..." (exit 4)
    if (e.code === 'EEXIST' || e.code === 'ENOTDIR') throw new ConfigError(`export: --out ${file}: a file is in the way of its folder ${path.dirname(target)}`);
    throw e;
  });
  const part = `${target}.part`;
  // Node's default for these ends the process at once, and the half export stayed behind as <file>.part
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(part, { force: true });
    process.stderr.write(`videodex: export stopped by ${signal}: ${file} was not written\n`);
    process.exit(signal === 'SIGINT' ? ExitCode.Interrupted : 128 + 15);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const n = await write(part);
    await rename(part, target);
    return { target: given, n };
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** A write stream on `file` for `write`, ended and flushed before returning its count. */
async function streamTo(file: string, write: (stream: Writable) => Promise<number>): Promise<number> {
  const stream = createWriteStream(file);
  try {
    const n = await write(stream);
    stream.end();
    await finished(stream);
    return n;
  } catch (e) {
    stream.destroy();
    throw e;
  }
}
