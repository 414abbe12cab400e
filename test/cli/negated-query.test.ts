import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

// The query language negates with a leading minus (`-tag:silent`, `-night`, docs/search.md). Commands that take
// the query as positional words refused such a word as an unknown option (exit 2), and the way around it, `--`,
// turned every later flag into a query word too. A `-word` that is no option of the command is a query word.

const t = tempDir('videodex-negated-query-');
const data = path.join(t.dir, 'data');
const v = path.join(t.dir, 'v');

beforeAll(async () => {
  mkdirSync(v);
  // different sizes, so no two are the same video; the file names give the words beach, day, night, lake
  await makeTestVideo(path.join(v, 'beach_day.mp4'), { seconds: 1, width: 160, height: 120, audio: true }); // has-audio
  await makeTestVideo(path.join(v, 'beach_night.mp4'), { seconds: 1, width: 176, height: 144 }); // silent
  await makeTestVideo(path.join(v, 'lake_day.mp4'), { seconds: 1, width: 192, height: 144 }); // silent
  const r = await runCli(['process', v, '--data-dir', data, '-q']);
  expect(r.code, r.stderr).toBe(0);
}, 180_000);
afterAll(() => t.cleanup());

interface Hit { video: { source: { url: string } } }
const names = (urls: string[]) => urls.map((u) => path.basename(u)).sort();
const searchNames = (stdout: string) => names((JSON.parse(stdout) as { hits: Hit[] }).hits.map((h) => h.video.source.url));
const exportNames = (jsonl: string) => names(jsonl.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as Hit['video']).source.url));

describe('search: -word and -field:value are query words, flags around them still apply', () => {
  it('the library has the three videos', async () => {
    const r = await runCliInProcess('search', '--data-dir', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4', 'beach_night.mp4', 'lake_day.mp4']);
  });

  it('beach -tag:silent --data-dir d --json', async () => {
    const r = await runCliInProcess('search', 'beach', '-tag:silent', '--data-dir', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4']);
  });

  it('a negated word first, flags before and between the words', async () => {
    const r = await runCliInProcess('search', '--json', '-night', '--data-dir', data, 'day');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4', 'lake_day.mp4']);
  });

  it('the words keep their order: -lake OR night', async () => {
    const r = await runCliInProcess('search', '-lake', 'OR', 'night', '--data-dir', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    // (-lake) OR night: everything but lake_day, and beach_night
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4', 'beach_night.mp4']);
  });

  it('a filter flag with a value next to a negated word', async () => {
    const r = await runCliInProcess('search', '-tag:has-audio', '--min-height', '140', '--data-dir', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_night.mp4', 'lake_day.mp4']);
  });

  it('a negative number is still the value of the option before it', async () => {
    const r = await runCliInProcess('search', '-night', '--min-width', '-1', '--data-dir', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4', 'lake_day.mp4']);
  });

  it('a negated word that starts like the program flag -V is a query word, not a request for the version', async () => {
    const r = await runCliInProcess('search', '-Vlog', '--data-dir', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4', 'beach_night.mp4', 'lake_day.mp4']);
    // before the command name it still is
    const v = await runCliInProcess('-V');
    expect([v.code, v.stdout.trim()]).toEqual([0, '0.1.0']);
  });

  it('as a separate process too', async () => {
    const r = await runCli(['search', 'beach', '-tag:silent', '--data-dir', data, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4']);
  });
});

describe('export and remove take negated query words', () => {
  it('export -tag:silent -o file: the known short flag -o still names the file', async () => {
    const file = path.join(t.dir, 'silent-less.jsonl');
    const r = await runCliInProcess('export', '-tag:silent', '-o', file, '--format', 'jsonl', '--data-dir', data);
    expect(r.code, r.stderr).toBe(0);
    expect(exportNames(readFileSync(file, 'utf8'))).toEqual(['beach_day.mp4']);
  });

  it('export day -beach to stdout', async () => {
    const r = await runCliInProcess('export', 'day', '-beach', '--data-dir', data, '--format', 'jsonl');
    expect(r.code, r.stderr).toBe(0);
    expect(exportNames(r.stdout)).toEqual(['lake_day.mp4']);
  });

  it('remove beach -tag:has-audio --dry-run lists only the silent beach video and removes nothing', async () => {
    const r = await runCliInProcess('remove', 'beach', '-tag:has-audio', '--dry-run', '--json', '--data-dir', data);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { dryRun: boolean; removed: Array<{ path: string }> };
    expect(summary.dryRun).toBe(true);
    expect(names(summary.removed.map((x) => x.path))).toEqual(['beach_night.mp4']);
    const after = await runCliInProcess('search', '--data-dir', data, '--json');
    expect(searchNames(after.stdout)).toHaveLength(3);
  });

  it('retag -night --dry-run --json runs (counts the two day videos)', async () => {
    const r = await runCliInProcess('retag', '-night', '--dry-run', '--json', '--data-dir', data);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\d/);
  });

  it('tags -tag:silent --json counts only the matching video', async () => {
    const r = await runCliInProcess('tags', '-tag:silent', '--json', '--data-dir', data);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('has-audio');
    expect(r.stdout).not.toContain('"silent"');
  });

  it('dataset build: a negated word beside the short flags -o and -q and a negative option value, which is still checked', async () => {
    const out = path.join(t.dir, 'dataset-out');
    const r = await runCliInProcess('dataset', 'build', 'beach', '-tag:silent', '--data-dir', data, '-o', out, '-q', '--target-fps', '-5');
    expect(r.stderr.trim()).toBe('videodex: --target-fps "-5" is not allowed: expected a number from 0 to 240, as for [Dataset] Fps');
    expect(r.code).toBe(3);
    expect(existsSync(path.join(out, 'dataset.json'))).toBe(false);
  });
});

describe('what stays as it was', () => {
  it('a known short flag keeps its meaning: -h prints help', async () => {
    const r = await runCliInProcess('search', '-tag:silent', '-h');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: videodex search');
  });

  it('an unknown --long flag is still a usage error, beside a negated word or not', async () => {
    for (const args of [['search', '--bogus', '--data-dir', data], ['search', '-tag:silent', '--bogus', '--data-dir', data], ['export', '--bogus=1', '-night', '--data-dir', data]]) {
      const r = await runCliInProcess(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/unknown option '--bogus/);
    }
  });

  it('-- still makes the rest positional', async () => {
    const r = await runCliInProcess('search', '--data-dir', data, '--json', '--', '-tag:silent', 'beach');
    expect(r.code, r.stderr).toBe(0);
    expect(searchNames(r.stdout)).toEqual(['beach_day.mp4']);
    // a flag after -- is a query word, as before: here an unknown query word, so no match
    const after = await runCliInProcess('search', '--data-dir', data, '--json', '--', 'beach', '--csv');
    expect(after.code, after.stderr).toBe(0);
  });

  it('a missing required --out is still reported for dataset build', async () => {
    const r = await runCliInProcess('dataset', 'build', '-tag:silent', '--data-dir', data, '-q');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '-o, --out <dir>' not specified");
  });
});
