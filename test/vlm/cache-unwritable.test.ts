import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { ContentCache, loadConfig } from '../../src/core/index.js';
import { reply } from '../helpers/fake-vlm-server.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

/**
 * The cache cannot be written (here: a file where its folder should be; a full disk does the same) while the
 * audit trail can. Every stage's result was cached before the record was written, and a failed cache write failed
 * the stage: the model's paid answer was thrown away and the next run asked for it again.
 */
const t = tempDir('videodex-cache-unwritable-');
afterAll(() => t.cleanup());
const fake = fakeVlmServers();

describe('a cache that cannot be written', () => {
  it('leaves each result to the record: the videos are described once, a re-run asks nothing, and the log says why nothing was cached', async () => {
    const data = path.join(t.dir, 'data');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, 'cache'), 'not a folder');
    const clips = [
      await makeTestVideo(path.join(t.dir, 'red.mp4'), { seconds: 1, width: 160, height: 120, fps: 5, source: 'color=c=red' }),
      await makeTestVideo(path.join(t.dir, 'blue.mp4'), { seconds: 1, width: 160, height: 120, fps: 5, source: 'color=c=blue' }),
    ];
    const s = await fake({ defaultReply: () => reply.text('A plain colour card.') });
    const make = () => new App(loadConfig({ env: {}, overrides: { 'Paths.DataDir': data, 'QwenVL.PublicEndpoint': s.url, 'QwenVL.BackoffMs': 5 } }), { logToFile: true });

    let app = make();
    const first = await app.process(clips);
    const store = await app.store();
    const records = await Promise.all(first.videos.map((id) => store.get(id)));
    await app.close();
    expect(first.failures).toEqual([]);
    expect(s.requests).toHaveLength(2);
    for (const r of records) expect(r!.ai?.description).toBe('A plain colour card.');
    const log = readFileSync(path.join(data, 'videodex.log'), 'utf8');
    expect(log).toMatch(/stage result not cached \(kept with the record only\)/);
    expect(log).toMatch(/"stage":"describe"[^\n]*ENOTDIR|ENOTDIR[^\n]*"stage":"describe"/);
    expect(log).toMatch(/the model's answer could not be kept in the cache \(ENOTDIR/);

    app = make();
    const second = await app.process(clips);
    await app.close();
    expect(second.failures).toEqual([]);
    expect(second.stagesRun).toBe(0);
    expect(s.requests).toHaveLength(2);
  });

  it('leaves no part file of its own behind when a write fails', () => {
    const dir = path.join(t.dir, 'parts');
    const cache = new ContentCache(dir);
    const key = ContentCache.key('x');
    const shard = path.join(dir, key.slice(0, 2));
    // the part file is written, then cannot take the entry's place (a folder is there)
    mkdirSync(path.join(shard, `${key}.json`, 'inside'), { recursive: true });
    expect(() => cache.put(key, { a: 1 })).toThrow();
    expect(readdirSync(shard).filter((n) => n.endsWith('.part'))).toEqual([]);
  });
});
