import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const t = tempDir('videodex-process-json-');
const data = path.join(t.dir, 'data');
const good = path.join(t.dir, 'good.mp4');
const text = path.join(t.dir, 'text.mp4');
const truncated = path.join(t.dir, 'truncated.mp4');
const zero = path.join(t.dir, 'zero.mp4');

beforeAll(async () => {
  await makeTestVideo(good, { seconds: 1, width: 160, height: 120 });
  writeFileSync(text, 'plain text pretending\n');
  writeFileSync(truncated, readFileSync(good).subarray(0, 600));
  writeFileSync(zero, '');
});
afterAll(() => t.cleanup());

type Line = Record<string, unknown>;
const resultsOf = (stdout: string): Map<string, Line> =>
  new Map(
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter((r) => r.type === 'result')
      .map((r) => [path.basename(String(r.input)), r]),
  );

describe('process --json: a failed result line says which stage failed and why (it had only "failed")', () => {
  it('carries stage, error (the stderr text) and code for failed inputs; done lines are unchanged', async () => {
    const r = await runCli(['process', good, text, truncated, zero, '--json', '-q', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(1);
    const results = resultsOf(r.stdout);
    expect([...results.keys()].sort()).toEqual(['good.mp4', 'text.mp4', 'truncated.mp4', 'zero.mp4']);

    const done = results.get('good.mp4')!;
    expect(Object.keys(done)).toEqual(['type', 'input', 'videoId', 'status', 'stagesRun']);
    expect(done).toMatchObject({ status: 'done', videoId: expect.stringMatching(/^[0-9a-f]+$/) });

    // each failed line matches the stderr failure line `videodex: <input>: <stage>: <error>`
    const stderrLine = (name: string) => r.stderr.split('\n').find((l) => l.startsWith('videodex: ') && l.includes(name))!;
    for (const name of ['text.mp4', 'truncated.mp4', 'zero.mp4']) {
      const line = results.get(name)!;
      expect(line, name).toMatchObject({ type: 'result', status: 'failed', stage: expect.any(String), error: expect.any(String) });
      expect(stderrLine(name), name).toBe(`videodex: ${line.input}: ${line.stage}: ${line.error}`);
    }
    expect(results.get('text.mp4')).toMatchObject({ stage: 'probe', error: expect.stringMatching(/^not a readable video/), code: 'E_MEDIA' });
    expect(results.get('truncated.mp4')).toMatchObject({ stage: 'probe', code: 'E_MEDIA' });
    expect(results.get('zero.mp4')).toMatchObject({ videoId: null, stage: 'acquire', error: 'empty file (0 bytes)', code: expect.stringMatching(/^E_/), stagesRun: 0 });
    // the line for an input is written before the summary
    const lines = r.stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!).type).toBe('summary');
  });

  it('a failure from an earlier run, not retried, is reported the same way', async () => {
    const r = await runCli(['process', good, text, zero, '--json', '-q', '--data-dir', data]);
    expect(r.code, r.stderr).toBe(1);
    const results = resultsOf(r.stdout);
    expect(results.get('good.mp4')).toEqual({ type: 'result', input: good, videoId: expect.any(String), status: 'unchanged', stagesRun: 0 });
    expect(results.get('text.mp4')).toMatchObject({ status: 'failed', stage: 'probe', error: expect.stringMatching(/^not a readable video/), code: 'E_MEDIA' });
    expect(results.get('zero.mp4')).toMatchObject({ status: 'failed', stage: 'acquire', error: 'empty file (0 bytes)' });
  });

  it('an entry of a list carries its list and row: clips cut from one video share the input, and the failed one was not told apart', async () => {
    const list = path.join(t.dir, 'clips.csv');
    writeFileSync(list, `url,label,start,end\n${good},jump,0,0.5\n${good},jump,30,40\n`);
    const r = await runCli(['process', '-i', list, '--json', '-q', '--data-dir', path.join(t.dir, 'data-list')]);
    expect(r.code, r.stderr).toBe(1);
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line).filter((l) => l.type === 'result');
    expect(results.map((l) => l.input)).toEqual([good, good]);
    const byRow = new Map(results.map((l) => [l.row, l]));
    expect(byRow.get(2)).toMatchObject({ list, row: 2, status: 'done' });
    expect(byRow.get(3)).toMatchObject({ list, row: 3, status: 'failed', stage: 'acquire', code: 'E_TRIM' });
    // an input given on the command line has neither
    expect(Object.keys(resultsOf((await runCli(['process', good, '--json', '-q', '--data-dir', data])).stdout).get('good.mp4')!)).toEqual(['type', 'input', 'videoId', 'status', 'stagesRun']);
  });
});
