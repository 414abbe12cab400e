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
