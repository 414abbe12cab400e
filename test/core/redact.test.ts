import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/core/audit-log.js';
import { createLogger, redact, secretForms } from '../../src/core/index.js';
import { urlSecrets } from '../../src/core/config/describe-config.js';
import { appFrom, scrubbed } from '../../src/cli/shared-options.js';

// Every character class that changes a secret's form somewhere: a quote and a backslash (JSON), `!'()*` (RFC 3986
// encoding, which the OpenAI SDK uses for query values), a space (`+` in a form), `/+=` (percent-encoded, and base64's own).
const KEY = `sk-"odd"\\key!'(x)*y z/+=9`;
const strict = encodeURIComponent(KEY).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Every form a server or a log line could carry the key in. */
const carriers = {
  raw: KEY,
  json: JSON.stringify(KEY).slice(1, -1),
  uriComponent: encodeURIComponent(KEY),
  rfc3986: strict,
  rfc3986LowerHex: strict.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  form: new URLSearchParams({ k: KEY }).toString().slice(2),
  base64: Buffer.from(KEY).toString('base64'),
  base64Unpadded: Buffer.from(KEY).toString('base64').replace(/=+$/, ''),
  base64url: Buffer.from(KEY).toString('base64url'),
  base64OfBearerHeader: Buffer.from(`Bearer ${KEY}`).toString('base64'),
};

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'vdx-redact-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  dirs.length = 0;
});

describe('redact: a secret is starred in every form it travels in', () => {
  it.each(Object.entries(carriers))('%s', (_name, form) => {
    // the forms differ from each other, so each case tests its own
    expect(form.length).toBeGreaterThan(4);
    const text = `before ${form} after`;
    expect(redact(text, [KEY])).toBe('before *** after');
  });

  it('the forms of a plain key are the key and its base64 (nothing encodes it otherwise)', () => {
    const plain = 'sk-Plain_Key-123';
    const b64 = (t: string) => [Buffer.from(t).toString('base64'), Buffer.from(t).toString('base64').replace(/=+$/, ''), Buffer.from(t).toString('base64url')];
    expect(secretForms(plain).sort()).toEqual([...new Set([plain, ...b64(plain), ...b64(`Bearer ${plain}`)])].sort());
  });

  it('does not look for a secret shorter than 4 characters (it would star ordinary words)', () => {
    expect(secretForms('abc')).toEqual([]);
    expect(redact('abc abcd', ['abc'])).toBe('abc abcd');
  });

  it('stars a form that holds another form whole, not in pieces', () => {
    // the JSON form holds the raw key's tail; starring the raw form first would leave its escaped head behind
    const text = `{"msg":"key=${carriers.json}"}`;
    const out = redact(text, [KEY]);
    expect(out).toBe('{"msg":"key=***"}');
  });

  it('a log file: the key is found when pino escapes it inside a JSON line, in a field or the message', () => {
    const file = path.join(tmp(), 'videodex.log');
    const logger = createLogger({ file, level: 'info', secrets: [KEY] });
    logger.info({ answer: `the server said ${KEY}`, url: `http://gw/v1?api-key=${carriers.rfc3986}` }, `echo ${KEY}`);
    logger.warn({ auth: `Basic ${carriers.base64}` }, 'header');
    const text = readFileSync(file, 'utf8');
    for (const [name, form] of Object.entries(carriers)) expect(text, name).not.toContain(form);
    expect(text.match(/\*\*\*/g)!.length).toBe(4);
  });

  it('the audit trail: the key escaped inside a JSON entry is starred', () => {
    const file = path.join(tmp(), 'audit.jsonl');
    new AuditLog(file, [KEY]).append({ at: 'now', videoId: 'v', provider: 'openai', endpoint: 'gw', model: 'm', template: 't', templateHash: 'h', frames: 1, estimatedTokens: 1, latencyMs: 1, status: 'error', retries: 0, error: `HTTP 401: bad key ${KEY}` });
    const line = readFileSync(file, 'utf8');
    expect(line).not.toContain(carriers.json);
    expect(JSON.parse(line).error).toBe('HTTP 401: bad key ***');
  });
});

describe('urlSecrets', () => {
  it('gives a password decoded and user:password (what a Basic authorization encodes), and credential parameters decoded', () => {
    const s = urlSecrets('http://bob:p%40ss%21word@gw:9/v1?api-key=a%21b%28c%29d&region=eu');
    expect(s).toEqual(expect.arrayContaining(['p%40ss%21word', 'p@ss!word', 'bob:p@ss!word', 'a!b(c)d']));
    expect(s).not.toContain('eu');
    // the Basic header of that URL is starred through the user:password secret
    const basic = Buffer.from('bob:p@ss!word').toString('base64');
    expect(redact(`Authorization: Basic ${basic}`, s)).toBe('Authorization: Basic ***');
  });

  it('keeps a password that is not valid percent-encoding as written instead of throwing', () => {
    expect(urlSecrets('http://u:pa%zzss@gw/v1')).toEqual(expect.arrayContaining(['pa%zzss', 'u:pa%zzss']));
  });
});

describe('the CLI scrubs what it prints with the secrets of the config it loaded', () => {
  it('a failure line quoting the key (in any form) is starred once the app is built', () => {
    const dir = tmp();
    const config = path.join(dir, 'config.ini');
    writeFileSync(config, `[Paths]\nDataDir = ${dir}/data\n[QwenVL]\nAccessKey = sk-cli-Canary-7788\n`);
    const raw = 'videodex: a.mp4: describe: HTTP 401 for key sk-cli-Canary-7788 (c2stY2xpLUNhbmFyeS03Nzg4)';
    appFrom({ config });
    expect(scrubbed(raw)).toBe('videodex: a.mp4: describe: HTTP 401 for key *** (***)');
  });
});
