import { describe, expect, it } from 'vitest';
import {
  applyMinSceneLen,
  DEFAULT_SCENE_SETTINGS,
  findBoundaries,
  hsvAndDiff,
  hsvAt,
  hsvFrame,
  minSceneFrames,
  scenesFromBoundaries,
  scenesToCsv,
  scoreBoundaries,
  timecode,
  type FrameSeries,
} from '../../src/analysis/index.js';

function series(content: number[], intensity?: number[]): FrameSeries {
  const n = content.length;
  return {
    frames: n,
    content: Float32Array.from(content),
    intensity: Float32Array.from(intensity ?? content.map(() => 100)),
    blendDistance: new Float32Array(n).fill(Number.NaN),
    blendResidual: new Float32Array(n).fill(Number.NaN),
    halfWindow: 0,
    flashes: [],
  };
}

describe('HSV scoring (PySceneDetect content_val scale)', () => {
  const px = (r: number, g: number, b: number, n = 4) => Uint8Array.from(Array.from({ length: n }, () => [r, g, b]).flat());
  it('matches OpenCV 8-bit HSV: pure red to pure blue moves hue by 120 (of 180), S and V stay', () => {
    const a = hsvFrame(4);
    const b = hsvFrame(4);
    hsvAndDiff(px(255, 0, 0), a, null);
    const s = hsvAndDiff(px(0, 0, 255), b, a);
    expect(hsvAt(a, 0)).toEqual([0, 255, 255]);
    expect(hsvAt(b, 3)).toEqual([120, 255, 255]);
    expect(s.deltaHue).toBe(120);
    expect(s.content).toBe(40);
  });
  it('black to white: only V changes (255), content 85; intensity is the mean of R, G, B', () => {
    const a = hsvFrame(4);
    const b = hsvFrame(4);
    expect(hsvAndDiff(px(0, 0, 0), a, null).intensity).toBe(0);
    const s = hsvAndDiff(px(255, 255, 255), b, a);
    expect(s.content).toBe(85);
    expect(s.intensity).toBe(255);
  });
});

describe('boundaries', () => {
  const settings = { ...DEFAULT_SCENE_SETTINGS, dissolves: false };
  it('content: a cut where the score reaches the threshold, and min scene length from the first frame', () => {
    const c = new Array(60).fill(1);
    c[5] = 80; // too close to the start (15 frames)
    c[30] = 27; // exactly the threshold
    c[35] = 90; // too close to the cut at 30
    c[50] = 26.9; // under
    expect(findBoundaries(series(c), settings, 15).map((b) => b.frame)).toEqual([30]);
    expect(findBoundaries(series(c), settings, 0).map((b) => b.frame)).toEqual([5, 30, 35]);
  });
  it('flash frames found while streaming are not cuts', () => {
    const c = new Array(60).fill(1);
    c[20] = 90;
    c[22] = 90;
    const s = { ...series(c), flashes: [{ start: 20, end: 22 }] };
    expect(findBoundaries(s, settings, 0)).toEqual([]);
  });
  it('fades: a black run between pictures is one boundary in its middle; black at the very start or end is none', () => {
    const y = [0, 0, 100, 100, 100, 100, 80, 60, 40, 20, 5, 5, 5, 5, 20, 40, 60, 80, 100, 100, 100, 5, 5];
    const b = findBoundaries(series(new Array(y.length).fill(1), y), settings, 0);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ frame: 12, transition: 'fade', span: [5, 18] });
  });
  it('fades: a black frame or two after which the same picture returns (a flash) is no boundary; black before a new picture still is', () => {
    const content = new Array(40).fill(1);
    const intensity = new Array(40).fill(100);
    intensity[20] = 0;
    content[20] = 90;
    const glitch = { ...series(content, intensity), flashes: [{ start: 20, end: 21 }] };
    expect(findBoundaries(glitch, DEFAULT_SCENE_SETTINGS, 0)).toEqual([]);
    const dip = { ...series(content, intensity), flashes: [] };
    expect(findBoundaries(dip, DEFAULT_SCENE_SETTINGS, 0).map((b) => [b.frame, b.transition])).toEqual([[20, 'fade']]);
  });
  it('fades: the ramp into black at the very end, or out of black at the very start, absorbs its content spikes', () => {
    const out = [100, 100, 100, 100, 100, 100, 100, 80, 60, 40, 20, 5, 5, 5];
    const c = new Array(out.length).fill(1);
    c[11] = 80;
    expect(findBoundaries(series(c, out), settings, 0)).toEqual([]);
    const into = [...out].reverse();
    expect(findBoundaries(series([...c].reverse(), into), settings, 0)).toEqual([]);
  });
  it('fades through white: a white run a ramp reaches or leaves is one boundary in its middle; white reached by a cut, or at the very end, is none', () => {
    const y = [100, 100, 100, 100, 100, 100, 130, 160, 190, 220, 250, 250, 250, 250, 220, 190, 160, 130, 100, 100, 100, 100];
    const c = new Array(y.length).fill(1);
    // the hue of a near-white picture jumps where it becomes white: a content spike inside the ramp
    c[10] = 40;
    c[14] = 35;
    const b = findBoundaries(series(c, y), settings, 0);
    expect(b).toEqual([{ frame: 12, transition: 'fade', score: 150, span: [5, 18] }]);
    // cut in and out of a white picture: two cuts, as before
    const card = [100, 100, 100, 100, 100, 250, 250, 250, 250, 250, 250, 100, 100, 100, 100];
    const cc = new Array(card.length).fill(1);
    cc[5] = 60;
    cc[11] = 60;
    expect(findBoundaries(series(cc, card), settings, 0).map((x) => [x.frame, x.transition])).toEqual([[5, 'cut'], [11, 'cut']]);
    // a fade out to white at the very end: one scene, its spike absorbed
    const end = [100, 100, 100, 100, 100, 100, 130, 160, 190, 220, 250, 250, 250];
    const ce = new Array(end.length).fill(1);
    ce[10] = 40;
    expect(findBoundaries(series(ce, end), settings, 0)).toEqual([]);
  });
  it('adaptive: a spike among calm neighbours is a cut, a spike amid motion is not', () => {
    const c = new Array(40).fill(2);
    c[10] = 40;
    for (let i = 25; i < 35; i++) c[i] = 30;
    c[30] = 45;
    const b = findBoundaries(series(c), { ...settings, detector: 'adaptive' }, 0);
    expect(b.map((x) => x.frame)).toEqual([10]);
  });
  it('applyMinSceneLen keeps the earliest of close boundaries', () => {
    const mk = (frame: number) => ({ frame, transition: 'cut' as const, score: 50 });
    expect(applyMinSceneLen([mk(10), mk(20), mk(26), mk(40)], 10, 100).map((b) => b.frame)).toEqual([10, 20, 40]);
    // a last scene shorter than MinSceneLen joins the one before (a flash on the last frame is no scene of its own)
    expect(applyMinSceneLen([mk(10), mk(20), mk(99)], 10, 100).map((b) => b.frame)).toEqual([10, 20]);
    expect(applyMinSceneLen([mk(10), mk(20), mk(90)], 10, 100).map((b) => b.frame)).toEqual([10, 20, 90]);
    expect(applyMinSceneLen([mk(16)], 15, 24).map((b) => b.frame)).toEqual([]);
    expect(applyMinSceneLen([mk(99)], 0, 100).map((b) => b.frame)).toEqual([99]);
  });
});

describe('MinSceneLen', () => {
  it('reads frames, seconds and timecodes', () => {
    expect(minSceneFrames('15', 25)).toBe(15);
    expect(minSceneFrames('0.6s', 25)).toBe(15);
    expect(minSceneFrames('0.5', 30)).toBe(15);
    expect(minSceneFrames('00:00:01.000', 24)).toBe(24);
    expect(() => minSceneFrames('soon', 25)).toThrow(/MinSceneLen "soon"/);
  });
});

describe('scene list and CSV', () => {
  it('scenes cover every frame, end exclusive', () => {
    const scenes = scenesFromBoundaries([{ frame: 40, transition: 'cut', score: 99 }, { frame: 70, transition: 'fade', score: 120 }], 100, 25);
    expect(scenes.map((s) => [s.startFrame, s.endFrame, s.transition])).toEqual([[0, 40, 'start'], [40, 70, 'cut'], [70, 100, 'fade']]);
    expect(scenes[1]).toMatchObject({ startSec: 1.6, endSec: 2.8, score: 99 });
  });
  it('timecodes as PySceneDetect prints them', () => {
    expect(timecode(0, 25)).toBe('00:00:00.000');
    expect(timecode(40, 25)).toBe('00:00:01.600');
    expect(timecode(1798, 30000 / 1001)).toBe('00:00:59.993');
    expect(timecode(1799, 30000 / 1001)).toBe('00:01:00.027');
    expect(timecode(90000, 25)).toBe('01:00:00.000');
    expect(timecode(1499, 25)).toBe('00:00:59.960');
  });
  it('CSV is byte for byte what PySceneDetect 0.7 list-scenes writes for the same cuts', () => {
    const scenes = scenesFromBoundaries([40, 70].map((frame) => ({ frame, transition: 'cut' as const, score: 50 })), 110, 25);
    expect(scenesToCsv(scenes, 25)).toBe(
      'Timecode List:,00:00:01.600,00:00:02.800\n' +
        'Scene Number,Start Frame,Start Timecode,Start Time (seconds),End Frame,End Timecode,End Time (seconds),Length (frames),Length (timecode),Length (seconds)\n' +
        '1,1,00:00:00.000,0.000,40,00:00:01.600,1.600,40,00:00:01.600,1.600\n' +
        '2,41,00:00:01.600,1.600,70,00:00:02.800,2.800,30,00:00:01.200,1.200\n' +
        '3,71,00:00:02.800,2.800,110,00:00:04.400,4.400,40,00:00:01.600,1.600\n',
    );
    expect(scenesToCsv(scenes, 25, { includeCutList: false }).startsWith('Scene Number,')).toBe(true);
  });
});

describe('scoreBoundaries', () => {
  it('matches cuts within the tolerance and gradual transitions inside their span, one to one', () => {
    const a = scoreBoundaries([10, 12, 52, 99], [{ kind: 'cut', frame: 11 }, { kind: 'dissolve', from: 40, to: 60 }, { kind: 'cut', frame: 80 }]);
    expect(a.matched).toBe(2);
    expect(a.precision).toBe(0.5);
    expect(a.recall).toBeCloseTo(2 / 3);
    expect(a.falsePositives).toEqual([12, 99]);
    expect(a.missed).toEqual([{ kind: 'cut', frame: 80 }]);
  });
});
