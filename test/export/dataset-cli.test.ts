import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { cliArgv, repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { lifeScene, makeSceneVideo, sceneRecord } from '../helpers/scene-videos.js';

const t = tempDir('videodex-dataset-cli-');
const db = path.join(t.dir, 'videodex.db');
const out = path.join(t.dir, 'ds');

beforeAll(async () => {
  const store = new SqliteStore(db);
  await store.migrate();
  for (const [i, label] of ['run', 'run', 'sit'].entries()) {
    const file = path.join(t.dir, `v${i}.mp4`);
    await makeSceneVideo(file, [lifeScene(30, i * 7 + 1), lifeScene(30, i * 7 + 2)]);
    await store.upsert(sceneRecord(file, [30, 30], { categories: [{ name: label, source: 'rule' }], tags: [{ name: `action/${label}`, source: 'ai' }] }));
  }
  await store.close();
});
afterAll(() => t.cleanup());

describe('videodex dataset', () => {
  it('builds from a query with flags, prints a summary, and stats reports no leakage', async () => {
    const r = await runCli(['dataset', 'build', '--db', db, '-o', out, '--labels', 'tag:action/', '--min-clip', '0.5s', '--split', '0.5,0.5,0', '--format', 'mmaction,webdataset', '--short-side', '32', '--json', '-q']);
    expect(r.stderr).toMatch(/dataset .*ds: 6 clips from 3 videos \(train \d, val \d, test 0\), 2 classes; 6 encoded/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.clips).toBe(6);
    expect(readFileSync(path.join(out, 'label_map.txt'), 'utf8')).toBe('run\nsit\n');
    expect(existsSync(path.join(out, 'webdataset/train/shard-000000.tar'))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(out, 'dataset.json'), 'utf8'));
    expect(manifest.query).toEqual({});

    const s = await runCli(['dataset', 'stats', out]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/6 clips from 3 videos, 2 classes/);
    expect(s.stdout).toMatch(/leakage: 0 videos and 0 source videos in more than one split.*\(ok\)/);
  });

  it('refuses other split ratios or seed into a built dataset (exit 3, one line) unless --resplit is given', async () => {
    const base = ['dataset', 'build', '--db', db, '-o', out, '--labels', 'tag:action/', '--min-clip', '0.5s', '--format', 'mmaction,webdataset', '--short-side', '32', '-q'];
    const manifest = readFileSync(path.join(out, 'dataset.json'), 'utf8');
    const refused = await runCli([...base, '--split', '0.5,0.5,0', '--seed', '4']);
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^videodex: dataset build: .*ds was split with --split 0\.5,0\.5,0 --seed 0, this build asks --split 0\.5,0\.5,0 --seed 4: .*add --resplit/);
    expect(readFileSync(path.join(out, 'dataset.json'), 'utf8')).toBe(manifest);
    const same = await runCli([...base, '--split', '0.5,0.5,0']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/splits kept from the build of \S+: 3 source videos kept their split, 0 moved, 0 new, 0 left/);
    const again = await runCli([...base, '--split', '0.5,0.5,0', '--seed', '4', '--resplit']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/splits made again \(--resplit\) over the build of \S+: \d source videos kept their split, \d moved, 0 new, 0 left/);
    const s = await runCli(['dataset', 'stats', out]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^splits made again \(--resplit\) over the build of /m);
    expect(JSON.parse(readFileSync(path.join(out, 'dataset.json'), 'utf8')).options).not.toHaveProperty('resplit');
  });

  it('exits non-zero with one line for a bad flag or an empty label source', async () => {
    const bad = await runCli(['dataset', 'build', '--db', db, '-o', path.join(t.dir, 'x'), '--clip', 'window:zz']);
    expect(bad.code).toBe(3);
    expect(bad.stderr.trim()).toMatch(/^videodex: --clip window length "zz" is not a duration/);
    const empty = await runCli(['dataset', 'build', '--db', db, '-o', path.join(t.dir, 'y'), '--labels', 'action', '-q']);
    // nothing to build from what was asked is a failure of the request (1), not of videodex (4)
    expect(empty.code).toBe(1);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/no clips to build .*no label from action/);
    const missing = await runCli(['dataset', 'stats', path.join(t.dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no dataset\.json/);
  });
});

describe('labels that would share a class folder', () => {
  it('stop the build with exit 1 and one line naming both, before any clip is cut', async () => {
    const clashDb = path.join(t.dir, 'clash.db');
    const store = new SqliteStore(clashDb);
    await store.migrate();
    for (const [i, label] of ['High Jump', 'high_jump'].entries()) {
      await store.upsert(sceneRecord(path.join(t.dir, `v${i}.mp4`), [30, 30], { id: `c1a5000000000${i}00`, categories: [{ name: label, source: 'rule' }] }));
    }
    await store.close();
    const clashOut = path.join(t.dir, 'ds-clash');
    const r = await runCli(['dataset', 'build', '--db', clashDb, '-o', clashOut, '--labels', 'category', '--min-clip', '0.5s', '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^videodex: dataset: labels "High Jump" \(v0\.mp4\) and "high_jump" \(v1\.mp4\) would share the class folder "High_Jump"/);
    expect(existsSync(clashOut)).toBe(false);
  });
});

describe('a video whose file is gone', () => {
  it('fails its clips with one line naming it and the cause, builds the rest, and exits 1', async () => {
    const goneDb = path.join(t.dir, 'gone.db');
    const store = new SqliteStore(goneDb);
    await store.migrate();
    const file = path.join(t.dir, 'soon gone.mp4');
    await makeSceneVideo(file, [lifeScene(30, 51), lifeScene(30, 52)]);
    await store.upsert(sceneRecord(file, [30, 30], { categories: [{ name: 'run', source: 'rule' }] }));
    await store.upsert(sceneRecord(path.join(t.dir, 'v2.mp4'), [30, 30], { categories: [{ name: 'sit', source: 'rule' }] }));
    await store.close();
    rmSync(file);
    const r = await runCli(['dataset', 'build', '--db', goneDb, '-o', path.join(t.dir, 'ds-gone'), '--min-clip', '0.5s', '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/: 2 clips from 1 videos/);
    const lines = r.stderr.split('\n').filter((l) => l.includes('soon gone'));
    expect(lines).toEqual([`videodex: soon gone.mp4: 2 clips: file not found: ${file} (moved or deleted since it was processed)`]);
  });
});

describe('a dataset whose every clip failed', () => {
  it('makes stats say it has no clips and exit 1, as for no dataset', async () => {
    const failDb = path.join(t.dir, 'all-fail.db');
    const store = new SqliteStore(failDb);
    await store.migrate();
    const file = path.join(t.dir, 'gone too.mp4');
    await makeSceneVideo(file, [lifeScene(30, 61), lifeScene(30, 62)]);
    await store.upsert(sceneRecord(file, [30, 30], { categories: [{ name: 'run', source: 'rule' }] }));
    await store.close();
    rmSync(file);
    const dsOut = path.join(t.dir, 'ds-all-failed');
    const build = await runCli(['dataset', 'build', '--db', failDb, '-o', dsOut, '--min-clip', '0.5s', '-q']);
    expect(build.code).toBe(1);
    expect(existsSync(path.join(dsOut, 'dataset.json'))).toBe(true);
    for (const json of [[], ['--json']]) {
      const s = await runCli(['dataset', 'stats', dsOut, ...json]);
      expect(s.code, s.stderr).toBe(1);
      expect(s.stderr).toBe(`videodex: dataset: ${dsOut} has no clips: all 2 failed at build (see "failed" in dataset.json)\n`);
    }
  });
});

describe('Ctrl-C during dataset build', () => {
  it('stops, keeps the finished clips, says so, exits 130, and the same command goes on from there', async () => {
    const longDb = path.join(t.dir, 'long.db');
    const store = new SqliteStore(longDb);
    await store.migrate();
    const file = path.join(t.dir, 'long.mp4');
    await makeSceneVideo(file, [lifeScene(1500, 99)]);
    await store.upsert(sceneRecord(file, [1500], { categories: [{ name: 'run', source: 'rule' }] }));
    await store.close();
    const dsOut = path.join(t.dir, 'ds-stop');
    const args = ['dataset', 'build', '--db', longDb, '-o', dsOut, '--clip', 'window:1s:1s', '--copy', '--no-dedup', '--concurrency', '1', '-q'];
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VIDEODEX_')) delete env[k];
    const child = spawn(process.execPath, cliArgv(args), { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const clips = () => (existsSync(path.join(dsOut, 'train', 'run')) ? readdirSync(path.join(dsOut, 'train', 'run')).filter((f) => f.endsWith('.mp4')).length : 0);
    for (const started = Date.now(); clips() < 3; ) {
      if (Date.now() - started > 60_000) throw new Error(`no clip was cut: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // as a terminal does: to the whole process group
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toContain('videodex: dataset build stopped by Ctrl-C; finished clips are kept, and the same command goes on from there');
    expect(stderr).not.toMatch(/ffmpeg aborted/);
    const again = await runCli([...args.filter((a) => a !== '-q'), '--json', '-q']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).reused).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
