import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { testApp } from './plugin-helpers.js';

const PLUGIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/plugins/brightness/index.js');

describe('example plugin: brightness', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir('videodex-brightness-')));
  afterAll(() => cleanup());

  it('measures luma with signalstats and tags dark, bright and black frames', async () => {
    const videos = path.join(dir, 'in');
    mkdirSync(videos);
    await makeTestVideo(path.join(videos, 'night.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, source: 'color=c=black' });
    await makeTestVideo(path.join(videos, 'snow.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, source: 'color=c=white' });
    await makeTestVideo(path.join(videos, 'pattern.mp4'), { seconds: 2, width: 160, height: 120, fps: 10, source: 'testsrc2' });
    const app = testApp(dir, { 'Plugins.Modules': PLUGIN });
    try {
      const summary = await app.process([videos]);
      expect(summary.failures).toEqual([]);
      const store = await app.store();
      const byName = new Map<string, Video>();
      for await (const v of store.iterate()) byName.set(path.basename(v.file.path), v);
      const night = byName.get('night.mp4')!;
      const snow = byName.get('snow.mp4')!;
      const pattern = byName.get('pattern.mp4')!;
      const b = (v: Video) => v.extra.brightness as { meanLuma: number; blackFrameRatio: number; framesSampled: number };
      expect(b(night).framesSampled).toBeGreaterThanOrEqual(3);
      expect(b(night).meanLuma).toBeLessThan(0.1);
      expect(b(night).blackFrameRatio).toBe(1);
      expect(b(snow).meanLuma).toBeGreaterThan(0.9);
      expect(b(pattern).meanLuma).toBeGreaterThan(0.2);
      expect(b(pattern).meanLuma).toBeLessThan(0.7);
      const tagNames = (v: Video) => v.tags.filter((t) => t.source === 'plugin').map((t) => t.name).sort();
      expect(tagNames(night)).toEqual(['black-frames', 'dark']);
      expect(tagNames(snow)).toEqual(['bright']);
      expect(tagNames(pattern)).toEqual([]);
      expect(night.tags.find((t) => t.name === 'dark')).toMatchObject({ source: 'plugin', rule: 'brightness' });
      // a second run repeats nothing
      const again = await app.process([videos]);
      expect(again.stagesRun).toBe(0);
    } finally {
      await app.close();
    }
  });
});
