import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContentCache } from '../../src/core/index.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('ContentCache', () => {
  it("removes the .part a process killed while writing an entry left, when the entry is written again; a live writer's stays", async () => {
    const cache = new ContentCache(path.join(t.dir, 'cache'));
    const key = ContentCache.key('scenes', 'abc');
    const folder = path.join(cache.dir, key.slice(0, 2));
    mkdirSync(folder, { recursive: true });
    // a pid that ran and is gone, and one that runs
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const stale = path.join(folder, `${key}.json.${gone}.part`);
      const writing = path.join(folder, `${key}.json.${live.pid}.part`);
      const other = path.join(folder, `${ContentCache.key('other')}.json.${gone}.part`);
      for (const f of [stale, writing, other]) writeFileSync(f, '{"half');
      cache.put(key, { scenes: 3 });
      expect(cache.get(key)).toEqual({ scenes: 3 });
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(writing)).toBe(true);
      // another entry's leftover waits for that entry's next write
      expect(existsSync(other)).toBe(true);
      expect(readdirSync(folder).filter((n) => n.endsWith('.part'))).toHaveLength(2);
    } finally {
      live.kill();
    }
  });
});
