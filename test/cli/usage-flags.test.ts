import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, expectConfigError } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

// `videodex usage --since/--until`: a day the calendar lacks, or a window that ends before it starts, is an error.
const t = tempDir('videodex-usage-flags-');
const audit = path.join(t.dir, 'audit.jsonl');
const data = path.join(t.dir, 'data');

beforeAll(() => {
  const e = (at: string, model: string) =>
    JSON.stringify({ at, videoId: 'v', provider: 'openai', endpoint: 'h', model, template: 't', templateHash: 'x', frames: 4, estimatedTokens: 100, promptTokens: 90, completionTokens: 10, latencyMs: 50, status: 'ok', retries: 0 });
  writeFileSync(audit, [e('2024-02-28T10:00:00Z', 'a'), e('2024-02-29T10:00:00Z', 'a'), e('2024-03-01T10:00:00Z', 'b'), ''].join('\n'));
});
afterAll(() => t.cleanup());

const usage = (...flags: string[]) => runCliInProcess('usage', '--audit-file', audit, '--data-dir', data, ...flags);

describe('videodex usage --since / --until', () => {
  it('an impossible day is an error naming the flag and the value (exit 3), like a malformed one', async () => {
    const r = await usage('--since', '2024-99-99', '--until', '2020-01-01');
    await expectConfigError(r, '--since 2024-99-99: no such day (expected a day as YYYY-MM-DD)');
    const feb29 = await usage('--until', '2023-02-29');
    expect(feb29.code).toBe(3);
    expect(feb29.stderr).toBe('videodex: --until 2023-02-29: no such day (expected a day as YYYY-MM-DD)\n');
    const malformed = await usage('--since', '2024-6-1');
    expect(malformed.code).toBe(3);
    expect(malformed.stderr).toBe('videodex: --since 2024-6-1: expected a day as YYYY-MM-DD\n');
  });

  it('--since after --until is an error naming both (exit 3); real days, a leap day included, still select', async () => {
    const r = await usage('--since', '2024-03-01', '--until', '2024-02-28');
    await expectConfigError(r, '--since 2024-03-01 is after --until 2024-02-28: no day can match');
    const leap = await usage('--since', '2024-02-29', '--until', '2024-02-29', '--json');
    expect(leap.code, leap.stderr).toBe(0);
    const report = JSON.parse(leap.stdout) as { rows: Array<{ day: string; model: string; requests: number }> };
    expect(report.rows).toEqual([expect.objectContaining({ day: '2024-02-29', model: 'a', requests: 1 })]);
    const window = await usage('--since', '2024-02-29', '--until', '2024-03-01', '--by', 'model', '--json');
    expect(window.code, window.stderr).toBe(0);
    expect((JSON.parse(window.stdout) as { total: { requests: number } }).total.requests).toBe(2);
  });

  it('a window with no calls says which window, not that the trail has none; a missing --audit-file is an error (exit 3)', async () => {
    // both printed "no model calls recorded in <file>", for a trail that had calls and for a mistyped file
    const before = await usage('--until', '2020-01-01');
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toBe(`no model calls recorded in ${audit} up to 2020-01-01\n`);
    const after = await usage('--since', '2025-01-01');
    expect(after.stdout).toBe(`no model calls recorded in ${audit} from 2025-01-01 on\n`);
    const typo = path.join(t.dir, 'audti.jsonl');
    const r = await runCliInProcess('usage', '--audit-file', typo, '--data-dir', data);
    await expectConfigError(r, `--audit-file ${typo}: no such file`);
    const folder = await runCliInProcess('usage', '--audit-file', t.dir, '--data-dir', data);
    await expectConfigError(folder, `--audit-file ${t.dir} is a folder, not the audit file`);
    // the default trail not made yet (no model call so far) stays an empty one
    const fresh = await runCliInProcess('usage', '--data-dir', data);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toBe(`no model calls recorded in ${path.join(data, 'audit.jsonl')}\n`);
  });
});
