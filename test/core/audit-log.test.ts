import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../src/core/index.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir('videodex-audit-log-');
afterAll(() => t.cleanup());

const entry = (videoId: string): AuditEntry => ({
  at: new Date().toISOString(), videoId, provider: 'openai', endpoint: 'h/v1', model: 'm', template: 'default', templateHash: 'x',
  frames: 1, estimatedTokens: 10, latencyMs: 1, status: 'ok', retries: 0,
});

describe('AuditLog after a line could not be written', () => {
  it('refuses calls while the trail still cannot be written, and lets them go once it can, without a restart or a line of its own', async () => {
    const dir = path.join(t.dir, 'trail');
    const file = path.join(dir, 'audit.jsonl');
    const log = new AuditLog(file, [], { retryEveryMs: 40 });
    log.append(entry('a'));
    // the folder goes (a file in its place): every write and the check fail alike
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a folder');
    expect(() => log.append(entry('b'))).toThrow(/audit trail \[Logging\] AuditFile .*audit\.jsonl cannot be written: E(NOTDIR|EXIST)/);
    expect(() => log.ready()).toThrow(/cannot be written/);
    await delay(60);
    // checked again and still broken: refused, and checked again only after another interval
    expect(() => log.ready()).toThrow(/cannot be written/);
    rmSync(dir);
    mkdirSync(dir);
    writeFileSync(file, JSON.stringify(entry('a')) + '\n');
    expect(() => log.ready()).toThrow(/cannot be written/);
    await delay(60);
    expect(() => log.ready()).not.toThrow();
    log.append(entry('c'));
    // the check left nothing: no probe file, no blank or foreign line in the trail
    expect(readdirSync(dir)).toEqual(['audit.jsonl']);
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AuditEntry).videoId)).toEqual(['a', 'c']);
  });

  it('a file that takes no write while it opens (a full device) passes the check: the next line fails again, and calls stop again', async () => {
    const dir = path.join(t.dir, 'device');
    mkdirSync(dir);
    const file = path.join(dir, 'audit.jsonl');
    symlinkSync('/dev/full', file);
    const log = new AuditLog(file, [], { retryEveryMs: 0 });
    expect(() => log.append(entry('a'))).toThrow(/ENOSPC/);
    expect(() => log.ready()).not.toThrow();
    expect(() => log.append(entry('b'))).toThrow(/ENOSPC/);
    const strict = new AuditLog(file, [], { retryEveryMs: 60_000 });
    expect(() => strict.append(entry('a'))).toThrow(/ENOSPC/);
    expect(() => strict.ready()).toThrow(/ENOSPC/);
  });
});
