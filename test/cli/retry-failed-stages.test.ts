import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { reply } from '../helpers/fake-vlm-server.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

// A run whose describe failed (the model was down) ends with "failure(s) from earlier runs were not retried; use
// --retry-failed" on the next run; `videodex process --retry-failed` alone must then retry it.

const fake = fakeVlmServers();
const t = tempDir('videodex-retry-stages-');
const clip = path.join(t.dir, 'clip.mp4');
const data = path.join(t.dir, 'data');

beforeAll(async () => {
  await makeTestVideo(clip, { seconds: 1, width: 160, height: 120, fps: 10 });
});
afterAll(() => t.cleanup());

describe('process --retry-failed with no inputs', () => {
  it('retries a stage that failed on a video whose acquisition went well, once, and then nothing', async () => {
    const server = await fake();
    const args = ['--data-dir', data, '--endpoint', `${server.url}/v1`, '--json', '-q'];
    server.queue(reply.status(400, undefined, { error: { message: 'model is loading' } }));
    const first = await runCli(['process', clip, ...args]);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toContain('"stage":"describe"');

    const plain = await runCli(['process', clip, ...args]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/1 failure\(s\) from earlier runs were not retried; use --retry-failed/);
    expect(server.requests).toHaveLength(1);

    const retry = await runCli(['process', '--retry-failed', ...args]);
    expect(retry.code, retry.stderr).toBe(0);
    const results = retry.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'result');
    expect(results).toEqual([expect.objectContaining({ input: clip, status: 'done' })]);
    expect(server.requests).toHaveLength(2);
    const video = JSON.parse((await runCli(['show', results[0].videoId, '--data-dir', data])).stdout);
    expect(video.stages.describe.status).toBe('done');

    const again = await runCli(['process', '--retry-failed', ...args]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'summary', inputs: 0 });
    expect(server.requests).toHaveLength(2);
  });
});
