import { describe, expect, it } from 'vitest';
import {
  assignSplits,
  capPerClass,
  dhashFrame,
  findDuplicates,
  hashDistance,
  labelDirName,
  labelsOf,
  parseClipMode,
  parseFormats,
  parseLabelSource,
  parseSplit,
  planClips,
  spread,
  youtubeIdOf,
  type AssignedClip,
  type PlannedClip,
} from '../../src/export/dataset/index.js';
import { ConfigError } from '../../src/core/index.js';
import { makeRecord } from '../helpers/records.js';

const baseOpts = { labels: { kind: 'list' } as const, clip: { kind: 'scene' } as const, minClipSec: 1, maxClipSec: 4, maxClipsPerVideo: 0 };

function scenes(frames: number[], fps = 25) {
  let at = 0;
  return frames.map((n, index) => {
    const s = { index, startSec: at / fps, endSec: (at + n) / fps, startFrame: at, endFrame: at + n, transition: 'cut' as const, score: 1 };
    at += n;
    return s;
  });
}

function rec(frames: number[], extra: Parameters<typeof makeRecord>[0] = {}) {
  const total = frames.reduce((a, b) => a + b, 0);
  const r = makeRecord({ scenes: scenes(frames), ...extra });
  r.metadata = { ...r.metadata!, fps: 25, durationSec: total / 25, frameCount: total };
  r.source = { ...r.source, list: { file: 'l.csv', label: 'jump', ...(r.source.list ?? {}) } };
  return r;
}

describe('planClips', () => {
  it('cuts one clip per scene on its frames, skips short scenes and splits long ones evenly', () => {
    const r = rec([50, 10, 250, 25]);
    const plan = planClips(r, baseOpts);
    expect(plan.reason).toBeNull();
    // 50 frames: kept; 10 (<25): skipped; 250 (10 s) with max 4 s (100 frames): 3 parts of 83/84; 25: exactly the min
    expect(plan.clips.map((c) => [c.startFrame, c.endFrame])).toEqual([[0, 50], [60, 143], [143, 227], [227, 310], [310, 335]]);
    expect(plan.clips[0]!.startSec).toBe(0);
    expect(plan.clips[1]!.startSec).toBeCloseTo(60 / 25, 9);
    expect(plan.clips.every((c) => !c.id.includes('.'))).toBe(true);
    expect(plan.clips[1]!.scene).toBe(2);
  });

  it('cuts fixed windows with a stride, within the list row time range', () => {
    const r = rec([500]);
    r.source.list = { file: 'l.csv', label: 'jump', start: 2, end: 12 };
    const plan = planClips(r, { ...baseOpts, clip: parseClipMode('window:4s:3s') });
    expect(plan.clips.map((c) => [c.startSec, c.endSec])).toEqual([[2, 6], [5, 9], [8, 12]]);
  });

  it('starts window k on the frame nearest k strides, without adding up the rounding of the stride', () => {
    // 0.5 s at 25 fps is 12.5 frames: rounded once and added up it drifted 20 ms a window (0, 520, 1040, 1560, 2080 ms)
    const r = rec([75]);
    const plan = planClips(r, { ...baseOpts, clip: parseClipMode('window:1s:0.5s') });
    const starts = plan.clips.map((c) => c.startSec * 1000);
    expect(starts).toHaveLength(5);
    starts.forEach((ms, k) => expect(Math.abs(ms - k * 500)).toBeLessThanOrEqual(20));
    expect(plan.clips.map((c) => c.startFrame)).toEqual([0, 13, 25, 38, 50]);
    expect(plan.clips.every((c) => c.endFrame - c.startFrame === 25)).toBe(true);
    // many windows: the last start is still on its own frame, not 20 ms late per window before it
    const long = planClips(rec([25 * 60]), { ...baseOpts, clip: parseClipMode('window:1s:0.5s') });
    expect(long.clips).toHaveLength(119);
    expect(long.clips.at(-1)!.startFrame).toBe(Math.round(118 * 12.5));
    expect(long.clips.at(-1)!.startSec).toBeCloseTo(59, 6);
    // a stride under a frame still moves a frame a window
    expect(planClips(rec([30]), { ...baseOpts, clip: parseClipMode('window:1s:10ms') }).clips.map((c) => c.startFrame)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("uses the whole file of a list row cut at acquisition, and the row's range of a file that was not cut", () => {
    const cut = rec([50]);
    cut.source.list = { file: 'l.csv', label: 'jump', start: 1, end: 3, trim: 'copy' };
    const whole = planClips(cut, baseOpts);
    expect(whole.clips.map((c) => [c.startFrame, c.endFrame, c.startSec, c.endSec, c.sourceOffsetSec])).toEqual([[0, 50, 0, 2, 1]]);
    // start past the file's length (2.5-5.5 s of a 4 s video, cut to 1.5 s): still the whole cut
    const late = rec([38]);
    late.source.list = { file: 'l.csv', label: 'jump', start: 2.5, end: 5.5, trim: 'reencode' };
    expect(planClips(late, baseOpts).clips.map((c) => [c.startFrame, c.endFrame, c.sourceOffsetSec])).toEqual([[0, 38, 2.5]]);
    // the same row on a full-length file (never cut): its range of the file, on the file's own timeline
    const full = rec([100]);
    full.source.list = { file: 'l.csv', label: 'jump', start: 1, end: 3 };
    expect(planClips(full, baseOpts).clips.map((c) => [c.startFrame, c.endFrame, c.startSec, c.endSec, c.sourceOffsetSec])).toEqual([[25, 75, 1, 3, 0]]);
    const far = rec([100]);
    far.source.list = { file: 'l.csv', label: 'jump', start: 5, end: 8 };
    expect(planClips(far, baseOpts).reason).toMatch(/the list's time range 5-8 s is outside the video \(4\.00 s\)/);
  });

  it('says why when the window is longer than the video, or there are no scenes or labels', () => {
    const short = rec([75]);
    const w = planClips(short, { ...baseOpts, clip: parseClipMode('window:5s') });
    expect(w.clips).toHaveLength(0);
    expect(w.reason).toMatch(/clip window \(5 s\) is longer than the video \(3\.00 s\)/);
    const noScenes = rec([100]);
    noScenes.scenes = [];
    expect(planClips(noScenes, baseOpts).reason).toMatch(/no scenes/);
    const unlabelled = rec([50]);
    unlabelled.source.list = undefined;
    expect(planClips(unlabelled, baseOpts).reason).toMatch(/no label from the labelled list/);
  });

  it('names a failed probe as the cause instead of asking to run process, which already ran', () => {
    const corrupt = rec([50]);
    corrupt.metadata = null;
    corrupt.stages = { probe: { status: 'failed', version: '4', inputHash: 'x', at: '2024-01-01T00:00:00.000Z', ms: 1, error: 'not a readable video: Invalid data found when processing input' } };
    const reason = planClips(corrupt, baseOpts).reason!;
    expect(reason).toMatch(/its probe failed \(not a readable video: Invalid data found when processing input\), so it gives no clip$/);
    expect(reason).not.toMatch(/run videodex process first/);
    const never = rec([50]);
    never.metadata = null;
    never.stages = {};
    expect(planClips(never, baseOpts).reason).toMatch(/not probed \(no duration or frame rate\); run videodex process first/);
  });

  it('spreads the per-video cap evenly', () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([1, 5, 8]);
    const plan = planClips(rec([30, 30, 30, 30, 30, 30]), { ...baseOpts, maxClipsPerVideo: 2 });
    expect(plan.clips.map((c) => c.scene)).toEqual([1, 4]);
  });
});

describe('labels', () => {
  it('reads categories by confidence, actions, tag prefixes and list labels', () => {
    const r = makeRecord({
      categories: [{ name: 'sport', source: 'ai', confidence: 0.4 }, { name: 'cooking', source: 'rule', confidence: 0.9 }],
      tags: [{ name: 'action/run', source: 'ai' }, { name: 'outdoor', source: 'rule' }, { name: 'action/jump', source: 'ai', confidence: 0.2 }],
    });
    expect(labelsOf(r, parseLabelSource('category'))).toEqual(['cooking', 'sport']);
    expect(labelsOf(r, parseLabelSource('tag:action/'))).toEqual(['run', 'jump']);
    expect(labelsOf(r, parseLabelSource('action'))).toEqual([]);
    expect(labelsOf(r, parseLabelSource('list'))).toEqual([]);
    const withActions = (actions: string[]) =>
      makeRecord({ ai: { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description: 'd', tags: [], actions, promptTokens: 0, completionTokens: 0, framesSent: 0, at: '2024-01-01T00:00:00.000Z' } });
    // typed composed and decomposed, one label
    expect(labelsOf(withActions(['cafe\u0301']), parseLabelSource('action'))).toEqual(['caf\u00e9']);
    expect(labelDirName('air drumming/../x')).toBe('air_drumming_.._x');
    expect(labelDirName('a'.repeat(119) + '🏃')).toBe('a'.repeat(119));
    expect(youtubeIdOf('https://www.youtube.com/watch?v=abc_DEF-12')).toBe('abc_DEF-12');
    expect(youtubeIdOf('https://youtu.be/xyz')).toBe('xyz');
    // one video (one split group) however it is linked
    expect(youtubeIdOf('https://www.youtube.com/live/abc_DEF-12?si=x')).toBe('abc_DEF-12');
    expect(youtubeIdOf('https://music.youtube.com/watch?v=abc_DEF-12')).toBe('abc_DEF-12');
    expect(youtubeIdOf('/videos/a.mp4')).toBeNull();
  });

  it('rejects bad options with one clear line', () => {
    expect(() => parseLabelSource('colour')).toThrow(ConfigError);
    expect(() => parseClipMode('window:abc')).toThrow(/not a duration/);
    expect(() => parseSplit('0.8,x')).toThrow(/ratios/);
    // a missing val is not a test ratio moved into val's place
    expect(() => parseSplit('0.8,,0.2')).toThrow(/--split "0\.8,,0\.2" is not allowed/);
    expect(parseSplit('0.8,0,0.2')).toEqual({ kind: 'ratio', ratios: { train: 0.8, val: 0, test: 0.2 } });
    // decimals only: 0x10 was 16, and ratios adding up past the largest number split into all zeros
    expect(() => parseSplit('0x10,1,1')).toThrow(/--split "0x10,1,1" is not allowed/);
    expect(() => parseSplit(`1${'0'.repeat(308)},1${'0'.repeat(308)},0`)).toThrow(/is not allowed/);
    expect(parseSplit('.5,.25,.25')).toEqual({ kind: 'ratio', ratios: { train: 0.5, val: 0.25, test: 0.25 } });
    expect(() => parseFormats(['folder', 'tfrecord'])).toThrow(/tfrecord/);
    expect(parseSplit('8,1,1')).toEqual({ kind: 'ratio', ratios: { train: 0.8, val: 0.1, test: 0.1 } });
    expect(parseFormats(['kinetics,wds'])).toEqual(['folder', 'webdataset', 'manifest']);
  });
});

function fakeVideos(n: number, labels: string[], seed = 1) {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, (_, i) => ({ videoId: `v${i}`, label: labels[i % labels.length]!, clips: 1 + Math.floor(rnd() * 9) }));
}

describe('assignSplits', () => {
  it('never puts one video in two splits, over many seeds, and is deterministic per seed', () => {
    const videos = fakeVideos(60, ['a', 'b', 'c']);
    const clips = videos.flatMap((v) => Array.from({ length: v.clips }, (_, k) => ({ videoId: v.videoId, k })));
    const seen = new Set<string>();
    for (let seed = 0; seed < 50; seed++) {
      const splits = assignSplits(videos, parseSplit('0.8,0.1,0.1'), seed);
      const perVideo = new Map<string, Set<string>>();
      for (const c of clips) {
        const s = splits.get(c.videoId)!;
        expect(s).toBeDefined();
        (perVideo.get(c.videoId) ?? perVideo.set(c.videoId, new Set()).get(c.videoId)!).add(s);
      }
      expect([...perVideo.values()].every((s) => s.size === 1)).toBe(true);
      expect(assignSplits([...videos].reverse(), parseSplit('0.8,0.1,0.1'), seed)).toEqual(splits);
      seen.add(JSON.stringify([...splits.entries()]));
    }
    expect(seen.size).toBeGreaterThan(40);
  });

  it('puts the videos cut from one source (a list\'s rows of one video) in one split, whatever their labels', () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ videoId: `row${i}`, label: i < 7 ? 'kick' : 'run', clips: 1, source: '/footage/long.mp4' }));
    const others = Array.from({ length: 40 }, (_, i) => ({ videoId: `v${i}`, label: ['kick', 'run'][i % 2]!, clips: 1, source: `/footage/v${i}.mp4` }));
    for (let seed = 0; seed < 20; seed++) {
      const splits = assignSplits([...rows, ...others], parseSplit('0.5,0.25,0.25'), seed);
      expect(new Set(rows.map((r) => splits.get(r.videoId))).size).toBe(1);
      expect(new Set(others.map((r) => splits.get(r.videoId))).size).toBe(3);
    }
    // a video alone in its source keeps the split it had before sources were grouped
    expect(assignSplits(others, parseSplit('0.5,0.25,0.25'), 3)).toEqual(assignSplits(others.map(({ source: _s, ...v }) => v), parseSplit('0.5,0.25,0.25'), 3));
  });

  it('stratifies by label: each class gets close to its share of clips in every split', () => {
    const videos = Array.from({ length: 90 }, (_, i) => ({ videoId: `v${i}`, label: ['a', 'b', 'c'][i % 3]!, clips: 4 }));
    const splits = assignSplits(videos, parseSplit('0.8,0.1,0.1'), 7);
    for (const label of ['a', 'b', 'c']) {
      const of = videos.filter((v) => v.label === label).map((v) => splits.get(v.videoId));
      expect(of.filter((s) => s === 'train')).toHaveLength(24);
      expect(of.filter((s) => s === 'val')).toHaveLength(3);
      expect(of.filter((s) => s === 'test')).toHaveLength(3);
    }
  });

  it("follows the list's split column and splits the rest by ratio", () => {
    const videos = [
      { videoId: 'a', label: 'x', clips: 1, listSplit: 'validate' },
      { videoId: 'b', label: 'x', clips: 1, listSplit: 'test' },
      { videoId: 'c', label: 'x', clips: 1, listSplit: 'training' },
      { videoId: 'd', label: 'x', clips: 1 },
    ];
    const splits = assignSplits(videos, parseSplit('list'), 0);
    expect(Object.fromEntries(splits)).toEqual({ a: 'val', b: 'test', c: 'train', d: 'train' });
  });

  it('sends a list row without a split where the rows of its source with one went, so the source is in one split', () => {
    const videos = [
      { videoId: 'listed', label: 'x', clips: 3, listSplit: 'test', source: 'https://www.youtube.com/watch?v=abcdefghijk' },
      { videoId: 'unlisted', label: 'x', clips: 1, source: 'https://www.youtube.com/watch?v=abcdefghijk' },
      { videoId: 'other', label: 'x', clips: 1, source: 'https://www.youtube.com/watch?v=zzzzzzzzzzz' },
    ];
    for (let seed = 0; seed < 10; seed++) {
      const splits = assignSplits(videos, parseSplit('list'), seed);
      expect(splits.get('unlisted')).toBe('test');
      expect(splits.get('other')).toBe('train');
    }
  });
});

function clip(id: string, videoId: string, label: string, split: AssignedClip['split'] = 'train'): AssignedClip {
  return { id, videoId, label, labels: [label], split, sourcePath: '', sourceUrl: '', youtubeId: null, startSec: 0, endSec: 1, startFrame: 0, endFrame: 25, sourceFps: 25, scene: 0, description: null } satisfies PlannedClip & { split: string };
}

describe('assignSplits over an earlier build', () => {
  const ratio = parseSplit('0.8,0.1,0.1');
  const first = Array.from({ length: 90 }, (_, i) => ({ videoId: `old${i}`, label: ['a', 'b', 'c'][i % 3]!, clips: 4, source: `/footage/old${i}.mp4` }));
  const added = Array.from({ length: 90 }, (_, i) => ({ videoId: `new${i}`, label: ['a', 'b', 'c'][i % 3]!, clips: 4, source: `/footage/new${i}.mp4` }));

  it('keeps each source in its earlier split and deals out only new ones, to the shares counted with the kept clips', () => {
    for (const seed of [0, 7, 11]) {
      const v1 = assignSplits(first, ratio, seed);
      const v2 = assignSplits([...added, ...first.map((v) => ({ ...v, earlier: v1.get(v.videoId)! }))], ratio, seed);
      for (const v of first) expect(v2.get(v.videoId), v.videoId).toBe(v1.get(v.videoId));
      for (const label of ['a', 'b', 'c']) {
        const of = [...first, ...added].filter((v) => v.label === label).map((v) => v2.get(v.videoId));
        expect([of.filter((s) => s === 'train').length, of.filter((s) => s === 'val').length, of.filter((s) => s === 'test').length]).toEqual([48, 6, 6]);
      }
    }
  });

  it('fills the split the kept clips left short, rather than dealing the new sources out as if alone', () => {
    const kept = Array.from({ length: 10 }, (_, i) => ({ videoId: `k${i}`, label: 'x', clips: 2, earlier: 'train' as const }));
    const fresh = Array.from({ length: 10 }, (_, i) => ({ videoId: `f${i}`, label: 'x', clips: 2 }));
    const splits = assignSplits([...kept, ...fresh], parseSplit('0.5,0.5,0'), 3);
    expect(fresh.map((v) => splits.get(v.videoId))).toEqual(Array(10).fill('val'));
  });

  it("keeps a whole source in one split, and lets a list row's own split column win over the earlier split", () => {
    const videos = [
      { videoId: 'r1', label: 'x', clips: 1, source: 'https://www.youtube.com/watch?v=abcdefghijk', earlier: 'val' as const },
      { videoId: 'r2', label: 'y', clips: 1, source: 'https://www.youtube.com/watch?v=abcdefghijk' },
      { videoId: 'listed', label: 'x', clips: 1, listSplit: 'test', earlier: 'train' as const },
      { videoId: 'follows', label: 'x', clips: 1, source: 'https://www.youtube.com/watch?v=zzzzzzzzzzz', listSplit: 'train', earlier: 'test' as const },
      { videoId: 'unlisted', label: 'x', clips: 1, source: 'https://www.youtube.com/watch?v=zzzzzzzzzzz', earlier: 'test' as const },
    ];
    for (let seed = 0; seed < 10; seed++) {
      const splits = assignSplits(videos, parseSplit('list'), seed);
      expect(Object.fromEntries(splits), String(seed)).toEqual({ r1: 'val', r2: 'val', listed: 'test', follows: 'train', unlisted: 'train' });
    }
  });
});

describe('capPerClass', () => {
  it('takes round-robin over videos so a cap keeps many videos', () => {
    const clips = [clip('a1', 'A', 'x'), clip('a2', 'A', 'x'), clip('a3', 'A', 'x'), clip('b1', 'B', 'x'), clip('c1', 'C', 'x'), clip('y1', 'A', 'y')];
    const kept = capPerClass(clips, 3, 0);
    expect(kept.filter((c) => c.label === 'x').map((c) => c.videoId).sort()).toEqual(['A', 'B', 'C']);
    expect(kept.some((c) => c.id === 'y1')).toBe(true);
  });
});

describe('dHash and duplicates', () => {
  it('hashes gradients and measures distance in bits per frame', () => {
    const ramp = Uint8Array.from({ length: 72 }, (_, i) => 255 - (i % 9) * 20);
    expect([...dhashFrame(ramp)]).toEqual(new Array(8).fill(255));
    expect([...dhashFrame(new Uint8Array(72))]).toEqual(new Array(8).fill(0));
    expect(hashDistance(Uint8Array.from([255, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array(8))).toBe(8);
  });

  it('removes cross-split duplicates first, keeping the split that holds most of the group', () => {
    const h = (b: number) => Uint8Array.from([b, 1, 2, 3, 4, 5, 6, 7]);
    const items = [
      { clip: clip('a', 'A', 'x', 'train'), hash: h(0b1111_0000) },
      { clip: clip('b', 'B', 'x', 'test'), hash: h(0b1111_0001) },
      { clip: clip('c', 'C', 'x', 'test'), hash: h(0b1111_0011) },
      { clip: clip('d', 'D', 'x', 'train'), hash: h(0b0000_1111) },
      { clip: clip('e', 'A', 'x', 'train'), hash: h(0b1111_0000) },
    ];
    const removed = findDuplicates(items, 2);
    expect(removed.map((r) => [r.clip, r.duplicateOf, r.crossSplit])).toEqual([
      ['a', 'b', true],
      ['e', 'b', true],
      ['c', 'b', false],
    ]);
  });

  it('keeps the earlier build\'s clip when a new video in another split is a near-copy of it (a model trained on that build saw it)', () => {
    const h = (b: number) => Uint8Array.from([b, 1, 2, 3, 4, 5, 6, 7]);
    const items = [
      { clip: clip('old', 'OLD', 'x', 'train'), hash: h(0b1111_0000) },
      { clip: clip('new', 'NEW', 'x', 'test'), hash: h(0b1111_0001) },
    ];
    // a first build: a tie keeps the test clip (evaluation splits matter more)
    expect(findDuplicates(items, 2).map((r) => [r.clip, r.duplicateOf])).toEqual([['old', 'new']]);
    // building again: the train clip was in the earlier build, so the new test copy goes
    expect(findDuplicates(items, 2, (c) => c.videoId === 'OLD').map((r) => [r.clip, r.duplicateOf, r.crossSplit])).toEqual([['new', 'old', true]]);
    // even when new copies outnumber it
    const more = [...items, { clip: clip('new2', 'NEW2', 'x', 'test'), hash: h(0b1111_0011) }];
    expect(findDuplicates(more, 2, (c) => c.videoId === 'OLD').map((r) => r.clip).sort()).toEqual(['new', 'new2']);
  });

  it('removes a clip only within the threshold of one kept, of another video: not at the far end of a chain, nor for its own video', () => {
    const frame = (bits: number) => Uint8Array.from([(1 << bits) - 1, 0, 0, 0, 0, 0, 0, 0]); // `bits` ones in a row
    const items = [
      { clip: clip('p', 'P', 'x', 'train'), hash: frame(0) },
      { clip: clip('q', 'Q', 'x', 'train'), hash: frame(2) }, // 2 from p
      { clip: clip('r', 'R', 'x', 'train'), hash: frame(4) }, // 2 from q, 4 from p
      { clip: clip('s1', 'S', 'y', 'val'), hash: Uint8Array.from([0, 255, 0, 0, 0, 0, 0, 0]) },
      { clip: clip('s2', 'S', 'y', 'val'), hash: Uint8Array.from([0, 255, 0, 0, 0, 0, 0, 0]) },
      { clip: clip('t', 'T', 'y', 'val'), hash: Uint8Array.from([0, 254, 0, 0, 0, 0, 0, 0]) },
    ];
    const removed = findDuplicates(items, 2);
    expect(removed.map((r) => [r.clip, r.duplicateOf, r.distance])).toEqual([
      ['q', 'p', 2],
      ['t', 's1', 1],
    ]);
    expect(removed.every((r) => r.distance <= 2)).toBe(true);
  });
});

describe('batching', () => {
  it('groups one video\'s clips into runs of at most 5 with small gaps, and samples hash frames evenly', async () => {
    const { batchClips, hashSampleIndices } = await import('../../src/export/dataset/clip-encoder.js');
    const mk = (s: number, e: number) => ({ startFrame: s, endFrame: e, sourceFps: 25 });
    const clips = [mk(0, 50), mk(50, 100), mk(100, 150), mk(150, 200), mk(200, 250), mk(250, 300), mk(300 + 25 * 6, 500)];
    expect(batchClips([...clips].reverse()).map((b) => b.length)).toEqual([5, 1, 1]);
    expect(hashSampleIndices(100, 4)).toEqual([12, 37, 62, 87]);
    expect(hashSampleIndices(2, 4)).toEqual([0, 1]);
  });
});

describe('stream copy range', () => {
  // Decode order of a stream with a keyframe every 8 frames and B-frames: I0 P4 B2 B1 B3 P7 B5 B6 | I8 P12 B10 B9 B11 ...
  const order = [0, 4, 2, 1, 3, 7, 5, 6];
  const packets = [0, 8, 16].flatMap((g) => order.map((f) => ({ pts: (g + f) / 25, key: f === 0 })));

  it('ends where decode and display order meet at or before the end, never on a frame shown after it', async () => {
    const { copyRange, packetIndex } = await import('../../src/export/dataset/clip-encoder.js');
    const index = packetIndex(packets);
    // [8, 16): the second GOP exactly
    expect(copyRange(index, 8 / 25, 16 / 25, 0.1)).toEqual({ startSec: 8 / 25, endSec: 16 / 25, frames: 8 });
    // [1, 14): starts at the keyframe 8; frame 15 is decoded before 13, so 8-12 is the longest exact run
    expect(copyRange(index, 1 / 25, 14 / 25, 0.1)).toEqual({ startSec: 8 / 25, endSec: 13 / 25, frames: 5 });
    // [8, 12): frame 12 is decoded before 9-11, so only the keyframe can end exactly
    expect(copyRange(index, 8 / 25, 12 / 25, 0.04)).toEqual({ startSec: 8 / 25, endSec: 9 / 25, frames: 1 });
    // too short once snapped, or no keyframe in range: re-encode instead
    expect(copyRange(index, 1 / 25, 14 / 25, 0.3)).toBeNull();
    expect(copyRange(index, 17 / 25, 24 / 25, 0.04)).toBeNull();
    // the last frames of the file
    expect(copyRange(index, 16 / 25, 24 / 25, 0.1)).toEqual({ startSec: 16 / 25, endSec: 24 / 25, frames: 8 });
  });
});
