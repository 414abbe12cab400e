import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_NODE_FLAGS, semiSpaceMb } from '../../src/cli/node-flags.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir();
afterAll(() => t.cleanup());

const shebang = `#!/usr/bin/env -S node ${CLI_NODE_FLAGS.join(' ')}`;

describe('the videodex launcher', () => {
  it('starts node with the flags the code names (source and build)', () => {
    expect(readFileSync(path.join(repoRoot, 'src/cli/main.ts'), 'utf8').split('\n')[0]).toBe(shebang);
    // npm ci builds dist/ (prepare); the bin users run is the built file
    const built = path.join(repoRoot, 'dist/cli/main.js');
    expect(existsSync(built), 'dist/ is built by npm ci').toBe(true);
    expect(readFileSync(built, 'utf8').split('\n')[0]).toBe(shebang);
  });

  it('run as a program (the kernel reads the shebang), doctor reports the 64 MB young generation', async () => {
    const built = path.join(repoRoot, 'dist/cli/main.js');
    // what npm does to a bin when it links or installs it
    chmodSync(built, statSync(built).mode | 0o111);
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    for (const k of Object.keys(env)) if (k.startsWith('VIDEODEX_')) delete env[k];
    const child = spawn(built, ['doctor', '--json', '--data-dir', t.dir], { cwd: t.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { checks: Array<{ what: string; detail: string; fix?: string }> };
    const node = report.checks.find((c) => c.what === 'node')!;
    expect(node.detail).toContain('64 MB semi-space');
    expect(node.fix).toBeUndefined();
  });

  it('reads the semi-space from the flags or NODE_OPTIONS, the command line winning', () => {
    expect(semiSpaceMb([], '')).toBeNull();
    expect(semiSpaceMb(['--max-semi-space-size=64'], '')).toBe(64);
    expect(semiSpaceMb([], '--inspect --max_semi_space_size=32')).toBe(32);
    expect(semiSpaceMb(['--max-semi-space-size=64'], '--max-semi-space-size=16')).toBe(64);
    expect(semiSpaceMb(['--max-old-space-size=4096'], '')).toBeNull();
  });
});
