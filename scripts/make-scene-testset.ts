/**
 * Scene-detection test set: concatenates ffmpeg lavfi sources with known transitions and writes the video plus
 * a `.truth.json` beside it (frame numbers of every cut, the frame spans of fades and dissolves, and where the
 * traps are: flashes and camera motion, which must not be cut).
 *
 *   npx tsx scripts/make-scene-testset.ts [--case mixed|cuts|fades|dissolves|flash|motion] [--size 1280x720]
 *       [--fps 25] [--min-seconds 60] [--preset veryfast] [--out DIR]
 *
 * Needs an ffmpeg with xfade (4.3+; the system ffmpeg, not the 2018 bundled build).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findOnPath, runTool } from '../src/core/index.js';
import type { TruthTransition } from '../src/analysis/scenes/index.js';

export type TestCase = 'mixed' | 'cuts' | 'fades' | 'dissolves' | 'flash' | 'motion';

interface Segment {
  /** lavfi source, `{W}`/`{H}` replaced by the size it should render at. */
  source: string;
  seconds: number;
  /** How this segment begins after the previous one. */
  enter?: 'cut' | 'fade' | 'dissolve';
  /** Dissolve length in seconds. */
  dissolveSec?: number;
  motion?: 'pan' | 'zoom';
  /** White flashes: [second inside the segment, frames]. */
  flashes?: Array<[number, number]>;
}

export interface TestSetTruth {
  case: TestCase;
  fps: number;
  width: number;
  height: number;
  frames: number;
  transitions: TruthTransition[];
  /** Frames a detector must not cut at: flashes and motion, as [from, to]. */
  traps: Array<{ kind: 'flash' | 'motion'; from: number; to: number }>;
}

const SOURCES = {
  testsrc2: 'testsrc2=s={W}x{H}',
  bars: 'smptehdbars=s={W}x{H}',
  testsrc: 'testsrc=s={W}x{H}',
  // ffmpeg 5.1's gradients source picks random colours whatever the seed, which made the test set (and so the
  // accuracy tests) vary from run to run; with its colours given it renders the same every time.
  gradients: 'gradients=s={W}x{H}:speed=0.02:n=3:seed=7:c0=0x3050c0:c1=0xd08030:c2=0x40a060',
  sierpinski: 'sierpinski=s={W}x{H}:seed=3',
  chart: 'colorchart=patch_size={P}x{P}',
  testsrc2Hue: 'testsrc2=s={W}x{H},hue=h=140:s=0.7',
  pal: 'pal75bars=s={W}x{H}',
  rgb: 'rgbtestsrc=s={W}x{H}',
} as const;

const FADE_SEC = 0.48;
const BLACK_SEC = 0.24;

export function caseSegments(kind: TestCase): Segment[] {
  switch (kind) {
    case 'cuts':
      return [
        { source: SOURCES.testsrc2, seconds: 1.6 },
        { source: SOURCES.bars, seconds: 1.2, enter: 'cut' },
        { source: SOURCES.testsrc2Hue, seconds: 1.6, enter: 'cut' },
        { source: SOURCES.rgb, seconds: 1.6, enter: 'cut' },
        { source: SOURCES.testsrc, seconds: 1.2, enter: 'cut' },
        { source: SOURCES.gradients, seconds: 1.6, enter: 'cut' },
      ];
    case 'fades':
      return [
        { source: SOURCES.testsrc2, seconds: 2 },
        { source: SOURCES.bars, seconds: 2, enter: 'fade' },
        { source: SOURCES.chart, seconds: 2, enter: 'fade' },
      ];
    case 'dissolves':
      return [
        { source: SOURCES.testsrc2, seconds: 2.4 },
        { source: SOURCES.bars, seconds: 2.4, enter: 'dissolve', dissolveSec: 1 },
        { source: SOURCES.testsrc2Hue, seconds: 2.4, enter: 'dissolve', dissolveSec: 0.6 },
        { source: SOURCES.chart, seconds: 2.4, enter: 'dissolve', dissolveSec: 1.6 },
      ];
    case 'flash':
      return [
        { source: SOURCES.testsrc2, seconds: 3, flashes: [[0.8, 1], [2, 2]] },
        { source: SOURCES.pal, seconds: 1.6, enter: 'cut', flashes: [[0.8, 2]] },
      ];
    case 'motion':
      return [
        { source: SOURCES.testsrc2, seconds: 3, motion: 'pan' },
        { source: SOURCES.sierpinski, seconds: 3, enter: 'cut', motion: 'zoom' },
        { source: SOURCES.gradients, seconds: 2, enter: 'cut', motion: 'pan' },
      ];
    case 'mixed':
      return [
        { source: SOURCES.testsrc2, seconds: 3, flashes: [[1.5, 2]] },
        { source: SOURCES.bars, seconds: 2, enter: 'cut' },
        { source: SOURCES.testsrc, seconds: 2, enter: 'cut' },
        { source: SOURCES.testsrc2Hue, seconds: 3, enter: 'fade', flashes: [[1.2, 1]] },
        { source: SOURCES.testsrc2, seconds: 3, enter: 'dissolve', dissolveSec: 1, motion: 'pan' },
        { source: SOURCES.sierpinski, seconds: 3, enter: 'cut', motion: 'zoom' },
        { source: SOURCES.chart, seconds: 2, enter: 'dissolve', dissolveSec: 0.8 },
        { source: SOURCES.gradients, seconds: 3, enter: 'cut', motion: 'pan' },
        { source: SOURCES.rgb, seconds: 2, enter: 'fade' },
        { source: SOURCES.pal, seconds: 2, enter: 'cut' },
      ];
  }
}

export interface MakeOptions {
  file: string;
  kind?: TestCase;
  width?: number;
  height?: number;
  fps?: number;
  /** Repeat the case (by stream copy, each repeat entered by a hard cut) until the video is at least this long. */
  minSeconds?: number;
  preset?: string;
  crf?: number;
  ffmpeg?: string;
}

/** Renders the test video and its truth (also written to `<file>.truth.json`). */
export async function makeSceneTestset(options: MakeOptions): Promise<TestSetTruth> {
  const kind = options.kind ?? 'mixed';
  const W = options.width ?? 320;
  const H = options.height ?? 180;
  const fps = options.fps ?? 25;
  const ffmpeg = options.ffmpeg ?? findOnPath('ffmpeg') ?? 'ffmpeg';
  const segments = caseSegments(kind);
  const once = segments.reduce((sum, x) => sum + x.seconds, 0);
  const repeats = Math.max(1, Math.ceil((options.minSeconds ?? 0) / once));

  const frames = (sec: number) => Math.round(sec * fps);
  const graph: string[] = [];
  const transitions: TruthTransition[] = [];
  const traps: TestSetTruth['traps'] = [];
  let acc = '';
  let accFrames = 0;
  const norm = `fps=${fps},scale=${W}:${H},setsar=1,format=yuv420p,settb=AVTB`;
  segments.forEach((seg, i) => {
    const n = frames(seg.seconds);
    const big = seg.motion === 'pan';
    const sw = big ? 2 * W : W;
    const sh = big ? 2 * H : H;
    const src = seg.source.replaceAll('{W}', String(sw)).replaceAll('{H}', String(sh)).replaceAll('{P}', String(Math.max(8, Math.round(sw / 7))));
    // The rate goes on the source itself, before any filter that follows it.
    const [head, ...rest] = src.split(',');
    const chain: string[] = [`${head}:r=${fps}`, ...rest];
    if (seg.motion === 'pan') chain.push(`crop=${W}:${H}:x='(iw-ow)/2*(1+sin(2*PI*t/1.6))':y='(ih-oh)/2*(1+cos(2*PI*t/2.3))'`);
    if (seg.motion === 'zoom') chain.push(`zoompan=z='min(1+0.03*on,4)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=${W}x${H}:fps=${fps}`);
    chain.push(`trim=end_frame=${n}`, 'setpts=PTS-STARTPTS', norm);
    for (const [at, len] of seg.flashes ?? []) {
      const f0 = frames(at);
      chain.push(`drawbox=x=0:y=0:w=iw:h=ih:t=fill:c=white:enable='between(n,${f0},${f0 + len - 1})'`);
    }
    const enter = i === 0 ? undefined : seg.enter ?? 'cut';
    const fadeN = frames(FADE_SEC);
    if (enter === 'fade') chain.push(`fade=t=in:st=0:d=${FADE_SEC}`);
    if (segments[i + 1]?.enter === 'fade') chain.push(`fade=t=out:st=${(n - fadeN) / fps}:d=${FADE_SEC}`);
    graph.push(`${chain.join(',')}[s${i}]`);

    // Truth before joining (frame numbers in the output).
    let start = accFrames;
    if (enter === 'cut') transitions.push({ kind: 'cut', frame: accFrames });
    if (enter === 'fade') {
      const black = frames(BLACK_SEC);
      graph.push(`color=c=black:s=${W}x${H}:r=${fps}:d=${black / fps},${norm}[b${i}]`);
      graph.push(`[${acc}][b${i}]concat=n=2:v=1:a=0[j${i}b]`);
      acc = `j${i}b`;
      transitions.push({ kind: 'fade', from: accFrames - fadeN, to: accFrames + black + fadeN - 1 });
      accFrames += black;
      start = accFrames;
    }
    if (enter === 'dissolve') {
      const d = frames(seg.dissolveSec ?? 1);
      graph.push(`[${acc}][s${i}]xfade=transition=fade:duration=${d / fps}:offset=${(accFrames - d) / fps}[j${i}]`);
      transitions.push({ kind: 'dissolve', from: accFrames - d, to: accFrames - 1 });
      start = accFrames - d;
      accFrames += n - d;
    } else if (i === 0) {
      accFrames = n;
    } else {
      graph.push(`[${acc}][s${i}]concat=n=2:v=1:a=0[j${i}]`);
      accFrames += n;
    }
    acc = i === 0 ? 's0' : `j${i}`;
    for (const [at, len] of seg.flashes ?? []) traps.push({ kind: 'flash', from: start + frames(at), to: start + frames(at) + len - 1 });
    if (seg.motion) traps.push({ kind: 'motion', from: start, to: start + n - 1 });
  });

  mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
  const ext = path.extname(options.file);
  const part = `${options.file}.part${ext}`;
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-filter_complex', graph.join(';'), '-map', `[${acc}]`,
    '-c:v', 'libx264', '-preset', options.preset ?? 'ultrafast', '-crf', String(options.crf ?? 23), '-pix_fmt', 'yuv420p', '-frames:v', String(accFrames), part];
  await runTool(ffmpeg, args, { timeoutMs: 30 * 60_000 });
  let frameTotal = accFrames;
  if (repeats > 1) {
    // Longer sets repeat the rendered case by stream copy (fast): each repeat starts with a hard cut.
    const list = `${options.file}.list.txt`;
    writeFileSync(list, Array.from({ length: repeats }, () => `file '${path.resolve(part).replace(/'/g, "'\\''")}'`).join('\n') + '\n');
    const joined = `${options.file}.joined${ext}`;
    await runTool(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', joined], { timeoutMs: 30 * 60_000 });
    rmSync(list, { force: true });
    rmSync(part, { force: true });
    renameSync(joined, part);
    const one = { transitions: [...transitions], traps: [...traps] };
    for (let r = 1; r < repeats; r++) {
      const off = r * accFrames;
      transitions.push({ kind: 'cut', frame: off });
      for (const x of one.transitions) transitions.push(x.kind === 'cut' ? { kind: 'cut', frame: x.frame + off } : { kind: x.kind, from: x.from + off, to: x.to + off });
      for (const x of one.traps) traps.push({ kind: x.kind, from: x.from + off, to: x.to + off });
    }
    frameTotal = repeats * accFrames;
  }
  renameSync(part, options.file);
  const truth: TestSetTruth = { case: kind, fps, width: W, height: H, frames: frameTotal, transitions, traps };
  writeFileSync(`${options.file}.truth.json`, JSON.stringify(truth, null, 2));
  return truth;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const kind = (arg('case') ?? 'mixed') as TestCase;
  const [w, h] = (arg('size') ?? '320x180').split('x').map(Number);
  const out = arg('out') ?? 'scene-testset';
  const file = path.join(out, `${kind}-${w}x${h}.mp4`);
  const t0 = Date.now();
  const truth = await makeSceneTestset({
    file,
    kind,
    width: w!,
    height: h!,
    fps: Number(arg('fps') ?? 25),
    minSeconds: Number(arg('min-seconds') ?? 0),
    preset: arg('preset') ?? 'ultrafast',
  });
  console.log(`${file}: ${truth.frames} frames, ${truth.transitions.length} transitions, ${truth.traps.length} traps (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
