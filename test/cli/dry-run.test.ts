import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

// README: --dry-run "run and write nothing". Checked by the data folder itself: every file's name, size, time
// and bytes before and after.

const t = tempDir('videodex-dry-run-');
const videos = path.join(t.dir, 'videos');

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out[path.relative(dir, p)] = `${s.size} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  mkdirSync(videos, { recursive: true });
  await makeTestVideo(path.join(videos, 'a.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 });
  await makeTestVideo(path.join(videos, 'b.mp4'), { seconds: 1, width: 160, height: 120, fps: 10, source: 'smptebars' });
});
afterAll(() => t.cleanup());

describe('process --dry-run writes nothing', () => {
  it('into a data folder that does not exist yet: no folder, no library, no log', async () => {
    const data = path.join(t.dir, 'fresh');
    const r = await runCli(['process', videos, '--dry-run', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/a\.mp4: would run acquire read/);
    expect(existsSync(data)).toBe(false);
    const retry = await runCli(['process', '--retry-failed', '--dry-run', '--data-dir', data]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(existsSync(data)).toBe(false);
  });

  it('into a library: not one file of the data folder changes, whatever the plan says would run', async () => {
    const data = path.join(t.dir, 'library');
    const first = await runCli(['process', path.join(videos, 'a.mp4'), '--data-dir', data]);
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(data);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['videodex.db', 'videodex.log', 'tagging-setups.json']));
    // a new video, a forced stage and a changed setting: each would write if it ran
    const r = await runCli(['process', videos, '--dry-run', '--force', 'scenes', '--scene-threshold', '20', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/b\.mp4: would run acquire read/);
    expect(r.stderr).toMatch(/a\.mp4 \([0-9a-f]+\): would run scenes/);
    expect(snapshot(data)).toEqual(before);
  });
});

describe('process --dry-run of inputs not acquired yet', () => {
  it('says describe is skipped with no endpoint, as a run says it, instead of listing it among what would run', async () => {
    const data = path.join(t.dir, 'plan-new');
    const r = await runCli(['process', path.join(videos, 'a.mp4'), '--dry-run', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('videodex: describe skipped: no model endpoint configured');
    expect(r.stderr).toMatch(/a\.mp4: would run acquire read .*a\.mp4; probe; scenes; keyframes; tag; classify; index\n/);
    const off = await runCli(['process', path.join(videos, 'a.mp4'), '--dry-run', '--data-dir', data, '--endpoint', 'http://127.0.0.1:9/v1'], {
      env: { ...process.env, VIDEODEX_SCENEDETECTION_ENABLED: 'false' },
    });
    expect(off.stderr).toContain('videodex: scenes skipped: [SceneDetection] Enabled = false');
    expect(off.stderr).toMatch(/a\.mp4: would run acquire read .*a\.mp4; probe; describe; tag; classify; index\n/);
    expect(existsSync(data)).toBe(false);
  });
});
