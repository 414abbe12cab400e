/**
 * The AppError family. Every error that reaches a person carries a stable `code`, a one-line message and,
 * where known, whether trying again could help. Retryability is decided where the error is made.
 */
export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A bad config file, environment variable or flag. Always stops the run before any work. */
export class ConfigError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('E_CONFIG', message, options);
  }
}

/** An input could not be acquired (missing file, HTTP failure, refused content). */
export class SourceError extends AppError {
  readonly status?: number;
  constructor(message: string, options: { cause?: unknown; retryable?: boolean; status?: number; code?: string } = {}) {
    super(options.code ?? 'E_SOURCE', message, options);
    if (options.status !== undefined) this.status = options.status;
  }
}

/** An external program (ffmpeg, ffprobe, yt-dlp) failed or is missing. */
export class ToolError extends AppError {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderrTail: string;
  /** The signal that killed the tool on its own (a crash such as SIGSEGV), not one videodex sent. */
  readonly signal: string | null;
  constructor(
    message: string,
    details: { command: string; args?: readonly string[]; exitCode?: number | null; stderrTail?: string; signal?: string | null },
    options: { cause?: unknown; retryable?: boolean; code?: string } = {},
  ) {
    super(options.code ?? 'E_TOOL', message, options);
    this.command = details.command;
    this.args = details.args ?? [];
    this.exitCode = details.exitCode ?? null;
    this.stderrTail = details.stderrTail ?? '';
    this.signal = details.signal ?? null;
  }
}

/** The vision-language model refused, failed or answered nonsense. */
export class ModelError extends AppError {
  readonly status?: number;
  readonly providerCode?: string;
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    options: { cause?: unknown; retryable?: boolean; status?: number; providerCode?: string; retryAfterMs?: number; code?: string } = {},
  ) {
    super(options.code ?? 'E_MODEL', message, options);
    if (options.status !== undefined) this.status = options.status;
    if (options.providerCode !== undefined) this.providerCode = options.providerCode;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** The database failed. `retryable` is true for dropped connections and serialization conflicts. */
export class StoreError extends AppError {
  constructor(message: string, options: { cause?: unknown; retryable?: boolean; code?: string } = {}) {
    super(options.code ?? 'E_STORE', message, options);
  }
}

/** The file is readable but is not a video we can work with (audio only, text, corrupt, empty). */
export class UnsupportedMediaError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('E_MEDIA', message, options);
  }
}

/** A search query that does not parse; `column` is 1-based. */
export class QueryError extends AppError {
  readonly column: number;
  constructor(message: string, column: number) {
    super('E_QUERY', message);
    this.column = column;
  }
}

/** One line for a person: the message, and the tool's stderr tail where it explains more. */
export function describeError(err: unknown): string {
  if (err instanceof ToolError && err.stderrTail && !err.message.includes(err.stderrTail)) {
    return `${err.message}: ${lastLine(err.stderrTail)}`;
  }
  if (err instanceof Error) return oneLine(err.message);
  return oneLine(String(err));
}

export function isRetryable(err: unknown): boolean {
  return err instanceof AppError && err.retryable;
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return oneLine(lines.at(-1) ?? '');
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Exit codes of the CLI, documented in the README. */
export const ExitCode = {
  Ok: 0,
  SomeFailed: 1,
  Usage: 2,
  Config: 3,
  Fatal: 4,
  /** Stopped by Ctrl-C before every input was done (128 + SIGINT, as shells report it). */
  Interrupted: 130,
} as const;
