import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { writePlugin } from './plugin-helpers.js';

describe('a plugin stage whose promise never settles', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('stops the run naming the video and the stage (exit 4), not a silent exit 13', async () => {
    const plugin = writePlugin(
      path.join(t.dir, 'plugins'),
      'limbo',
      `export default {
  name: 'limbo', version: '1.0.0', apiVersion: 1,
  stages: [{ name: 'limbo', version: '1', needs: ['probe'], resource: 'cpu', inputHash: () => 'x', run: () => new Promise(() => {}) }],
};
`,
    );
    const video = path.join(t.dir, 'a.mp4');
    await makeTestVideo(video, { seconds: 1 });
    const r = await runCli(['process', video, '--data-dir', path.join(t.dir, 'data')], { env: { ...process.env, VIDEODEX_PLUGINS_MODULES: plugin } });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`videodex: ${video}: stage limbo never finished: its promise never settles`);
  });
});
