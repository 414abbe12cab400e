import { existsSync, statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ConfigError, summarizeUsage, type UsageGroup, type UsageRow } from '../../core/index.js';
import { renderTable } from './search-command.js';
import { appFrom, err, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface UsageFlags extends CommonFlags {
  by?: UsageGroup;
  since?: string;
  until?: string;
  json?: boolean;
  auditFile?: string;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `text` is YYYY-MM-DD and a day the calendar has (no 2024-02-30, no month 13). */
function isRealDay(text: string): boolean {
  const m = DAY.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0-99 as 1900-1999
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** --since and --until: real days, the first not after the second; a ConfigError (exit 3) naming the flag otherwise. */
function checkDays(flags: UsageFlags): void {
  for (const [name, v] of [['--since', flags.since], ['--until', flags.until]] as const) {
    if (v === undefined) continue;
    if (!DAY.test(v)) throw new ConfigError(`${name} ${v}: expected a day as YYYY-MM-DD`);
    if (!isRealDay(v)) throw new ConfigError(`${name} ${v}: no such day (expected a day as YYYY-MM-DD)`);
  }
  if (flags.since !== undefined && flags.until !== undefined && flags.since > flags.until) {
    throw new ConfigError(`--since ${flags.since} is after --until ${flags.until}: no day can match`);
  }
}

function cells(r: UsageRow, by: UsageGroup): Record<string, string> {
  return {
    ...(by !== 'model' ? { day: r.day ?? 'total' } : {}),
    ...(by !== 'day' ? { model: r.model ?? (by === 'model' ? 'total' : '') } : {}),
    requests: String(r.requests),
    ok: String(r.ok),
    errors: String(r.errors),
    retries: String(r.retries),
    frames: String(r.frames),
    'est tokens': String(r.estimatedTokens),
    'prompt tokens': String(r.promptTokens),
    'completion tokens': String(r.completionTokens),
    'avg ms': r.requests ? String(Math.round(r.latencyMs / r.requests)) : '0',
  };
}

export function registerUsage(program: Command): void {
  withConfigOptions(program.command('usage').description('model usage from the audit trail: requests, frames and tokens per day and model'))
    .addOption(new Option('--by <group>', 'group rows by').choices(['day', 'model', 'day,model']).default('day,model'))
    .option('--since <day>', 'from this day on (YYYY-MM-DD, UTC; not after --until)')
    .option('--until <day>', 'up to this day (YYYY-MM-DD, UTC)')
    .option('--audit-file <file>', 'audit trail to read ([Logging] AuditFile)')
    .option('--json', 'as JSON')
    .action(async (flags: UsageFlags) => {
      checkDays(flags);
      const app = appFrom(flags, { 'Logging.AuditFile': flags.auditFile });
      try {
        const by = flags.by ?? 'day,model';
        const file = app.config.Logging.AuditFile;
        // a trail not made yet is an empty one (no model call so far), but a file named on the command line that is
        // not there is a typo, which read as "no model calls recorded"
        if (flags.auditFile !== undefined && !existsSync(file)) throw new ConfigError(`--audit-file ${flags.auditFile}: no such file`);
        // a folder read as a raw "EISDIR: illegal operation on a directory, read" naming no file
        if (existsSync(file) && statSync(file).isDirectory()) throw new ConfigError(`${flags.auditFile !== undefined ? '--audit-file' : '[Logging] AuditFile'} ${file} is a folder, not the audit file`);
        const report = await summarizeUsage(file, { by, ...(flags.since ? { since: flags.since } : {}), ...(flags.until ? { until: flags.until } : {}) });
        if (report.badLines) err(`videodex: ${file}: ${report.badLines} line(s) are not audit entries and were ignored`);
        if (flags.json) {
          out(JSON.stringify({ file, by, ...report }, null, 2));
          return;
        }
        if (!report.rows.length) {
          // with a window, calls outside it are no evidence that none were made
          const window = flags.since && flags.until ? ` from ${flags.since} to ${flags.until}` : flags.since ? ` from ${flags.since} on` : flags.until ? ` up to ${flags.until}` : '';
          out(`no model calls recorded in ${file}${window}`);
          return;
        }
        out(renderTable([...report.rows.map((r) => cells(r, by)), cells(report.total, by)]));
      } finally {
        await app.close();
      }
    });
}
