import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * A pino logger writing JSON lines to the log file. Library code logs here and never to stdout.
 * Every secret value known to the config is scrubbed from every line, whatever field it hides in.
 */
export function createLogger(options: { file: string | null; level: string; secrets: readonly string[] }): Logger {
  if (!options.file || options.level === 'silent') return pino({ level: 'silent' });
  mkdirSync(path.dirname(options.file), { recursive: true });
  const destination = pino.destination({ dest: options.file, sync: true, mkdir: true });
  const secrets = options.secrets.filter((s) => s.length >= 4);
  const scrubbed = secrets.length === 0 ? destination : scrubbingStream(destination, secrets);
  return pino({ level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, scrubbed);
}

function scrubbingStream(dest: { write(s: string): unknown }, secrets: readonly string[]): { write(s: string): void } {
  return { write: (line: string) => void dest.write(redact(line, secrets)) };
}

/** Replaces every occurrence of every secret with ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && out.includes(s)) out = out.split(s).join('***');
  return out;
}
