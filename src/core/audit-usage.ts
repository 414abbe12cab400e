import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditEntry } from './audit-log.js';

export type UsageGroup = 'day' | 'model' | 'day,model';

export interface UsageRow {
  day?: string;
  model?: string;
  requests: number;
  ok: number;
  errors: number;
  retries: number;
  frames: number;
  estimatedTokens: number;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
}

export interface UsageReport {
  rows: UsageRow[];
  total: UsageRow;
  /** Lines that were not JSON (a crash mid-write, a hand edit): counted, not fatal. */
  badLines: number;
}

/** Streams the audit trail's entries (a missing file is an empty trail). */
export async function* readAudit(file: string): AsyncGenerator<AuditEntry | null> {
  if (!existsSync(file)) return;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as AuditEntry;
      yield v && typeof v === 'object' && typeof v.at === 'string' ? v : null;
    } catch {
      yield null;
    }
  }
}

function emptyRow(): UsageRow {
  return { requests: 0, ok: 0, errors: 0, retries: 0, frames: 0, estimatedTokens: 0, promptTokens: 0, completionTokens: 0, latencyMs: 0 };
}

function add(row: UsageRow, e: AuditEntry): void {
  row.requests += 1;
  if (e.status === 'ok') row.ok += 1;
  else if (e.status === 'error') row.errors += 1;
  row.retries += Number(e.retries) || 0;
  row.frames += Number(e.frames) || 0;
  row.estimatedTokens += Number(e.estimatedTokens) || 0;
  row.promptTokens += Number(e.promptTokens) || 0;
  row.completionTokens += Number(e.completionTokens) || 0;
  row.latencyMs += Number(e.latencyMs) || 0;
}

/**
 * Sums the audit trail per day (UTC), per model, or both: requests, outcomes, retries, frames, estimated and
 * reported tokens, total latency. `since`/`until` are inclusive days (YYYY-MM-DD).
 */
export async function summarizeUsage(file: string, options: { by?: UsageGroup; since?: string; until?: string } = {}): Promise<UsageReport> {
  const by = options.by ?? 'day,model';
  const groups = new Map<string, UsageRow>();
  const total = emptyRow();
  let badLines = 0;
  for await (const e of readAudit(file)) {
    if (!e) {
      badLines++;
      continue;
    }
    const day = e.at.slice(0, 10);
    if (options.since && day < options.since) continue;
    if (options.until && day > options.until) continue;
    const model = String(e.model ?? '?');
    const key = by === 'day' ? day : by === 'model' ? model : `${day}\u0000${model}`;
    let row = groups.get(key);
    if (!row) {
      row = { ...(by !== 'model' ? { day } : {}), ...(by !== 'day' ? { model } : {}), ...emptyRow() };
      groups.set(key, row);
    }
    add(row, e);
    add(total, e);
  }
  const rows = [...groups.values()].sort((a, b) => `${a.day ?? ''}${a.model ?? ''}`.localeCompare(`${b.day ?? ''}${b.model ?? ''}`));
  return { rows, total, badLines };
}
