import type { InputRecord } from '../store/index.js';

export interface FailureGroup {
  /** The error code (E_HTTP_404, E_IDLE_TIMEOUT...), or E_UNKNOWN. */
  code: string;
  count: number;
  /** Whether `process --retry-failed` can be expected to help (network, 5xx, 429, timeouts). */
  transient: boolean;
  /** A few inputs with their one-line errors. */
  examples: Array<{ key: string; error: string }>;
}

export interface InputStatusReport {
  total: number;
  done: number;
  failed: number;
  bytes: number;
  /** Runs that were needed, summed over inputs (1 per input that worked the first time). */
  attempts: number;
  /** Largest group first. */
  failures: FailureGroup[];
  /** Per list file (`-` for inputs given on the command line). */
  lists: Array<{ file: string; done: number; failed: number }>;
}

/**
 * The acquisition log row of an input tried once more (`attempts` counted on from `prior`): `fields` over a row with
 * nothing known, written now.
 */
export function inputRow(key: string, prior: InputRecord | null, fields: Partial<InputRecord> & Pick<InputRecord, 'status' | 'videoId'>): InputRecord {
  return {
    key,
    attempts: (prior?.attempts ?? 0) + 1,
    bytes: null,
    error: null,
    errorCode: null,
    fileSize: null,
    fileMtimeMs: null,
    listFile: null,
    updatedAt: new Date().toISOString(),
    ...fields,
  };
}

const TRANSIENT = new Set(['E_NETWORK', 'E_CONNECT_TIMEOUT', 'E_IDLE_TIMEOUT', 'E_TRUNCATED', 'E_HTTP_5XX', 'E_HTTP_429', 'E_RETRY_AFTER_TOO_LONG', 'E_FILE_CHANGING']);

/** The acquisition log summed up: counts, and failures grouped by cause. */
export function summarizeInputs(rows: readonly InputRecord[], examplesPerGroup = 3): InputStatusReport {
  const groups = new Map<string, FailureGroup>();
  const lists = new Map<string, { file: string; done: number; failed: number }>();
  let done = 0;
  let failed = 0;
  let bytes = 0;
  let attempts = 0;
  for (const r of rows) {
    attempts += r.attempts;
    const list = lists.get(r.listFile ?? '-') ?? { file: r.listFile ?? '-', done: 0, failed: 0 };
    lists.set(list.file, list);
    if (r.status === 'done') {
      done++;
      list.done++;
      bytes += r.bytes ?? 0;
      continue;
    }
    failed++;
    list.failed++;
    const code = r.errorCode ?? 'E_UNKNOWN';
    const g = groups.get(code) ?? { code, count: 0, transient: TRANSIENT.has(code), examples: [] };
    g.count++;
    if (g.examples.length < examplesPerGroup) g.examples.push({ key: r.key, error: r.error ?? '' });
    groups.set(code, g);
  }
  return {
    total: rows.length,
    done,
    failed,
    bytes,
    attempts,
    failures: [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
    lists: [...lists.values()].sort((a, b) => a.file.localeCompare(b.file)),
  };
}

/** The report as lines for a person. */
export function formatInputStatus(report: InputStatusReport): string[] {
  const gib = report.bytes / 1024 ** 3;
  const size = gib >= 1 ? `${gib.toFixed(2)} GiB` : `${(report.bytes / 1024 ** 2).toFixed(1)} MiB`;
  const lines = [`inputs: ${report.total}  done: ${report.done}  failed: ${report.failed}  downloaded: ${size}  runs: ${report.attempts}`];
  if (report.lists.length > 1 || (report.lists[0] && report.lists[0].file !== '-')) {
    lines.push('by list:');
    for (const l of report.lists) lines.push(`  ${l.file === '-' ? '(command line)' : l.file}: ${l.done} done, ${l.failed} failed`);
  }
  if (report.failures.length) {
    lines.push('failures by cause:');
    for (const g of report.failures) {
      lines.push(`  ${g.code.padEnd(24)} ${String(g.count).padStart(6)}  ${g.transient ? 'transient: --retry-failed may help' : 'permanent: fix the input'}`);
      for (const e of g.examples) lines.push(`      ${e.error || e.key}`);
    }
    lines.push('retry the failed inputs only: videodex process --retry-failed');
  }
  return lines;
}
