import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { serveBytes, startTestServer } from '../helpers/http-server.js';

const t = tempDir('videodex-sources-cli-');
const data = path.join(t.dir, 'data');
let server: Awaited<ReturnType<typeof startTestServer>>;
let healthy = false;
let dHealthy = false;
const env = { ...process.env, VIDEODEX_SOURCES_RETRIES: '0' };

beforeAll(async () => {
  const a = readFileSync(await makeTestVideo(path.join(t.dir, 'a.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, extra: ['-g', '10'] }));
  const b = readFileSync(await makeTestVideo(path.join(t.dir, 'b.mp4'), { seconds: 1, width: 160, height: 120, source: 'smptebars' }));
  const c = readFileSync(await makeTestVideo(path.join(t.dir, 'c.mp4'), { seconds: 1, width: 160, height: 120, source: 'color=c=blue' }));
  server = await startTestServer({
    '/a.mp4': (req, res) => serveBytes(res, req, a),
    '/b.mp4': (req, res) => (healthy ? serveBytes(res, req, b) : void res.writeHead(404).end()),
    '/c.mp4': (req, res) => (healthy ? serveBytes(res, req, c) : void res.writeHead(503).end()),
    '/d.mp4': (req, res) => (dHealthy ? serveBytes(res, req, a) : void res.writeHead(503).end()),
    '/e.mp4': (req, res) => (dHealthy ? serveBytes(res, req, a) : void res.writeHead(503).end()),
    '/f.mp4': (req, res) => (dHealthy ? serveBytes(res, req, a) : void res.writeHead(503).end()),
  });
  writeFileSync(path.join(t.dir, 'list.csv'), `url,label,start,end,split\n${server.base}/a.mp4,surfing,0,1,train\n${server.base}/b.mp4,running,,,val\n${server.base}/c.mp4,jumping,,,train\n`);
});
afterAll(async () => {
  await server?.close();
  t.cleanup();
});

describe('videodex sources status and process --retry-failed', () => {
  it('logs every list row, groups failures by cause, and retries only the failed ones', async () => {
    const first = await runCli(['process', '--input-file', path.join(t.dir, 'list.csv'), '--data-dir', data, '-q'], { env });
    expect(first.code).toBe(1);
    // a list's entry is named by its list and row first, as input problems are
    expect(first.stderr).toMatch(/videodex: list\.csv row 3: http:\/\/127\.0\.0\.1:\d+\/b\.mp4: acquire: HTTP 404 Not Found/);
    expect(first.stderr).toMatch(/videodex: list\.csv row 4: http:\/\/127\.0\.0\.1:\d+\/c\.mp4: acquire: HTTP 503 server error/);

    const status = await runCli(['sources', 'status', '--data-dir', data], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/inputs: 3 {2}done: 1 {2}failed: 2/);
    expect(status.stdout).toMatch(/E_HTTP_404 +1 {2}permanent/);
    expect(status.stdout).toMatch(/E_HTTP_5XX +1 {2}transient/);
    const json = JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', data], { env })).stdout);
    expect(json).toMatchObject({ total: 3, done: 1, failed: 2 });

    // A plain re-run does not hammer the failed items again.
    const hitsBefore = server.hits.length;
    const again = await runCli(['process', '--input-file', path.join(t.dir, 'list.csv'), '--data-dir', data, '-q'], { env });
    expect(again.code).toBe(1);
    expect(server.hits.length).toBe(hitsBefore);

    healthy = true;
    const retry = await runCli(['process', '--retry-failed', '--data-dir', data, '--json', '-q'], { env });
    expect(retry.code).toBe(0);
    const results = retry.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'result');
    expect(results.map((r: { input: string }) => path.basename(r.input)).sort()).toEqual(['b.mp4', 'c.mp4']);
    expect(server.hitsOf('/a.mp4')).toHaveLength(1);
    expect(server.hitsOf('/b.mp4')).toHaveLength(2);

    const after = await runCli(['sources', 'status', '--json', '--data-dir', data], { env });
    expect(JSON.parse(after.stdout)).toMatchObject({ total: 3, done: 3, failed: 0, failures: [] });
    const b = JSON.parse((await runCli(['show', results.find((r: { input: string }) => r.input.endsWith('b.mp4')).videoId, '--data-dir', data], { env })).stdout);
    expect(b.categories).toContainEqual(expect.objectContaining({ name: 'running', source: 'list' }));
    expect(b.source.list).toMatchObject({ label: 'running', split: 'val' });
  });
});

describe('process --retry-failed of list rows whose list is gone or changed', () => {
  it('reports each such row as a problem and runs none of them (no whole video under a clip key); rows of a list still there run', async () => {
    const dir = path.join(t.dir, 'moved');
    const moved = path.join(t.dir, 'moved.csv');
    const kept = path.join(t.dir, 'kept.csv');
    writeFileSync(moved, `url,label,start,end\n${server.base}/d.mp4,jumping,0.5,2\n`);
    writeFileSync(kept, `url,label,start,end\n${server.base}/e.mp4,diving,0,1\n${server.base}/f.mp4,rowing,0,1\n`);
    const first = await runCli(['process', '-i', moved, '-i', kept, '--data-dir', dir, '-q'], { env });
    expect(first.code).toBe(1);
    expect(JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', dir], { env })).stdout)).toMatchObject({ total: 3, failed: 3 });

    dHealthy = true;
    rmSync(moved);
    // the f.mp4 row is edited out of its list: its start and end are gone too
    writeFileSync(kept, `url,label,start,end\n${server.base}/e.mp4,diving,0,1\n`);
    const hits = server.hitsOf('/d.mp4').length;
    const retry = await runCli(['process', '--retry-failed', '--data-dir', dir, '--json', '-q'], { env });
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(/videodex: http:\/\/127\.0\.0\.1:\d+\/d\.mp4#t=0\.5,2: not retried: its list \S*moved\.csv cannot be read \(list file not found\), so its label, start and end are unknown/);
    expect(retry.stderr).toMatch(/videodex: http:\/\/127\.0\.0\.1:\d+\/f\.mp4#t=0,1: not retried: the row is no longer in its list \S*kept\.csv, so its start and end are unknown/);
    expect(server.hitsOf('/d.mp4')).toHaveLength(hits);
    expect(server.hitsOf('/f.mp4')).toHaveLength(1);
    const results = retry.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'result');
    expect(results.map((r: { input: string }) => path.basename(r.input))).toEqual(['e.mp4']);
    const status = JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', dir], { env })).stdout);
    expect(status).toMatchObject({ total: 3, done: 1, failed: 2 });
  });
});

describe('an address no source reads', () => {
  it('fails that list row with E_NO_SOURCE, naming the list row and what videodex reads; the other rows go on', async () => {
    const dir = path.join(t.dir, 'ftp');
    writeFileSync(path.join(t.dir, 'mixed.txt'), `# two entries\nftp://127.0.0.1/pub/x.mp4\n${server.base}/a.mp4\n`);
    const r = await runCli(['process', '--input-file', path.join(t.dir, 'mixed.txt'), '--data-dir', dir, '-q'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'videodex: mixed.txt row 2: ftp://127.0.0.1/pub/x.mp4: acquire: ftp: addresses are not read; videodex reads http(s) URLs, HLS/DASH manifests (.m3u8, .mpd), ytdl: addresses and local files',
    );
    const status = JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', dir], { env })).stdout);
    expect(status).toMatchObject({ total: 2, done: 1, failed: 1 });
    expect(JSON.stringify(status.failures)).toContain('E_NO_SOURCE');
  });
});

describe('a list row naming a file that is not there', () => {
  it('is in the acquisition log as failed, counted by sources status and tried again by --retry-failed', async () => {
    const dir = path.join(t.dir, 'missing-row');
    const lib = path.join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    await makeTestVideo(path.join(dir, 'here.mp4'), { seconds: 1, width: 160, height: 120 });
    writeFileSync(path.join(dir, 'list.txt'), 'here.mp4\nlater.mp4\n');
    const first = await runCli(['process', '-i', path.join(dir, 'list.txt'), '--data-dir', lib]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('list.txt row 2: later.mp4: no such file or folder');
    const status = JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', lib])).stdout);
    expect(status).toMatchObject({ done: 1, failed: 1 });
    expect(JSON.stringify(status)).toContain('E_NOT_FOUND');
    await makeTestVideo(path.join(dir, 'later.mp4'), { seconds: 1, width: 160, height: 120, source: 'smptebars' });
    const retry = await runCli(['process', '--retry-failed', '--data-dir', lib]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', lib])).stdout)).toMatchObject({ done: 2, failed: 0 });
  });
});

describe('a list row whose file is still missing at --retry-failed', () => {
  it('is said once, by its list and row, and stays failed under its list (not as a command-line input)', async () => {
    const dir = path.join(t.dir, 'still-missing');
    const lib = path.join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    await makeTestVideo(path.join(dir, 'here.mp4'), { seconds: 1, width: 160, height: 120 });
    const list = path.join(dir, 'list.txt');
    writeFileSync(list, 'here.mp4\ngone.mp4\n');
    expect((await runCli(['process', '-i', list, '--data-dir', lib, '-q'])).code).toBe(1);
    const retry = await runCli(['process', '--retry-failed', '--data-dir', lib, '-q']);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toContain('videodex: list.txt row 2: gone.mp4: no such file or folder');
    expect(retry.stderr).not.toContain('acquire: no such file');
    const status = JSON.parse((await runCli(['sources', 'status', '--json', '--data-dir', lib])).stdout);
    expect(status).toMatchObject({ total: 2, done: 1, failed: 1 });
    expect(status.lists).toEqual([{ file: list, done: 1, failed: 1 }]);
  });
});
