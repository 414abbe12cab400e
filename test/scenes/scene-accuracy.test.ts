import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSceneTestset, type TestCase, type TestSetTruth } from '../../scripts/make-scene-testset.js';
import { DEFAULT_SCENE_SETTINGS, detectScenes, probeStreamShape, scoreBoundaries, type SceneSettings } from '../../src/analysis/index.js';
import { findOnPath, locateTool, runTool } from '../../src/core/index.js';
import { tempDir, testFfmpeg } from '../helpers/media.js';

const t = tempDir('videodex-scenes-');
const cases: Array<Exclude<TestCase, 'mixed'>> = ['cuts', 'fades', 'dissolves', 'flash', 'motion'];
const sets = new Map<TestCase, { file: string; truth: TestSetTruth }>();

beforeAll(async () => {
  for (const kind of cases) {
    const file = path.join(t.dir, `${kind}.mp4`);
    sets.set(kind, { file, truth: await makeSceneTestset({ file, kind, width: 320, height: 180, ffmpeg: testFfmpeg() }) });
  }
}, 600_000);
afterAll(() => t.cleanup());

async function run(kind: TestCase, settings: Partial<SceneSettings> = {}, ffmpeg = testFfmpeg()) {
  const { file, truth } = sets.get(kind)!;
  const shape = await probeStreamShape(findOnPath('ffprobe')!, file);
  const result = await detectScenes({ ffmpeg, file, shape, settings: { ...DEFAULT_SCENE_SETTINGS, ...settings } });
  expect(result.frames).toBe(truth.frames);
  return { result, accuracy: scoreBoundaries(result.boundaries.map((b) => b.frame), truth.transitions, 2), truth };
}

// Per case: the least precision and recall the default (content) detector must reach on the generated set.
const bars: Record<Exclude<TestCase, 'mixed'>, { precision: number; recall: number }> = {
  cuts: { precision: 1, recall: 1 },
  fades: { precision: 1, recall: 1 },
  dissolves: { precision: 0.9, recall: 0.9 },
  flash: { precision: 1, recall: 1 },
  motion: { precision: 1, recall: 1 },
};

describe('scene detection accuracy on the generated test set (content detector, defaults)', () => {
  for (const kind of cases) {
    it(`${kind}: precision >= ${bars[kind].precision}, recall >= ${bars[kind].recall}`, async () => {
      const { accuracy } = await run(kind);
      expect(accuracy.precision, `false boundaries at ${accuracy.falsePositives.join(', ')}`).toBeGreaterThanOrEqual(bars[kind].precision);
      expect(accuracy.recall, `missed ${JSON.stringify(accuracy.missed)}`).toBeGreaterThanOrEqual(bars[kind].recall);
    });
  }

  it('reports a fade through black as one boundary with transition "fade", inside the fade', async () => {
    const { result, truth } = await run('fades');
    const fades = result.boundaries.filter((b) => b.transition === 'fade');
    expect(fades).toHaveLength(2);
    truth.transitions.forEach((tr, i) => {
      if (tr.kind !== 'fade') throw new Error('expected fades');
      expect(fades[i]!.frame).toBeGreaterThanOrEqual(tr.from);
      expect(fades[i]!.frame).toBeLessThanOrEqual(tr.to);
    });
    expect(result.scenes.map((s) => s.transition)).toEqual(['start', 'fade', 'fade']);
  });

  it('finds a slow dissolve as a dissolve even with no content spike', async () => {
    const { result, truth } = await run('dissolves');
    const slow = truth.transitions.at(-1)!;
    if (slow.kind === 'cut') throw new Error('expected a dissolve');
    const hit = result.boundaries.find((b) => b.frame >= slow.from && b.frame <= slow.to);
    expect(hit?.transition).toBe('dissolve');
  });

  it('a flash is neither one nor two cuts; with the flash cap off it is', async () => {
    const capped = await run('flash');
    const traps = capped.truth.traps.filter((x) => x.kind === 'flash');
    const inFlash = (frames: number[]) => frames.filter((f) => traps.some((x) => f >= x.from && f <= x.to + 1));
    expect(inFlash(capped.result.boundaries.map((b) => b.frame))).toEqual([]);
    const uncapped = await run('flash', { flashFrames: 0, minSceneLen: '0' });
    expect(inFlash(uncapped.result.boundaries.map((b) => b.frame)).length).toBeGreaterThanOrEqual(2);
  });

  it('adaptive: no cuts in camera motion, all hard cuts found', async () => {
    for (const kind of ['cuts', 'motion'] as const) {
      const { accuracy } = await run(kind, { detector: 'adaptive' });
      expect(accuracy.f1).toBe(1);
    }
  });

  it('threshold: finds the fades only', async () => {
    const { accuracy, result } = await run('fades', { detector: 'threshold' });
    expect(accuracy.f1).toBe(1);
    expect(result.boundaries.every((b) => b.transition === 'fade')).toBe(true);
    const cuts = await run('cuts', { detector: 'threshold' });
    expect(cuts.result.boundaries).toEqual([]);
  });

  it('a lower threshold finds more, a higher one fewer (the PySceneDetect scale)', async () => {
    const low = await run('cuts', { threshold: 60 });
    const high = await run('cuts', { threshold: 200 });
    expect(low.result.boundaries.length).toBeGreaterThan(high.result.boundaries.length);
    // content_val of the test cuts lies between 60 and 130 on the 0-255 scale
    expect(high.result.boundaries).toEqual([]);
  });

  it('works with the 2018 bundled ffmpeg (no scdet, no xfade needed at run time)', async () => {
    let bundled: string;
    try {
      bundled = locateTool('ffmpeg', '', '').path;
    } catch {
      return expect.fail('the bundled @ffmpeg-installer/ffmpeg binary is missing');
    }
    const { accuracy } = await run('cuts', {}, bundled);
    expect(accuracy.f1).toBe(1);
  });
});

describe('fades through white (ffmpeg fade=color=white)', () => {
  const W = 320;
  const H = 180;
  const norm = `fps=25,scale=${W}:${H},setsar=1,format=yuv420p,settb=AVTB`;
  /** testsrc2 (50 frames) then `middle` then SMPTE bars (50 frames); returns the file. */
  async function make(name: string, chains: { a?: string; middle: string; b?: string }): Promise<string> {
    const file = path.join(t.dir, `${name}.mp4`);
    const graph = [
      `testsrc2=s=${W}x${H}:r=25,trim=end_frame=50,setpts=PTS-STARTPTS,${norm}${chains.a ? `,${chains.a}` : ''}[a]`,
      `${chains.middle},${norm}[m]`,
      `smptehdbars=s=${W}x${H}:r=25,trim=end_frame=50,setpts=PTS-STARTPTS,${norm}${chains.b ? `,${chains.b}` : ''}[b]`,
      '[a][m][b]concat=n=3:v=1:a=0[o]',
    ].join(';');
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-filter_complex', graph, '-map', '[o]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    return file;
  }
  async function boundaries(file: string, settings: Partial<SceneSettings> = {}) {
    const shape = await probeStreamShape(findOnPath('ffprobe')!, file);
    return (await detectScenes({ ffmpeg: testFfmpeg(), file, shape, settings: { ...DEFAULT_SCENE_SETTINGS, ...settings } })).boundaries.map((b) => [b.frame, b.transition]);
  }
  const fadeOut = (colour: string) => `fade=t=out:st=1.52:d=0.48:color=${colour}`;
  const fadeIn = (colour: string) => `fade=t=in:st=0:d=0.48:color=${colour}`;

  it('a fade out to white and in from it is one fade boundary in the middle of the white, as through black (it was a cut where the picture reached white)', async () => {
    for (const colour of ['black', 'white']) {
      // six frames of the colour between the ramps, then one: the middle is frame 53, then 51
      const held = await make(`fade-${colour}`, { a: fadeOut(colour), middle: `color=c=${colour}:s=${W}x${H}:r=25:d=0.24`, b: fadeIn(colour) });
      expect(await boundaries(held), colour).toEqual([[53, 'fade']]);
      const dip = await make(`dip-${colour}`, { a: fadeOut(colour), middle: `color=c=${colour}:s=${W}x${H}:r=25:d=0.04`, b: fadeIn(colour) });
      expect(await boundaries(dip), `${colour} dip`).toEqual([[51, 'fade']]);
      // the fades-only detector finds it too
      expect(await boundaries(held, { detector: 'threshold' }), `${colour} threshold`).toEqual([[53, 'fade']]);
    }
    // a cut to white, then a fade in from it, is a fade as well
    const cutThenFade = await make('cut-fade-white', { middle: `color=c=white:s=${W}x${H}:r=25:d=0.24`, b: fadeIn('white') });
    expect(await boundaries(cutThenFade)).toEqual([[53, 'fade']]);
  });

  it('a cut to a white picture and a cut away from it stay two cuts: only a picture turning white by degrees is a fade', async () => {
    const card = await make('white-card', { middle: `color=c=white:s=${W}x${H}:r=25:d=2,drawbox=x=100:y=80:w=120:h=6:c=black:t=fill` });
    expect(await boundaries(card)).toEqual([[50, 'cut'], [100, 'cut']]);
  });
});
