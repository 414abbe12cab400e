import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { runCli } from '../helpers/cli.js';
import { serveBytes, startTestServer } from '../helpers/http-server.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';
import { runTool } from '../../src/core/index.js';

const t = tempDir();
const lib = path.join(t.dir, 'library');
const data = path.join(t.dir, 'data');
let http: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  mkdirSync(path.join(lib, 'beach'), { recursive: true });
  await makeTestVideo(path.join(lib, 'beach/surfDay_2024.mp4'), { seconds: 2, width: 640, height: 360, audio: true, extra: ['-metadata', 'title=Surfing the big waves'] });
  await makeTestVideo(path.join(lib, 'office.mp4'), { seconds: 1, width: 320, height: 240 });
  await makeTestVideo(path.join(t.dir, 'remote.mp4'), { seconds: 1, width: 1280, height: 720, source: 'smptebars' });
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', path.join(t.dir, 'song.m4a')]);
  const whole = readFileSync(path.join(lib, 'office.mp4'));
  writeFileSync(path.join(t.dir, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
  writeFileSync(path.join(t.dir, 'zero.mp4'), '');
  writeFileSync(path.join(t.dir, 'text.mp4'), 'plain text pretending\n');
  const remote = readFileSync(path.join(t.dir, 'remote.mp4'));
  http = await startTestServer({ '/remote.mp4': (req, res) => serveBytes(res, req, remote) });
});
afterAll(async () => {
  await http?.close();
  t.cleanup();
});

const dataArgs = () => ['--data-dir', data];
const show = async (id: string) => JSON.parse((await runCli(['show', id, ...dataArgs()])).stdout) as import('../../src/core/index.js').Video;

describe('videodex process, end to end', () => {
  let results: Array<{ input: string; videoId: string | null; status: string }>;
  let first: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    first = await runCli([
      'process', lib, path.join(t.dir, 'truncated.mp4'), path.join(t.dir, 'zero.mp4'), path.join(t.dir, 'text.mp4'), path.join(t.dir, 'song.m4a'),
      path.join(t.dir, 'does-not-exist.mp4'), `${http.base}/remote.mp4`, `${http.base}/missing.mp4`, '--json', ...dataArgs(),
    ]);
    results = first.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'result');
  });

  it('processes the good inputs and exits 1 because some failed', () => {
    expect(first.code).toBe(1);
    const done = results.filter((r) => r.status === 'done').map((r) => path.basename(r.input));
    expect(done.sort()).toEqual(['office.mp4', 'remote.mp4', 'surfDay_2024.mp4']);
  });

  it('gives one clear line per bad input, naming it and the cause', () => {
    const lines = first.stderr.split('\n');
    const lineFor = (name: string) => lines.filter((l) => l.startsWith('videodex: ') && l.includes(name));
    expect(lineFor('zero.mp4')).toEqual([expect.stringMatching(/zero\.mp4: acquire: empty file \(0 bytes\)$/)]);
    expect(lineFor('truncated.mp4')).toEqual([expect.stringMatching(/truncated\.mp4: probe: (not a readable video|video has no duration)/)]);
    expect(lineFor('text.mp4')).toEqual([expect.stringMatching(/text\.mp4: probe: not a readable video/)]);
    expect(lineFor('song.m4a')).toEqual([expect.stringMatching(/song\.m4a: probe: no video stream \(only audio\)$/)]);
    expect(lineFor('does-not-exist.mp4')).toEqual([expect.stringMatching(/does-not-exist\.mp4: no such file or folder$/)]);
    expect(lineFor('missing.mp4')).toEqual([expect.stringMatching(/missing\.mp4: acquire: HTTP 404/)]);
    expect(readdirSync(path.join(data, 'media')).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('stores whole records: metadata, sources, stage entries', async () => {
    const surf = results.find((r) => r.input.endsWith('surfDay_2024.mp4'))!;
    const v = await show(surf.videoId!);
    expect(v.metadata).toMatchObject({ width: 640, height: 360, videoCodec: 'h264', audio: { codec: 'aac' } });
    expect(v.source.kind).toBe('local');
    expect(v.file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.id).toBe(v.file.sha256.slice(0, 16));
    expect(Object.keys(v.stages)).toEqual(expect.arrayContaining(['acquire', 'probe', 'index']));
    const remote = await show(results.find((r) => r.input.endsWith('/remote.mp4'))!.videoId!);
    expect(remote.source).toMatchObject({ kind: 'http', url: `${http.base}/remote.mp4` });
    expect(remote.file.path.startsWith(path.join(data, 'media'))).toBe(true);
    const failed = await show(results.find((r) => r.input.endsWith('song.m4a'))!.videoId!);
    expect(failed.stages.probe).toMatchObject({ status: 'failed', errorCode: 'E_MEDIA' });
  });

  it('re-runs nothing the second time (asserted from stage entries)', async () => {
    const id = results.find((r) => r.input.endsWith('office.mp4'))!.videoId!;
    const before = await show(id);
    const again = await runCli(['process', lib, `${http.base}/remote.mp4`, '--json', ...dataArgs()]);
    expect(again.code).toBe(0);
    const statuses = again.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'result').map((r) => r.status);
    expect(statuses).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const after = await show(id);
    expect(after.stages).toEqual(before.stages);
    expect(http.hitsOf('/remote.mp4')).toHaveLength(1);
  });

  it('searches by text, filters and JSON; shows by path; exports JSON, JSONL and CSV', async () => {
    const text = JSON.parse((await runCli(['search', 'surfing', '--json', ...dataArgs()])).stdout);
    expect(text.total).toBe(1);
    expect(text.hits[0].video.metadata.width).toBe(640);
    const filtered = JSON.parse((await runCli(['search', '--min-height', '700', '--json', ...dataArgs()])).stdout);
    expect(filtered.hits.map((h: { video: { source: { kind: string } } }) => h.video.source.kind)).toEqual(['http']);
    const table = await runCli(['search', '--duration', '..1.5', ...dataArgs()]);
    expect(table.stdout).toMatch(/office\.mp4/);
    expect(table.stdout).not.toMatch(/surfDay/);
    const byPath = await runCli(['show', path.join(lib, 'office.mp4'), ...dataArgs()]);
    expect(JSON.parse(byPath.stdout).metadata.width).toBe(320);

    const csvFile = path.join(t.dir, 'out/all.csv');
    const csv = await runCli(['export', '--format', 'csv', '--out', csvFile, ...dataArgs()]);
    expect(csv.code).toBe(0);
    const rows = parse(readFileSync(csvFile, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(rows.length).toBe(6); // 3 good + 3 with a failed probe
    expect(rows.find((r) => r.path?.endsWith('surfDay_2024.mp4'))).toMatchObject({ width: '640', audio_codec: 'aac', failed_stages: '' });
    expect(rows.find((r) => r.path?.endsWith('song.m4a'))!.failed_stages).toBe('probe');
    const jsonl = await runCli(['export', '--format', 'jsonl', '--codec', 'h264', ...dataArgs()]);
    expect(jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toHaveLength(3);
    const json = JSON.parse((await runCli(['export', '--format', 'json', '--failed', ...dataArgs()])).stdout);
    expect(json).toHaveLength(3);
  });

  it('retries only what failed with --retry-failed', async () => {
    const r = await runCli(['process', path.join(t.dir, 'zero.mp4'), path.join(lib, 'office.mp4'), '--retry-failed', '--json', ...dataArgs()]);
    const statuses = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result').map((x) => [path.basename(x.input), x.status]);
    expect(statuses).toEqual([['zero.mp4', 'failed'], ['office.mp4', 'unchanged']]);
  });

  it('--dry-run says what would run and runs nothing', async () => {
    const fresh = path.join(t.dir, 'dry');
    const r = await runCli(['process', lib, '--dry-run', '--data-dir', fresh]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/surfDay_2024\.mp4: would run acquire read/);
    // no library is made (see dry-run.test.ts)
    const search = await runCli(['search', '--json', '--data-dir', fresh]);
    expect(search.code).toBe(3);
    expect(search.stderr).toMatch(/no library at/);
  });
});

describe('videodex bad configuration and tools', () => {
  it('stops before any work on a bad config with one line and exit 3', async () => {
    const dir = path.join(t.dir, 'badcfg');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.ini'), '[Concurrency]\nCpu = -1\n');
    const r = await runCli(['process', lib, '--data-dir', path.join(dir, 'data')], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe('videodex: config.ini: [Concurrency] Cpu = "-1" is not allowed: expected an integer from 1 to 256');
    expect(() => readdirSync(path.join(dir, 'data'))).toThrow();
  });

  it('rejects an unknown --force stage and a bad flag value as usage errors', async () => {
    const r = await runCli(['process', lib, '--force', 'nosuch', ...dataArgs()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--force nosuch: no such stage/);
    const r2 = await runCli(['process', lib, '--concurrency-cpu', '-3', ...dataArgs()]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/expected a whole number >= 1/);
  });

  it('says clearly when a configured ffprobe does not exist, before any work', async () => {
    const r = await runCli(['process', lib, '--data-dir', path.join(t.dir, 'noprobe')], { env: { ...process.env, VIDEODEX_PATHS_FFPROBE: '/nonexistent/ffprobe' } });
    expect(r.code).toBe(4);
    expect(r.stderr.trim()).toMatch(/^videodex: ffprobe not found at \/nonexistent\/ffprobe \(from config\); install it: apt-get install -y ffmpeg/);
    // nothing ran, and no empty library is left in the new data folder
    expect(existsSync(path.join(t.dir, 'noprobe')), 'data folder made').toBe(false);
  });

  it('falls back to the npm-bundled ffprobe when none is on PATH, and doctor says so', async () => {
    const bin = path.join(t.dir, 'only-node');
    mkdirSync(bin, { recursive: true });
    const env = { ...process.env, PATH: bin };
    const r = await runCli(['process', path.join(lib, 'office.mp4'), '--data-dir', path.join(t.dir, 'bundled')], { env });
    expect(r.stderr).toMatch(/1 processed/);
    const doc = await runCli(['doctor', '--json', '--data-dir', path.join(t.dir, 'bundled')], { env });
    const checks = JSON.parse(doc.stdout).checks as Array<{ what: string; detail: string }>;
    expect(checks.find((c) => c.what === 'ffprobe')!.detail).toMatch(/\(bundled: .*@ffprobe-installer/);
    expect(checks.find((c) => c.what === 'ffmpeg')!.detail).toMatch(/bundled.*old 2018 build/);
  });

  it('config prints every key with its source, secrets masked', async () => {
    const r = await runCli(['config', '--json', ...dataArgs()], { env: { ...process.env, VIDEODEX_QWEN_ACCESS_KEY: 'sk-canary-abcdef', VIDEODEX_CONCURRENCY_AI: '9' } });
    expect(r.stdout).not.toContain('sk-canary-abcdef');
    const keys = JSON.parse(r.stdout).keys as Array<{ section: string; key: string; value: string; source: string }>;
    expect(keys.find((k) => k.key === 'AccessKey')).toMatchObject({ value: '***', source: 'env' });
    expect(keys.find((k) => k.section === 'Concurrency' && k.key === 'Ai')).toMatchObject({ value: '9', source: 'env' });
    expect(keys.find((k) => k.key === 'DataDir')).toMatchObject({ value: data, source: 'flag' });
  });
});
