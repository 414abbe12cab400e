import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWith, findOnPath, runTool, type Video } from '../../src/core/index.js';
import { buildDataset, datasetOptions, datasetStats, formatDatasetStats, readManifest, type DatasetOptions } from '../../src/export/dataset/index.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';
import { frameColor, iterate, lifeScene, makeSceneVideo, probeClip, sceneRecord } from '../helpers/scene-videos.js';

const t = tempDir('videodex-dataset-');
const ffmpeg = testFfmpeg();
const ffprobe = findOnPath('ffprobe')!;
const deps = { ffmpeg, ffprobe };
const SCENES = [30, 40, 20];
let records: Video[] = [];

function opts(out: string, flags: Parameters<typeof datasetOptions>[2] = {}, config: Parameters<typeof configWith>[0] = {}): DatasetOptions {
  return datasetOptions(configWith({ Dataset: { MinClipSec: 0.5, ...(config as { Dataset?: object }).Dataset }, Concurrency: { Cpu: 2 } } as Parameters<typeof configWith>[0]), out, flags);
}

async function tarEntries(file: string): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  createReadStream(file).pipe(extract);
  await done;
  return names;
}

beforeAll(async () => {
  const labels = ['jump', 'jump', 'swim', 'swim'];
  records = await Promise.all(
    labels.map(async (label, v) => {
      const file = path.join(t.dir, `src-${v}.mp4`);
      await makeSceneVideo(file, SCENES.map((n, k) => lifeScene(n, v * 10 + k + 1)));
      return sceneRecord(file, SCENES, { label, categories: [{ name: label, source: 'list' }] });
    }),
  );
});
afterAll(() => t.cleanup());

describe('dataset build', () => {
  const out = path.join(t.dir, 'ds');
  let report: Awaited<ReturnType<typeof buildDataset>>;

  beforeAll(async () => {
    report = await buildDataset(iterate(records), opts(out, { labels: 'list', split: '0.5,0.5,0', format: ['folder', 'mmaction', 'webdataset'], shortSide: 64, seed: 3 }), { ...deps, query: { text: 'x' } });
  });

  it('cuts one clip per scene with exactly its frames, scaled to the short side', async () => {
    expect(report.clips).toBe(12);
    expect(report.failed).toEqual([]);
    expect(report.duplicates).toEqual([]);
    const m = readManifest(out);
    for (const c of m.clips) {
      const p = await probeClip(path.join(out, c.path));
      const scene = SCENES[c.scene!]!;
      expect(Math.abs(p.frames - scene)).toBeLessThanOrEqual(1);
      expect(p.height).toBe(64);
      expect(p.width).toBe(86);
    }
  });

  it('keeps every video in one split and lays clips out as split/label/clip.mp4', () => {
    const m = readManifest(out);
    const splitsOf = new Map<string, Set<string>>();
    for (const c of m.clips) {
      (splitsOf.get(c.videoId) ?? splitsOf.set(c.videoId, new Set()).get(c.videoId)!).add(c.split);
      expect(c.path).toBe(`${c.split}/${c.label}/${c.id}.mp4`);
      expect(existsSync(path.join(out, c.path))).toBe(true);
    }
    expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
    // stratified: each label has one video in train and one in val
    expect(m.counts.perClass).toEqual({ jump: { train: 3, val: 3, test: 0 }, swim: { train: 3, val: 3, test: 0 } });
    expect(m.query).toEqual({ text: 'x' });
    expect(m.videodexVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.configHash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('writes Kinetics CSVs, MMAction2 lists matching the files, and a label map', () => {
    const rows = parse(readFileSync(path.join(out, 'annotations/train.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toEqual(['label', 'video_id', 'time_start', 'time_end', 'split']);
    expect(rows).toHaveLength(6);
    const r = rows.find((x) => Number(x.time_start) === 1.2)!;
    expect(Number(r.time_end)).toBeCloseTo(2.8, 3);
    expect(readFileSync(path.join(out, 'label_map.txt'), 'utf8')).toBe('jump\nswim\n');
    for (const split of ['train', 'val']) {
      const lines = readFileSync(path.join(out, `${split}_list_videos.txt`), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(6);
      for (const line of lines) {
        const [p, idx] = line.split(' ');
        expect(existsSync(path.join(out, p!))).toBe(true);
        expect(idx).toBe(p!.includes('/jump/') ? '0' : '1');
      }
    }
    const onDisk = ['train', 'val'].flatMap((s) => readdirSync(path.join(out, s), { recursive: true }).filter((f) => String(f).endsWith('.mp4')));
    expect(onDisk).toHaveLength(12);
  });

  it('writes WebDataset shards with adjacent .mp4/.json/.cls/.txt per key', async () => {
    const index = JSON.parse(readFileSync(path.join(out, 'webdataset/train/shards.json'), 'utf8'));
    expect(index.samples).toBe(6);
    const names = await tarEntries(path.join(out, 'webdataset/train', index.shards[0].file));
    expect(names).toHaveLength(24);
    const key = names[0]!.split('.')[0]!;
    expect(names.slice(0, 4)).toEqual([`${key}.mp4`, `${key}.json`, `${key}.cls`, `${key}.txt`]);
    expect(key).not.toContain('.');
  });

  it('splits shards at the size limit', async () => {
    const small = path.join(t.dir, 'ds-shards');
    await buildDataset(iterate(records.slice(0, 2)), opts(small, { labels: 'list', split: '1,0,0', format: ['webdataset'], shardSize: 1 }), deps);
    const index = JSON.parse(readFileSync(path.join(small, 'webdataset/train/shards.json'), 'utf8'));
    expect(index.shards).toHaveLength(6);
    expect(index.pattern).toBe('shard-{000000..000005}.tar');
    // webdataset only: clips stay in the work folder, not in a split/label layout
    expect(existsSync(path.join(small, 'train'))).toBe(false);
  });

  it('reports stats with zero leakage', () => {
    const s = datasetStats(out);
    expect(s.leakedVideos).toEqual([]);
    expect(s.crossSplitNearDuplicates).toEqual([]);
    expect(s.perSplit).toEqual({ train: 6, val: 6, test: 0 });
    expect(s.lengths.map((b) => b.count)).toEqual([4, 8]);
    expect(s.shortest!.seconds).toBeCloseTo(0.8, 5);
    expect(formatDatasetStats(s)).toMatch(/leakage: 0 videos and 0 source videos in more than one split, 0 near-duplicate pairs across splits \(ok\)/);
    expect(s.damagedFiles).toEqual([]);
  });

  it('reports a clip file that is not the size dataset.json gives (cut short, emptied)', () => {
    const clip = readManifest(out).clips[0]!;
    const file = path.join(out, clip.path);
    const bytes = readFileSync(file);
    try {
      writeFileSync(file, '');
      const s = datasetStats(out);
      expect(s.damagedFiles).toEqual([clip.path]);
      expect(s.missingFiles).toEqual([]);
      expect(formatDatasetStats(s)).toContain(`files not the size dataset.json gives: 1 (first: ${clip.path})`);
    } finally {
      writeFileSync(file, bytes);
    }
  });

  it('re-runs without re-encoding, and moves clips when only the split changes', async () => {
    const again = await buildDataset(iterate(records), opts(out, { labels: 'list', split: '0.5,0.5,0', format: ['folder', 'mmaction', 'webdataset'], shortSide: 64, seed: 3 }), deps);
    expect(again.encoded).toBe(0);
    expect(again.reused).toBe(12);
    const moved = await buildDataset(iterate(records), opts(out, { labels: 'list', split: '0,0,1', format: ['folder'], shortSide: 64, seed: 3, resplit: true }), deps);
    expect(moved.encoded).toBe(0);
    expect(moved.perSplit).toEqual({ train: 0, val: 0, test: 12 });
    expect(existsSync(path.join(out, 'train'))).toBe(false);
    // what the first build wrote and this one did not is gone: a loader finds no stale list or shard
    for (const stale of ['annotations/train.csv', 'annotations/val.csv', 'train_list_videos.txt', 'val_list_videos.txt', 'webdataset', 'shards.json']) {
      expect(existsSync(path.join(out, stale)), stale).toBe(false);
    }
    expect(readManifest(out).files.sort()).toEqual(['annotations/all.csv', 'annotations/test.csv', 'dataset.json', 'label_map.txt']);
    expect(readdirSync(out).sort()).toEqual(['.videodex-dataset', 'annotations', 'dataset.json', 'label_map.txt', 'test']);
  });

  it('refuses a folder that holds other files and no dataset, and writes nothing there', async () => {
    const mine = path.join(t.dir, 'my-notes');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'label_map.txt'), 'my own labels\n');
    await expect(buildDataset(iterate(records), opts(mine, { labels: 'list' }), deps)).rejects.toThrow(/my-notes holds other files and no videodex dataset: choose a new or empty folder/);
    expect(readdirSync(mine)).toEqual(['label_map.txt']);
    expect(readFileSync(path.join(mine, 'label_map.txt'), 'utf8')).toBe('my own labels\n');
    const file = path.join(t.dir, 'notes.txt');
    writeFileSync(file, 'mine\n');
    await expect(buildDataset(iterate(records), opts(file, { labels: 'list' }), deps)).rejects.toThrow(/^dataset build: .*notes\.txt is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  });
});

describe('clip boundaries', () => {
  it('starts and ends each clip on its scene, within one frame, for re-encode and stream copy', async () => {
    const file = path.join(t.dir, 'colors.mp4');
    const frames = [30, 40, 20];
    await makeSceneVideo(file, [{ frames: 30, source: 'color=c=red' }, { frames: 40, source: 'color=c=lime' }, { frames: 20, source: 'color=c=blue' }], { gop: 10 });
    const r = sceneRecord(file, frames, { label: 'colors' });
    const out = path.join(t.dir, 'ds-colors');
    const rep = await buildDataset(iterate([r]), opts(out, { labels: 'list', split: '1,0,0', dedup: false }), deps);
    expect(rep.clips).toBe(3);
    const m = readManifest(out);
    const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
    for (const c of m.clips) {
      const p = path.join(out, c.path);
      const want = expected[c.scene!]!;
      const n = (await probeClip(p)).frames;
      expect(n).toBe(frames[c.scene!]);
      for (const idx of [0, n - 1]) {
        const got = await frameColor(p, idx);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(40));
      }
    }
    // stream copy: starts snap forward to a keyframe (every 10 frames), so a clip never starts in the previous scene
    const copyOut = path.join(t.dir, 'ds-copy');
    const rc = await buildDataset(iterate([r]), opts(copyOut, { labels: 'list', split: '1,0,0', dedup: false, copy: true }), deps);
    expect(rc.copied).toBe(3);
    for (const c of readManifest(copyOut).clips) {
      expect(c.mode).toBe('copy');
      expect(Math.round(c.writtenStartSec * 25) % 10).toBe(0);
      expect(c.writtenStartSec).toBeGreaterThanOrEqual(c.startSec - 1e-6);
      const got = await frameColor(path.join(copyOut, c.path), 0);
      const want = expected[c.scene!]!;
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(40));
    }
  });
});

describe('clips cut one ffmpeg each (--audio)', () => {
  it('have exactly their scene\'s frames, from a video with or without sound', async () => {
    const silent = path.join(t.dir, 'colors-silent.mp4');
    await makeSceneVideo(silent, [{ frames: 30, source: 'color=c=red' }, { frames: 40, source: 'color=c=lime' }, { frames: 20, source: 'color=c=blue' }], { gop: 10 });
    const sound = path.join(t.dir, 'with-audio.mp4');
    await makeTestVideo(sound, { seconds: 3, width: 160, height: 120, audio: true });
    const records = [sceneRecord(silent, [30, 40, 20], { label: 'colors' }), sceneRecord(sound, [25, 30, 20], { label: 'talk' })];
    const out = path.join(t.dir, 'ds-audio');
    const rep = await buildDataset(iterate(records), opts(out, { labels: 'list', split: '1,0,0', dedup: false, audio: true }), deps);
    expect(rep.clips).toBe(6);
    const clips = readManifest(out).clips.sort((a, b) => a.label.localeCompare(b.label) || a.scene! - b.scene!);
    const frames = await Promise.all(clips.map(async (c) => (await probeClip(path.join(out, c.path))).frames));
    expect(frames).toEqual([30, 40, 20, 25, 30, 20]);
    const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
    for (const [i, c] of clips.slice(0, 3).entries()) {
      const got = await frameColor(path.join(out, c.path), frames[i]! - 1);
      got.forEach((v, k) => expect(Math.abs(v - expected[c.scene!]![k]!), c.id).toBeLessThan(40));
    }
    const { stdout } = await runTool(ffprobe, ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path.join(out, clips[4]!.path)]);
    expect(stdout.toString().trim()).toBe('aac');
  });
});

describe('stream copy with B-frames', () => {
  it('ends each clip within its scene: no frame of the next scene, exactly the packets it says', async () => {
    const file = path.join(t.dir, 'colors-bframes.mp4');
    const frames = [30, 40, 20];
    await makeSceneVideo(file, [{ frames: 30, source: 'color=c=red' }, { frames: 40, source: 'color=c=lime' }, { frames: 20, source: 'color=c=blue' }], { gop: 10, bframes: 3 });
    const r = sceneRecord(file, frames, { label: 'colors' });
    const out = path.join(t.dir, 'ds-copy-bframes');
    const rep = await buildDataset(iterate([r]), opts(out, { labels: 'list', split: '1,0,0', dedup: false, copy: true }), deps);
    expect(rep.copied).toBe(3);
    const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
    for (const c of readManifest(out).clips) {
      const p = path.join(out, c.path);
      const n = (await probeClip(p)).frames;
      expect(n).toBe(Math.round(c.durationSec * 25));
      expect(c.writtenStartSec + c.durationSec).toBeLessThanOrEqual(c.endSec + 1e-6);
      // B-frames move the reachable end back by a few frames at most
      expect(c.writtenStartSec + c.durationSec).toBeGreaterThanOrEqual(c.endSec - 4 / 25 - 1e-6);
      for (const idx of [0, n - 1]) {
        const got = await frameColor(p, idx);
        got.forEach((v, i) => expect(Math.abs(v - expected[c.scene!]![i]!), `${c.id} frame ${idx}`).toBeLessThan(40));
      }
    }
  });
});

describe('stream copy with audio (--copy --audio)', () => {
  /** Start times of a clip's video and audio, and when its first beep starts, in the clip's timeline. */
  async function timing(file: string): Promise<{ video: number; audio: number; beep: number }> {
    const { stdout } = await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type,start_time', '-of', 'json', file]);
    const streams = (JSON.parse(stdout.toString()) as { streams: Array<{ codec_type: string; start_time: string }> }).streams;
    const start = (kind: string) => Number(streams.find((x) => x.codec_type === kind)!.start_time);
    const pcm = (await runTool(ffmpeg, ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 's16le', 'pipe:1'], { maxStdoutBytes: 64 * 1024 * 1024 })).stdout;
    let first = -1;
    for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > 3000) { first = i / 2; break; }
    expect(first, file).toBeGreaterThanOrEqual(0);
    return { video: start('video'), audio: start('audio'), beep: start('audio') + first / 48000 };
  }

  it('starts audio and picture together (the audio had ~80 ms alone first with B-frames), in sync with the source, also for a video after its audio', async () => {
    const { probeVideo } = await import('../../src/analysis/index.js');
    const pictures = path.join(t.dir, 'rgb-beeps-src.mp4');
    await makeSceneVideo(pictures, [{ frames: 25, source: 'color=c=red' }, { frames: 25, source: 'color=c=lime' }, { frames: 25, source: 'color=c=blue' }], { gop: 25, bframes: 2 });
    // a beep 0.4 s into each one-second scene, of the picture's time
    for (const [name, lead] of [['rgb-beeps.mp4', 0], ['rgb-beeps-late.mp4', 2]] as const) {
      const file = path.join(t.dir, name);
      const beeps = `aevalsrc=if(gte(mod(t-${lead}\\,1)\\,0.4)*lt(mod(t-${lead}\\,1)\\,0.5)*gte(t\\,${lead})\\,sin(2*PI*440*t)\\,0):s=48000:d=${3 + lead}`;
      await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-itsoffset', String(lead), '-i', pictures, '-f', 'lavfi', '-i', beeps, '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', file]);
      const record = sceneRecord(file, [25, 25, 25], { label: 'beeps' });
      record.metadata = await probeVideo(ffprobe, file);
      const out = path.join(t.dir, `ds-copy-audio-${lead}`);
      const rep = await buildDataset(iterate([record]), opts(out, { labels: 'list', split: '1,0,0', format: ['folder'], dedup: false, copy: true, audio: true }), deps);
      expect(rep.copied, name).toBe(3);
      for (const c of readManifest(out).clips) {
        if (lead) expect(c.videoStartSec, name).toBeCloseTo(lead, 1);
        else expect(c.videoStartSec, name).toBeUndefined();
        const got = await timing(path.join(out, c.path));
        // together within one AAC frame (1024 samples)
        expect(Math.abs(got.audio - got.video), `${name} ${c.id} audio start ${got.audio}, video start ${got.video}`).toBeLessThanOrEqual(1024 / 48000);
        // and in sync: the beep 0.4 s into the scene is 0.4 s after the clip's first picture
        expect(got.beep - got.video, `${name} ${c.id}`).toBeCloseTo(c.startSec + 0.4 - c.writtenStartSec, 2);
      }
    }
  });
});

describe('splits by source video', () => {
  it('puts list rows naming one YouTube video in different URL forms in one split, and stats sees them as one source', async () => {
    const forms = ['https://youtu.be/abcdefghijk', 'https://www.youtube.com/watch?v=abcdefghijk&t=30s'];
    const rows = forms.map((url, i) => sceneRecord(records[i * 2]!.file.path, SCENES, { label: 'jump', url, id: `babe00000000000${i}` }));
    const rep = await buildDataset(iterate(rows), opts(path.join(t.dir, 'ds-yt'), { labels: 'list', split: '0.5,0.5,0', dedup: false }), deps);
    expect(Object.values(rep.perSplit).filter((n) => n > 0)).toHaveLength(1);
    // a list that puts the two rows in two splits itself: the leak is reported
    rows[0]!.source.list = { ...rows[0]!.source.list!, split: 'train' };
    rows[1]!.source.list = { ...rows[1]!.source.list!, split: 'test' };
    const listed = path.join(t.dir, 'ds-yt-list');
    await buildDataset(iterate(rows), opts(listed, { labels: 'list', split: 'list', dedup: false }), deps);
    expect(datasetStats(listed).leakedSources).toEqual([{ source: 'https://www.youtube.com/watch?v=abcdefghijk', splits: ['train', 'test'] }]);
  });
});

describe('splits across builds into one folder', () => {
  it('keep every earlier video in its split when videos are added or removed; other ratios or seed need --resplit', async () => {
    const more = await Promise.all(
      ['jump', 'jump', 'swim', 'swim'].map(async (label, v) => {
        const file = path.join(t.dir, `more-${v}.mp4`);
        await makeSceneVideo(file, SCENES.map((n, k) => lifeScene(n, v * 10 + k + 500)));
        return sceneRecord(file, SCENES, { label });
      }),
    );
    const out = path.join(t.dir, 'ds-versions');
    const flags = { labels: 'list', split: '0.5,0.5,0', seed: 1, format: ['folder'] };
    const splitOf = (dir: string) => new Map(readManifest(dir).clips.map((c) => [c.videoId, c.split]));
    await buildDataset(iterate(records), opts(out, flags), deps);
    const v1 = splitOf(out);
    expect(datasetStats(out).splits).toMatchObject({ mode: 'new', kept: 0, added: 4 });

    // v2: four videos more, given in another order: the first four stay where they were
    const v2rep = await buildDataset(iterate([...more, ...records].reverse()), opts(out, flags), deps);
    const v2 = splitOf(out);
    for (const [id, split] of v1) expect(v2.get(id), id).toBe(split);
    // the new ones fill each label's shares, counted with the kept clips
    expect(v2rep.perClass).toEqual({ jump: { train: 6, val: 6, test: 0 }, swim: { train: 6, val: 6, test: 0 } });
    const s2 = datasetStats(out);
    expect(s2.splits).toEqual({ mode: 'kept', earlierBuild: expect.any(String), kept: 4, moved: 0, added: 4, left: 0 });
    expect(formatDatasetStats(s2)).toMatch(/^splits kept from the build of \S+: 4 source videos kept their split, 0 moved, 4 new, 0 left$/m);
    expect(s2.leakedVideos).toEqual([]);

    // v3: a val video removed from the library leaves, the others stay; a new one takes its place in val
    const leaving = records.find((r) => r.source.list?.label === 'jump' && v2.get(r.id) === 'val')!;
    const stays = records.filter((r) => r !== leaving);
    const file = path.join(t.dir, 'more-4.mp4');
    await makeSceneVideo(file, SCENES.map((n, k) => lifeScene(n, k + 600)));
    const newcomer = sceneRecord(file, SCENES, { label: 'jump' });
    await buildDataset(iterate([...stays, ...more, newcomer]), opts(out, flags), deps);
    const v3 = splitOf(out);
    expect(v3.has(leaving.id)).toBe(false);
    for (const [id, split] of v3) expect(split, id).toBe(id === newcomer.id ? 'val' : v2.get(id));
    expect(datasetStats(out).splits).toMatchObject({ mode: 'kept', kept: 7, added: 1, left: 1 });
    // ... and back again, it returns to val: dealt out anew, it would go to train (jump is 6/6 without it)
    await buildDataset(iterate([...records, ...more, newcomer]), opts(out, flags), deps);
    expect(splitOf(out)).toEqual(new Map([...v3, [leaving.id, 'val']]));
    await buildDataset(iterate([...records, ...more]), opts(out, flags), deps);

    // another seed would split differently: refused before anything is touched, unless asked to split again.
    // The videos' ids (so their seeded order) come from the temporary folder's name: the seed is the first from 2
    // whose fresh split differs from this one, or the test could not see a video move.
    const manifest = readFileSync(path.join(out, 'dataset.json'), 'utf8');
    let seed = 2;
    let fresh = '';
    for (; ; seed++) {
      fresh = path.join(t.dir, `ds-versions-fresh-${seed}`);
      await buildDataset(iterate([...records, ...more]), opts(fresh, { ...flags, seed }), deps);
      if ([...v2].some(([id, split]) => splitOf(fresh).get(id) !== split)) break;
      if (seed > 20) throw new Error('no seed from 2 to 20 splits these videos otherwise');
    }
    await expect(buildDataset(iterate([...records, ...more]), opts(out, { ...flags, seed }), deps)).rejects.toThrow(
      new RegExp(`ds-versions was split with --split 0\\.5,0\\.5,0 --seed 1, this build asks --split 0\\.5,0\\.5,0 --seed ${seed}: .*add --resplit to split every video again`),
    );
    expect(readFileSync(path.join(out, 'dataset.json'), 'utf8')).toBe(manifest);
    const again = await buildDataset(iterate([...records, ...more]), opts(out, { ...flags, seed, resplit: true }), deps);
    expect(again.encoded).toBe(0);
    expect(splitOf(out)).toEqual(splitOf(fresh));
    const moved = [...v2].filter(([id, split]) => splitOf(out).get(id) !== split).length;
    expect(moved).toBeGreaterThan(0);
    expect(again.splits).toMatchObject({ mode: 'resplit', kept: 8 - moved, moved, added: 0, left: 0 });
    expect(formatDatasetStats(datasetStats(out))).toMatch(/^splits made again \(--resplit\) over the build of \S+: .*; a model trained on the earlier build must not be tested on this one$/m);
  });
});

describe('label indices across builds into one folder', () => {
  it('keep the earlier classes at their indices and add new ones after them (sorted they would shift)', async () => {
    const dives = await Promise.all(
      [0, 1].map(async (v) => {
        const file = path.join(t.dir, `dive-${v}.mp4`);
        await makeSceneVideo(file, SCENES.map((n, k) => lifeScene(n, v * 10 + k + 700)));
        return sceneRecord(file, SCENES, { label: 'dive' });
      }),
    );
    const out = path.join(t.dir, 'ds-labels');
    const flags = { labels: 'list', split: '0.5,0.5,0', seed: 1, format: ['folder', 'mmaction'] };
    const indexOf = (dir: string) => new Map(readManifest(dir).clips.map((c) => [c.label, c.labelIndex]));
    await buildDataset(iterate(records), opts(out, flags), deps);
    expect(readFileSync(path.join(out, 'label_map.txt'), 'utf8')).toBe('jump\nswim\n');

    // `dive` sorts first; a model trained on the first build still reads jump at 0 and swim at 1
    await buildDataset(iterate([...records, ...dives]), opts(out, flags), deps);
    expect(readFileSync(path.join(out, 'label_map.txt'), 'utf8')).toBe('jump\nswim\ndive\n');
    expect(indexOf(out)).toEqual(new Map([['jump', 0], ['swim', 1], ['dive', 2]]));
    const list = readFileSync(path.join(out, 'train_list_videos.txt'), 'utf8');
    expect(list).toMatch(/^train\/dive\/\S+ 2$/m);

    // a class with no clip left keeps its index, listed at 0 by stats
    await buildDataset(iterate([...records.filter((r) => r.source.list?.label !== 'swim'), ...dives]), opts(out, flags), deps);
    expect(readFileSync(path.join(out, 'label_map.txt'), 'utf8')).toBe('jump\nswim\ndive\n');
    expect(indexOf(out)).toEqual(new Map([['jump', 0], ['dive', 2]]));
    expect(formatDatasetStats(datasetStats(out))).toMatch(/^swim\s+0\s+0\s+0\s+0$/m);

    // a new folder sorts them
    const fresh = path.join(t.dir, 'ds-labels-fresh');
    await buildDataset(iterate([...records, ...dives]), opts(fresh, flags), deps);
    expect(readFileSync(path.join(fresh, 'label_map.txt'), 'utf8')).toBe('dive\njump\nswim\n');
  });
});

describe('a video starting after its file (audio first)', () => {
  it('has each clip cut from its own scene, re-encoded, one ffmpeg each or stream-copied, in MP4 and MPEG-TS', async () => {
    const { probeVideo } = await import('../../src/analysis/index.js');
    const rgb = path.join(t.dir, 'rgb-late-src.mp4');
    await makeSceneVideo(rgb, [{ frames: 25, source: 'color=c=red' }, { frames: 25, source: 'color=c=lime' }, { frames: 25, source: 'color=c=blue' }], { gop: 25 });
    const dominant = (c: [number, number, number]) => (['red', 'green', 'blue'] as const)[c.indexOf(Math.max(...c))];
    for (const ext of ['mp4', 'ts']) {
      // the video starts 2 s into the file; a sine plays from 0
      const late = path.join(t.dir, `late-clips.${ext}`);
      await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-itsoffset', '2', '-i', rgb, '-f', 'lavfi', '-i', 'sine=d=5', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', late]);
      const record = sceneRecord(late, [25, 25, 25], { label: 'colours' });
      record.metadata = await probeVideo(testFfmpeg().replace(/ffmpeg$/, 'ffprobe'), late);
      expect(record.metadata.videoStartSec, ext).toBeGreaterThan(1.9);
      for (const [mode, extra] of [['batched', {}], ['one each (audio)', { audio: true }], ['copy', { copy: true }]] as const) {
        const out = path.join(t.dir, `ds-late-${ext}-${mode.replace(/\W+/g, '-')}`);
        await buildDataset(iterate([record]), opts(out, { labels: 'list', split: '1,0,0', format: ['folder'], dedup: false, ...extra }), deps);
        const clips = readManifest(out).clips.sort((a, b) => a.startSec - b.startSec);
        expect(clips.map((c) => c.scene), `${ext} ${mode}`).toEqual([0, 1, 2]);
        // the manifest says where the clip times are in the file
        for (const c of clips) expect(c.videoStartSec, `${ext} ${mode}`).toBe(record.metadata.videoStartSec);
        const frames = await Promise.all(clips.map(async (c) => (await probeClip(path.join(out, c.path))).frames));
        // stream copies start on a key frame (one a scene here) and end on a packet count: whole scenes too
        expect(frames, `${ext} ${mode} frames`).toEqual([25, 25, 25]);
        const first = await Promise.all(clips.map((c) => frameColor(path.join(out, c.path), 0)));
        const last = await Promise.all(clips.map((c, i) => frameColor(path.join(out, c.path), frames[i]! - 1)));
        expect(first.map(dominant), `${ext} ${mode} first frames`).toEqual(['red', 'green', 'blue']);
        expect(last.map(dominant), `${ext} ${mode} last frames`).toEqual(['red', 'green', 'blue']);
      }
    }
  });
});

describe('long labels', () => {
  it('get a class folder the file system takes (at most 200 bytes, whole characters); the full label stays in the label map', async () => {
    const label = `${'跑'.repeat(100)}🏃`;
    const r = sceneRecord(records[0]!.file.path, SCENES, { label, id: 'cafe000000000001' });
    const out = path.join(t.dir, 'ds-long-label');
    const rep = await buildDataset(iterate([r]), opts(out, { labels: 'list', split: '1,0,0', dedup: false }), deps);
    expect(rep.failed).toEqual([]);
    expect(rep.clips).toBe(3);
    const [folder] = readdirSync(path.join(out, 'train'));
    expect(Buffer.byteLength(folder!)).toBeLessThanOrEqual(200);
    expect(label.startsWith(folder!)).toBe(true);
    expect(readFileSync(path.join(out, 'label_map.txt'), 'utf8')).toBe(`${label}\n`);
  });
});

describe('files whose timestamps do not start at 0, or whose seeks are not exact (MPEG-TS, Matroska)', () => {
  const frames = [30, 40, 20, 35, 25, 30, 40, 20, 35, 25];
  const colors = ['red', 'lime', 'blue', 'white', 'black'];
  const rgb = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0]];
  let mp4 = '';
  beforeAll(async () => {
    mp4 = path.join(t.dir, 'ten-colors.mp4');
    await makeSceneVideo(mp4, frames.map((n, i) => ({ frames: n, source: `color=c=${colors[i % 5]}` })), { gop: 10, bframes: 3 });
  });

  async function expectSceneClips(out: string, mode: 'encode' | 'copy' | 'any'): Promise<void> {
    for (const c of readManifest(out).clips) {
      const p = path.join(out, c.path);
      const n = (await probeClip(p)).frames;
      if (mode !== 'any') expect(c.mode, c.id).toBe(mode);
      if (c.mode === 'encode') expect(n, c.id).toBe(frames[c.scene!]);
      else expect(n, c.id).toBe(Math.round(c.durationSec * 25));
      expect(c.writtenStartSec, c.id).toBeGreaterThanOrEqual(c.startSec - 1e-6);
      for (const idx of [0, n - 1]) {
        const got = await frameColor(p, idx);
        got.forEach((v, k) => expect(Math.abs(v - rgb[c.scene! % 5]![k]!), `${c.id} frame ${idx}`).toBeLessThan(40));
      }
    }
  }

  it('cuts an MPEG-TS exactly, one ffmpeg a clip or stream copy asked (re-encoded then)', async () => {
    const ts = path.join(t.dir, 'ten-colors.ts');
    await runTool(ffmpeg, ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', ts]);
    const r = sceneRecord(ts, frames, { label: 'colors' });
    r.metadata!.container = 'mpegts';
    for (const flags of [{ audio: true }, { copy: true }]) {
      const out = path.join(t.dir, `ds-ts-${Object.keys(flags)[0]}`);
      await buildDataset(iterate([r]), opts(out, { labels: 'list', split: '1,0,0', dedup: false, ...flags }), deps);
      await expectSceneClips(out, 'encode');
    }
  });

  it('re-encodes a Matroska file asked to stream-copy: its seek lands on an earlier key frame, in the previous scene', async () => {
    const mkv = path.join(t.dir, 'ten-colors.mkv');
    await runTool(ffmpeg, ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', mkv]);
    const r = sceneRecord(mkv, frames, { label: 'colors' });
    r.metadata!.container = 'matroska,webm';
    const out = path.join(t.dir, 'ds-mkv-copy');
    const rep = await buildDataset(iterate([r]), opts(out, { labels: 'list', split: '1,0,0', dedup: false, copy: true }), deps);
    expect(rep.copied).toBe(0);
    await expectSceneClips(out, 'encode');
  });

  it('stream-copies from key frames on the file\'s own timeline when it starts later than 0', async () => {
    const late = path.join(t.dir, 'ten-colors-late.mp4');
    await runTool(ffmpeg, ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', '-output_ts_offset', '1.48', late]);
    const out = path.join(t.dir, 'ds-late-copy');
    const rep = await buildDataset(iterate([sceneRecord(late, frames, { label: 'colors' })]), opts(out, { labels: 'list', split: '1,0,0', dedup: false, copy: true }), deps);
    expect(rep.copied).toBeGreaterThan(0);
    await expectSceneClips(out, 'any');
  });
});

describe('near-duplicate removal', () => {
  it('catches a re-encoded copy of a video and removes it across splits first', async () => {
    const original = records[0]!;
    const copyFile = path.join(t.dir, 'reupload.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', original.file.path, '-vf', 'scale=120:90', '-c:v', 'libx264', '-crf', '35', '-preset', 'veryfast', copyFile]);
    const copy = sceneRecord(copyFile, SCENES, { label: 'jump', width: 120, height: 90 });
    const out = path.join(t.dir, 'ds-dedup');
    // list splits put the original in train and the re-upload in test: a leak to catch
    original.source.list = { ...original.source.list!, split: 'train' };
    copy.source.list = { ...copy.source.list!, split: 'test' };
    const rep = await buildDataset(iterate([original, copy, records[2]!]), opts(out, { labels: 'list', split: 'list' }), deps);
    expect(rep.duplicates).toHaveLength(3);
    expect(rep.duplicates.every((d) => d.crossSplit)).toBe(true);
    expect(new Set(rep.duplicates.map((d) => d.videoId)).size).toBe(1);
    expect(rep.clips).toBe(6);
    const s = datasetStats(out);
    expect(s.leakedVideos).toEqual([]);
    expect(s.crossSplitNearDuplicates).toEqual([]);
    expect(s.duplicatesRemoved).toHaveLength(3);
    // unrelated videos are not duplicates of each other
    expect(rep.duplicates.some((d) => d.videoId === records[2]!.id || d.duplicateOf.startsWith(records[2]!.id))).toBe(false);
  });
});

describe('bad input', () => {
  it('refuses, before writing anything, labels that would share a class folder, naming both and a video of each', async () => {
    const spaced = sceneRecord(records[0]!.file.path, SCENES, { label: 'a b', id: 'aaaa000000000001' });
    const underscored = sceneRecord(records[2]!.file.path, SCENES, { label: 'A_B', id: 'aaaa000000000002' });
    const out = path.join(t.dir, 'ds-clash');
    await expect(buildDataset(iterate([underscored, spaced]), opts(out, { labels: 'list' }), deps)).rejects.toThrow(
      /^dataset: labels "A_B" \(src-2\.mp4\) and "a b" \(src-0\.mp4\) would share the class folder "A_B" \(folder names turn spaces and path characters into _, and ignore case\)/,
    );
    expect(existsSync(out)).toBe(false);
    // without class folders (WebDataset only) the labels stay two classes, as the shards name them
    const shards = await buildDataset(iterate([underscored, spaced]), opts(path.join(t.dir, 'ds-clash-wds'), { labels: 'list', format: ['webdataset'], split: '1,0,0' }), deps);
    expect(Object.keys(shards.perClass).sort()).toEqual(['A_B', 'a b']);
  });

  it('fails with one clear line when the label source yields nothing', async () => {
    await expect(buildDataset(iterate(records), opts(path.join(t.dir, 'ds-none'), { labels: 'tag:action/' }), deps)).rejects.toThrow(
      /no clips to build \(none of 4 videos gave a clip; first: src-0\.mp4: no label from tags starting with "action\/"/,
    );
  });

  it('reports clips of a vanished file, naming the video and the cause, without stopping the others', async () => {
    const gone = sceneRecord(records[0]!.file.path, SCENES, { label: 'jump', id: 'feedfeedfeedfeed' });
    gone.file = { ...gone.file, path: path.join(t.dir, 'vanished.mp4') };
    const out = path.join(t.dir, 'ds-gone');
    const rep = await buildDataset(iterate([gone, records[2]!]), opts(out, { labels: 'list', split: '1,0,0', dedup: false }), deps);
    expect(rep.clips).toBe(3);
    expect(rep.failed).toHaveLength(3);
    expect(rep.failed[0]).toMatchObject({ videoId: 'feedfeedfeedfeed', name: 'vanished.mp4' });
    expect(rep.failed[0]!.error).toBe(`file not found: ${gone.file.path} (moved or deleted since it was processed)`);
    expect(readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.part'))).toEqual([]);
  });

  it('reports clips ffmpeg cannot cut (a file that is no video) without stopping the others', async () => {
    const junk = path.join(t.dir, 'junk.mp4');
    writeFileSync(junk, 'not a video\n');
    const broken = sceneRecord(junk, SCENES, { label: 'jump', id: 'badbadbadbadbad0' });
    const out = path.join(t.dir, 'ds-junk');
    const rep = await buildDataset(iterate([broken, records[2]!]), opts(out, { labels: 'list', split: '1,0,0', dedup: false }), deps);
    expect(rep.clips).toBe(3);
    expect(rep.failed).toHaveLength(3);
    expect(rep.failed[0]).toMatchObject({ videoId: 'badbadbadbadbad0', name: 'junk.mp4' });
    expect(rep.failed[0]!.error).toMatch(/ffmpeg exited with code \d+: .*junk\.mp4: Invalid data found/);
    expect(readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.part'))).toEqual([]);
  });

  it('skips a video shorter than the clip window and says so', async () => {
    const rep = await buildDataset(iterate(records.slice(0, 2)), opts(path.join(t.dir, 'ds-win'), { labels: 'list', clip: 'window:2s', split: '1,0,0' }), deps);
    expect(rep.clips).toBe(2);
    await expect(buildDataset(iterate(records.slice(0, 1)), opts(path.join(t.dir, 'ds-win2'), { labels: 'list', clip: 'window:10s' }), deps)).rejects.toThrow(
      /clip window \(10 s\) is longer than the video \(3\.60 s\)/,
    );
  });
});

describe('dataset build of a variable frame rate video', () => {
  it('cuts each clip on the average rate grid scene detection numbered its frames on: all its frames, as long as the manifest says (a window of 0.98 s held 0.6 s of a 30 fps stretch)', async () => {
    const { probeVideo } = await import('../../src/analysis/index.js');
    const file = path.join(t.dir, 'vfr.mp4');
    // 30 frames a second for the first second, then one frame every 2/30 s: the average rate is 900/49 (18.37)
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', "testsrc2=size=160x120:rate=30:duration=3,setpts='if(lt(N,30),N/30/TB,(30+(N-30)*2)/30/TB)'", '-vsync', 'vfr', '-c:v', 'libx264', '-g', '15', file]);
    const record = sceneRecord(file, [], { label: 'vary' });
    record.metadata = await probeVideo(ffprobe, file);
    expect(record.metadata.variableFrameRate).toBe(true);
    const fps = record.metadata.fps;
    for (const audio of [false, true]) {
      const out = path.join(t.dir, `ds-vfr-${audio}`);
      const rep = await buildDataset(iterate([record]), opts(out, { labels: 'list', split: '1,0,0', format: ['folder'], dedup: false, clip: 'window:1s', audio }), deps);
      expect(rep.failed).toEqual([]);
      const clips = readManifest(out).clips;
      expect(clips.length).toBe(4);
      for (const c of clips) {
        const got = await probeClip(path.join(out, c.path));
        expect(got.frames, `${c.id} (audio: ${audio})`).toBe(Math.round(fps));
        expect(Math.abs(got.duration - c.durationSec), `${c.id} (audio: ${audio})`).toBeLessThan(0.5 / fps);
      }
    }
  });
});

describe('a split --split gives a share that gets no clip', () => {
  it('is reported with why (a val asked for, none made: a trainer found no val list, and the build said nothing)', async () => {
    const { formatReport } = await import('../../src/cli/commands/dataset-command.js');
    const out = path.join(t.dir, 'ds-empty-val');
    // one video per class: each class's first video goes to train
    const rep = await buildDataset(iterate([records[0]!, records[2]!]), opts(out, { labels: 'list', split: '0.5,0.5,0', format: ['folder'], dedup: false }), deps);
    expect(rep.perSplit).toEqual({ train: 6, val: 0, test: 0 });
    expect(rep.emptySplits).toEqual([{ split: 'val', ratio: 0.5 }]);
    expect(formatReport(rep)).toContain('videodex: dataset: val has no clips though --split gives it 0.5: each video\'s clips go to one split, and the 2 video(s) of 2 class(es) left none for it');
    const full = await buildDataset(iterate(records), opts(path.join(t.dir, 'ds-full-val'), { labels: 'list', split: '0.5,0.5,0', format: ['folder'], dedup: false }), deps);
    expect(full.perSplit.val).toBeGreaterThan(0);
    expect(full.emptySplits).toEqual([]);
  });
});
