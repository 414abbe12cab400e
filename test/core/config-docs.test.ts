import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { readIni } from '../../src/core/config/read-ini.js';
import { exampleIni, withTable } from '../../scripts/gen-config-docs.js';
import { repoRoot } from '../helpers/cli.js';

describe('config docs', () => {
  it('config.example.ini and the README key table match the schema (run npx tsx scripts/gen-config-docs.ts)', () => {
    expect(readFileSync(path.join(repoRoot, 'config.example.ini'), 'utf8')).toBe(exampleIni());
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toBe(withTable(readme));
  });

  it('config.example.ini, uncommented, is a valid config with the defaults', () => {
    const text = exampleIni().split('\n').map((l) => (/^;[A-Za-z]+ = /.test(l) ? l.slice(1) : l)).join('\n');
    const parsed = readIni(text, 'config.example.ini');
    expect(Object.keys(parsed)).toContain('QwenVL');
    const dir = mkdtempSync(path.join(tmpdir(), 'vdx-ini-'));
    writeFileSync(path.join(dir, 'config.ini'), text);
    const loaded = loadConfig({ cwd: dir, env: {} });
    expect(loaded.config.Concurrency.Cpu).toBe(2);
    expect(loaded.sources['Concurrency.Cpu']).toBe('file');
  });

  it("the README key table shows a secret key's default when it has one (the local Redis), masked only what is set", () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain('| `[Queue] RedisUrl` | `redis://127.0.0.1:6379` |');
    expect(readme).toContain('| `[QwenVL] AccessKey` | (empty) |');
  });
});
