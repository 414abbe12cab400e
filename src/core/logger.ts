import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  file: string | null;
  level: string;
  secrets: readonly string[];
  /** Size at which the file is rotated (`<file>.1` is the newest old one); 0 or absent: never. */
  maxBytes?: number;
  /** Rotated files kept (`<file>.1` .. `<file>.<keep>`); default 3. */
  keep?: number;
}

/**
 * A pino logger writing JSON lines to the log file. Library code logs here and never to stdout.
 * Every secret value known to the config is scrubbed from every line, whatever field it hides in.
 * The file is rotated when a line would take it past `maxBytes`, so many runs cannot fill the disk.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (!options.file || options.level === 'silent') return pino({ level: 'silent' });
  const file = options.file;
  const secrets = options.secrets.filter((s) => s.length >= 4);
  const maxBytes = options.maxBytes ?? 0;
  const keep = Math.max(1, options.keep ?? 3);
  // Opened on the first line: a command that stops before logging anything (a typo in --data-dir) leaves no
  // data folder with an empty log behind.
  let fd: number | null = null;
  let size = 0;
  const open = () => {
    fd = openSync(file, 'a');
    size = fstatSync(fd).size;
  };
  const stream = {
    write(line: string): void {
      const text = secrets.length === 0 ? line : redact(line, secrets);
      const bytes = Buffer.byteLength(text);
      if (fd === null) {
        mkdirSync(path.dirname(file), { recursive: true });
        open();
      }
      if (maxBytes > 0 && size > 0 && size + bytes > maxBytes) {
        closeSync(fd!);
        rotate(file, keep);
        open();
      }
      // one write a line, in append mode: processes sharing the file (workers, serve) never split each other's lines
      writeSync(fd!, text);
      size += bytes;
    },
  };
  return pino({ level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/**
 * `<file>.<keep-1>` → `<file>.<keep>` ... `<file>` → `<file>.1`, the oldest dropped. Another process rotating at the
 * same moment may have moved a file first: a name that is gone is no error, and neither process loses a line
 * (each goes on appending to the file it holds, or to a new one).
 */
function rotate(file: string, keep: number): void {
  rmSync(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) tryRename(`${file}.${i}`, `${file}.${i + 1}`);
  tryRename(file, `${file}.1`);
}

function tryRename(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** RFC 3986's percent-encoding: `encodeURIComponent` leaves `!'()*`, which SDKs (and URLSearchParams) encode. */
const strictEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

/**
 * The forms a secret takes in text videodex writes or is sent back: as it is; escaped inside a JSON string (a
 * log line, the audit trail, a server's JSON answer); percent-encoded in a URL, as `encodeURIComponent`, RFC 3986
 * (the OpenAI SDK's query values) and HTML forms (`+` for a space) write it, with either case of hex digit; and
 * base64, alone (an `Authorization: Basic` header carries a password so) and after `Bearer ` (a server echoing
 * the header it got). A secret found in none of these forms is not
 * found; a shorter one than 4 characters is not looked for (it would star ordinary words).
 */
export function secretForms(secret: string): string[] {
  if (secret.length < 4) return [];
  const encoded = [encodeURIComponent(secret), strictEncode(secret), new URLSearchParams([['', secret]]).toString().slice(1)];
  const forms = [secret, JSON.stringify(secret).slice(1, -1), ...encoded, ...encoded.map(lowerHex)];
  // base64 depends on what comes before the secret: alone, and as an Authorization header carries it (a server
  // echoing `base64("Bearer <key>")` leaked the key)
  for (const text of [secret, `Bearer ${secret}`]) {
    const base64 = Buffer.from(text, 'utf8').toString('base64');
    forms.push(base64, base64.replace(/=+$/, ''), Buffer.from(text, 'utf8').toString('base64url'));
  }
  return [...new Set(forms)];
}

/** Every form of every secret, longest first (a form that holds another is starred whole); kept per list. */
const formsOf = new WeakMap<readonly string[], string[]>();
function allForms(secrets: readonly string[]): string[] {
  let forms = formsOf.get(secrets);
  if (!forms) {
    forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
    formsOf.set(secrets, forms);
  }
  return forms;
}

/** Replaces every occurrence of every secret, in any of its forms (see `secretForms`), with ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of allForms(secrets)) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}
