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
  const file = options.file;
  const secrets = options.secrets.filter((s) => s.length >= 4);
  // Opened on the first line: a command that stops before logging anything (a typo in --data-dir) leaves no
  // data folder with an empty log behind.
  let destination: { write(s: string): unknown } | null = null;
  const stream = {
    write(line: string): void {
      if (!destination) {
        mkdirSync(path.dirname(file), { recursive: true });
        destination = pino.destination({ dest: file, sync: true, mkdir: true });
      }
      destination.write(secrets.length === 0 ? line : redact(line, secrets));
    },
  };
  return pino({ level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/** Replaces every occurrence of every secret with ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && out.includes(s)) out = out.split(s).join('***');
  return out;
}
