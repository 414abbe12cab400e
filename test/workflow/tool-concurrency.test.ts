import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { findOnPath, loadConfig } from '../../src/core/index.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';
import { serveBytes, startTestServer } from '../helpers/http-server.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

// [Concurrency] Cpu is documented as "ffmpeg/ffprobe jobs at once". It is measured here by the processes that
// really run: ffmpeg and ffprobe are stand-ins that log when each job starts and ends around the real tool.

const fake = fakeVlmServers();
const t = tempDir('videodex-tool-concurrency-');
const journal = path.join(t.dir, 'jobs.log');

/** An executable that logs `+ <pid> <args>` and `- <pid>` around a run of the real `tool`. */
function countingTool(tool: 'ffmpeg' | 'ffprobe'): string {
  const real = findOnPath(tool);
  if (!real) throw new Error(`tests need ${tool} on PATH`);
  const file = path.join(t.dir, 'bin', tool);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    [
      `#!${process.execPath}`,
      `const { appendFileSync } = require('node:fs');`,
      `const { spawnSync } = require('node:child_process');`,
      `appendFileSync(${JSON.stringify(journal)}, '+ ' + process.pid + ' ' + process.argv.slice(2).join(' ') + '\\n');`,
      `const r = spawnSync(${JSON.stringify(real)}, process.argv.slice(2), { stdio: 'inherit' });`,
      `appendFileSync(${JSON.stringify(journal)}, '- ' + process.pid + '\\n');`,
      `process.exit(r.status ?? 1);`,
    ].join('\n'),
  );
  chmodSync(file, 0o755);
  return file;
}

/** The most jobs that were running at once, and the jobs' argument lists (since `from`, a line of the journal). */
function jobs(from = 0): { most: number; started: string[] } {
  let running = 0;
  let most = 0;
  const started: string[] = [];
  // the version checks that find the tools, before the run, are not the run's work
  const versions = new Set<string>();
  for (const line of readFileSync(journal, 'utf8').split('\n').filter(Boolean).slice(from)) {
    const [sign, pid] = line.split(' ');
    if (sign === '+' && line.endsWith(' -version')) versions.add(pid!);
    if (versions.has(pid!)) continue;
    if (sign === '+') {
      started.push(line);
      most = Math.max(most, ++running);
    } else running--;
  }
  return { most, started };
}

describe('[Concurrency] Cpu bounds every ffmpeg and ffprobe job of a run', () => {
  const videos = path.join(t.dir, 'videos');
  beforeAll(async () => {
    mkdirSync(videos, { recursive: true });
    for (const [i, source] of ['testsrc2', 'smptebars', 'testsrc', 'rgbtestsrc'].entries()) {
      await makeTestVideo(path.join(videos, `v${i}.mp4`), { seconds: 2, width: 160, height: 120, fps: 10, source });
    }
  });
  afterAll(() => t.cleanup());

  it('with Cpu = 1, the model stage renders its frames one job at a time, never beside another stage', async () => {
    const server = await fake({ latencyMs: 50 });
    const app = new App(
      loadConfig({
        env: {},
        overrides: {
          'Paths.DataDir': path.join(t.dir, 'data'),
          'Paths.Ffmpeg': countingTool('ffmpeg'),
          'Paths.Ffprobe': countingTool('ffprobe'),
          'Concurrency.Cpu': 1,
          'Concurrency.Ai': 4,
          'QwenVL.PublicEndpoint': `${server.url}/v1`,
          'QwenVL.Retries': 0,
        },
      }),
      { logToFile: false },
    );
    const summary = await app.process([videos]);
    await app.close();
    expect(summary.failures).toEqual([]);
    expect(summary.done).toBe(4);
    expect(server.requests).toHaveLength(4);
    const { most, started } = jobs();
    // the frames the model was sent were cut by ffmpeg in this run, so the describe stage's jobs are counted
    expect(started.filter((l) => l.includes('image2pipe')).length).toBeGreaterThanOrEqual(4);
    expect(most).toBe(1);
  });

  it('with Cpu = 1 and four downloads at once, list rows are cut one ffmpeg job at a time', async () => {
    const files = readdirSync(videos).sort();
    const http = await startTestServer(Object.fromEntries(files.map((f) => [`/${f}`, (req, res) => serveBytes(res, req, readFileSync(path.join(videos, f)))])));
    try {
      const list = path.join(t.dir, 'rows.csv');
      writeFileSync(list, ['url,label,start,end', ...files.map((f) => `${http.base}/${f},waving,0.5,1.5`)].join('\n') + '\n');
      const from = readFileSync(journal, 'utf8').split('\n').filter(Boolean).length;
      const app = new App(
        loadConfig({
          env: {},
          overrides: {
            'Paths.DataDir': path.join(t.dir, 'rows-data'),
            'Paths.Ffmpeg': countingTool('ffmpeg'),
            'Paths.Ffprobe': countingTool('ffprobe'),
            'Concurrency.Cpu': 1,
            'Concurrency.Downloads': 4,
            'Sources.TrimMode': 'reencode',
          },
        }),
        { logToFile: false },
      );
      const summary = await app.process([], { listFiles: [list] });
      await app.close();
      expect(summary.failures).toEqual([]);
      expect(summary.done).toBe(4);
      const { most, started } = jobs(from);
      // the four clips were cut (re-encoded) by ffmpeg in this run
      expect(started.filter((l) => l.includes(' -ss ') && l.includes('.clip.part')).length).toBe(4);
      expect(most).toBe(1);
    } finally {
      await http.close();
    }
  });
});
