import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { locateTool } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir('videodex-doctor-');
afterAll(() => t.cleanup());

type Check = { what: string; ok: boolean; detail: string };
const checksOf = (stdout: string) => JSON.parse(stdout).checks as Check[];

describe('videodex doctor', () => {
  it('checks a data folder that is not there yet without making it, or an empty library in it', async () => {
    const dir = path.join(t.dir, 'typo', 'data');
    const r = await runCli(['doctor', '--json', '--data-dir', dir]);
    const checks = checksOf(r.stdout);
    expect(checks.find((c) => c.what === 'data folder')).toMatchObject({ ok: true, detail: `${dir} (not there yet: the first process run makes it, in ${t.dir})` });
    expect(checks.find((c) => c.what === 'database')).toMatchObject({ ok: true, detail: `sqlite (${path.join(dir, 'videodex.db')}): no library there yet; videodex process <folder> makes it` });
    expect(existsSync(path.join(t.dir, 'typo'))).toBe(false);
  });

  it('names what the filters an old ffmpeg lacks are for, and promises no message it never gives', async () => {
    const config = path.join(t.dir, 'bundled.ini');
    writeFileSync(config, `[Paths]\nDataDir = ${path.join(t.dir, 'bundled-data')}\nFfmpeg = ${locateTool('ffmpeg', '', '').path}\n`);
    const r = await runCli(['doctor', '--json', '--config', config]);
    const filters = checksOf(r.stdout).find((c) => c.what === 'ffmpeg filters');
    expect(filters?.detail).toMatch(/^this ffmpeg lacks xfade \(scripts\/make-scene-testset\.ts dissolves\), scdet \(the benchmark's scdet row, skipped without it\); videodex's own stages do not need them$/);
  });
});
