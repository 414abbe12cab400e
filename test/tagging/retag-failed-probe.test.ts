/**
 * A record whose probe failed (a corrupt file) is not tagged by `process`: the tag stage needs the probe. retag
 * gave it file-name tags all the same, so the same library tagged it or not depending on which command ran last.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { runCliInProcess as cli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

describe('retag and a record whose probe failed', () => {
  let dir: string;
  let cleanup: () => void;
  const data = () => path.join(dir, 'data');
  const load = async () => {
    const store = new SqliteStore(path.join(data(), 'videodex.db'));
    const out = new Map<string, Video>();
    for await (const v of store.iterate()) out.set(path.basename(v.file.path), v);
    await store.close();
    return out;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('videodex-retag-probe-'));
    mkdirSync(path.join(dir, 'clips'));
    await makeTestVideo(path.join(dir, 'clips', 'beachSunset.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 });
    // an MP4 name on bytes no demuxer reads
    writeFileSync(path.join(dir, 'clips', 'brokenBeach.mp4'), Buffer.alloc(4096, 7));
    writeFileSync(path.join(dir, 'rules.yaml'), 'rules:\n  - name: beachy\n    when: { filename: "*each*" }\n    add: [seaside]\n');
  });
  afterAll(() => cleanup());

  it('is left untagged by retag, as process leaves it, and counted as skipped', async () => {
    const p = await cli('process', '--data-dir', data(), '-q', path.join(dir, 'clips'));
    expect(p.code).toBe(1);
    let videos = await load();
    const broken = videos.get('brokenBeach.mp4')!;
    expect(broken.stages.probe?.status).toBe('failed');
    expect(broken.tags).toEqual([]);
    expect(videos.get('beachSunset.mp4')!.tags.map((t) => t.name)).toContain('beach');

    writeFileSync(path.join(dir, 'config.ini'), `[Tagging]\nRulesFile = ${path.join(dir, 'rules.yaml')}\n`);
    const r = await cli('retag', '--config', path.join(dir, 'config.ini'), '--data-dir', data(), '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { seen: number; skipped: number; changed: number };
    expect(summary).toMatchObject({ seen: 2, skipped: 1, changed: 1 });
    expect(r.stderr).toMatch(/1 skipped \(probe failed\)/);
    videos = await load();
    expect(videos.get('brokenBeach.mp4')!.tags).toEqual([]);
    expect(videos.get('brokenBeach.mp4')!.stages.tag).toBeUndefined();
    expect(videos.get('beachSunset.mp4')!.tags.map((t) => t.name)).toContain('seaside');

    // a hand edit of it is kept for when it is processed, and says so
    const e = await cli('tag', '--data-dir', data(), path.join(dir, 'clips', 'brokenBeach.mp4'), '--add', 'redo');
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/its probe failed, so it is not tagged; the edits apply once it is processed/);
    videos = await load();
    expect(videos.get('brokenBeach.mp4')!.tags).toEqual([]);
    expect(videos.get('brokenBeach.mp4')!.extra).toMatchObject({ _userTags: { add: ['redo'], remove: [] } });
  });
});
