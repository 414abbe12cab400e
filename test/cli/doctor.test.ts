import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
});
