import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { redact } from './logger.js';

/** One model call, as written to the audit trail. Never carries a key. */
export interface AuditEntry {
  at: string;
  videoId: string;
  provider: string;
  /** Host (and path) only. */
  endpoint: string;
  model: string;
  template: string;
  templateHash: string;
  frames: number;
  estimatedTokens: number;
  promptTokens?: number;
  completionTokens?: number;
  latencyMs: number;
  status: 'ok' | 'error' | 'cached';
  httpStatus?: number;
  retries: number;
  error?: string;
  [extra: string]: unknown;
}

/** Append-only JSONL; each line is written whole with one syscall so a crash never leaves half a line. */
export class AuditLog {
  constructor(
    readonly file: string,
    private readonly secrets: readonly string[] = [],
  ) {}

  append(entry: AuditEntry): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, redact(JSON.stringify(entry), this.secrets) + '\n');
  }
}
