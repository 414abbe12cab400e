import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { AppError } from './errors.js';
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

/**
 * Append-only JSONL; each line is written whole with one syscall so a crash never leaves half a line.
 *
 * The trail is a requirement, not a nicety: once a line cannot be written (disk full, I/O error, the file made
 * unwritable mid-run), `ready()` refuses every later model call of this log's run (a worker: until it is
 * restarted, or until a later line is written) instead of going on paying for calls nobody can account for. The
 * caller keeps the answer of the call whose line was lost, with that line, to write it when it is used.
 */
export class AuditLog {
  private failure: AppError | null = null;

  constructor(
    readonly file: string,
    private readonly secrets: readonly string[] = [],
  ) {}

  /** @throws AppError (E_AUDIT) naming the file and the cause, when the line could not be written. */
  append(entry: AuditEntry): void {
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      appendFileSync(this.file, redact(JSON.stringify(entry), this.secrets) + '\n');
      this.failure = null;
    } catch (err) {
      this.failure = new AppError('E_AUDIT', `the audit trail [Logging] AuditFile ${this.file} cannot be written: ${(err as Error).message}`, { cause: err });
      throw this.failure;
    }
  }

  /** @throws AppError (E_AUDIT) while the last line could not be written: no model call may be sent. */
  ready(): void {
    if (this.failure) throw this.failure;
  }
}
