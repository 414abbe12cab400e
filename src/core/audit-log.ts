import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
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
 * unwritable mid-run), `ready()` refuses every later model call instead of going on paying for calls nobody can
 * account for. The caller keeps the answer of the call whose line was lost, with that line, to write it when it is
 * used. Every `retryEveryMs` a refusal first checks the trail again (see `writableAgain`) and lets calls go once it
 * passes: a worker refused every model call until it was restarted, long after the disk had room again.
 */
export class AuditLog {
  private failure: AppError | null = null;
  private failedAt = 0;
  private readonly retryEveryMs: number;

  constructor(
    readonly file: string,
    private readonly secrets: readonly string[] = [],
    options: { retryEveryMs?: number } = {},
  ) {
    this.retryEveryMs = options.retryEveryMs ?? 10_000;
  }

  /** @throws AppError (E_AUDIT) naming the file and the cause, when the line could not be written. */
  append(entry: AuditEntry): void {
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      appendFileSync(this.file, redact(JSON.stringify(entry), this.secrets) + '\n');
      this.failure = null;
    } catch (err) {
      this.failure = new AppError('E_AUDIT', `the audit trail [Logging] AuditFile ${this.file} cannot be written: ${(err as Error).message}`, { cause: err });
      this.failedAt = Date.now();
      throw this.failure;
    }
  }

  /** @throws AppError (E_AUDIT) while the last line could not be written, and the trail does not look writable again. */
  ready(): void {
    if (!this.failure) return;
    if (Date.now() - this.failedAt < this.retryEveryMs || !this.writableAgain()) {
      this.failedAt = Date.now();
      throw this.failure;
    }
    this.failure = null;
  }

  /**
   * Whether a line would be written now, told without writing one (the trail holds model calls only): the file opens
   * for appending, and a page-sized file written beside it reaches the disk (a full disk refuses it) and is removed.
   * A file that takes no writes while it opens (a device) passes; the next call's line then fails again and its
   * answer is kept, as the first one's was.
   */
  private writableAgain(): boolean {
    const probe = `${this.file}.probe-${process.pid}`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      closeSync(openSync(this.file, 'a'));
      const fd = openSync(probe, 'w');
      try {
        writeSync(fd, Buffer.alloc(4096, 0x0a));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch {
      return false;
    } finally {
      try {
        rmSync(probe, { force: true });
      } catch {
        // a folder that is not one (the very failure being checked) holds no probe
      }
    }
  }
}
