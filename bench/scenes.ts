/**
 * Scene detection speed and accuracy, in one run on the same file:
 *   (a) ffmpeg decode-only (`ffmpeg -i f -f null -`): the floor of any detector that decodes every frame;
 *       and the same without deblocking (`-skip_loop_filter all`), which videodex's reader uses;
 *   (b) videodex scene detection (defaults: content detector + fades + dissolves + flash cap);
 *   (c) PySceneDetect `detect-content list-scenes` (the copy at ../shared/baselines/scenedetect; it needs Debian's
 *       python3-opencv python3-numpy python3-click python3-platformdirs python3-tqdm);
 *   (d) ffmpeg's own `scdet` filter (when the ffmpeg has it), for reference.
 * The input is the generated test set (scripts/make-scene-testset.ts, "mixed": hard cuts, fades through black,
 * dissolves, white flashes, fast pans and zooms) at 1280x720, H.264, at least 60 s. Methods run interleaved,
 * --rounds times; the median wall time of each counts. F1: cuts matched within 2 frames, a gradual transition
 * matched when the boundary falls inside it. Then peak RSS (Node + its ffmpeg) on a 10-minute 1080p file.
 *
 *   npx tsx bench/scenes.ts [--quick] [--rounds N] [--no-rss] [--scenedetect PATH]
 *
 * --quick: one round, no 10-minute RSS run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { makeSceneTestset, type TestSetTruth } from '../scripts/make-scene-testset.js';
import { DEFAULT_SCENE_SETTINGS, detectScenes, probeStreamShape, scoreBoundaries, type Accuracy } from '../src/analysis/index.js';
import { findOnPath, MediaTools, runTool } from '../src/core/index.js';
import { hasFlag, recordResult, repoRoot, workDir } from './bench-lib.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const QUICK = hasFlag('--quick');
const ROUNDS = Number(argValue('--rounds') ?? (QUICK ? 1 : 5));
const RSS = !QUICK && !hasFlag('--no-rss');

function scenedetectPath(): string | null {
  const candidates = [argValue('--scenedetect'), path.resolve(repoRoot, '../shared/baselines/scenedetect'), path.resolve(repoRoot, '../../shared/baselines/scenedetect'), '/work/shared/baselines/scenedetect'];
  return candidates.find((c): c is string => Boolean(c && existsSync(c))) ?? null;
}

/** Runs a program; resolves with its wall time and stderr (the programs here print their findings there). */
function timedRun(cmd: string, args: string[]): Promise<{ ms: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, stderr }) : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${stderr.slice(-400)}`))));
  });
}

/**
 * CPU time (ms) of this process's waited-for children so far, from /proc/self/stat (cutime + cstime, in clock
 * ticks of 1/100 s on Linux). Contention on a shared machine stretches wall time but not CPU time.
 */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function pct(x: number): string {
  return (100 * x).toFixed(1);
}

/** Cut-only and gradual-only recall, for the table. */
function breakdown(detected: number[], truth: TestSetTruth): { cutRecall: number; gradualRecall: number; all: Accuracy } {
  const all = scoreBoundaries(detected, truth.transitions, 2);
  const cuts = truth.transitions.filter((x) => x.kind === 'cut');
  const gradual = truth.transitions.filter((x) => x.kind !== 'cut');
  const missed = new Set(all.missed);
  return {
    cutRecall: cuts.filter((x) => !missed.has(x)).length / Math.max(1, cuts.length),
    gradualRecall: gradual.filter((x) => !missed.has(x)).length / Math.max(1, gradual.length),
    all,
  };
}

async function testFile(ffmpeg: string, name: string, opts: Omit<Parameters<typeof makeSceneTestset>[0], 'file'>): Promise<{ file: string; truth: TestSetTruth }> {
  const file = path.join(workDir('scenes'), name);
  if (existsSync(file) && existsSync(`${file}.truth.json`)) return { file, truth: JSON.parse(readFileSync(`${file}.truth.json`, 'utf8')) as TestSetTruth };
  const t0 = performance.now();
  process.stderr.write(`generating ${name}...\n`);
  const truth = await makeSceneTestset({ ...opts, file, ffmpeg });
  process.stderr.write(`generated ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return { file, truth };
}

async function rssChild(file: string): Promise<{ nodeMaxRss: number; ffmpegPeakRss: number; frames: number; ms: number }> {
  // A fresh process, so the figure is the detector's own footprint (tsx's loader included).
  const out = await runTool(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/scenes.ts'), '--rss-child', file], { timeoutMs: 60 * 60_000, cwd: repoRoot });
  return JSON.parse(out.stdout.toString('utf8').trim().split('\n').at(-1)!) as { nodeMaxRss: number; ffmpegPeakRss: number; frames: number; ms: number };
}

async function main(): Promise<void> {
  const child = argValue('--rss-child');
  const ffmpeg = findOnPath('ffmpeg');
  const ffprobe = findOnPath('ffprobe');
  if (!ffmpeg || !ffprobe) throw new Error('bench needs ffmpeg and ffprobe on PATH');
  if (child) {
    const shape = await probeStreamShape(ffprobe, child);
    const r = await detectScenes({ ffmpeg, file: child, shape, settings: DEFAULT_SCENE_SETTINGS });
    process.stdout.write(JSON.stringify({ nodeMaxRss: process.resourceUsage().maxRSS * 1024, ffmpegPeakRss: r.ffmpegPeakRss ?? 0, frames: r.frames, ms: r.ms }) + '\n');
    return;
  }
  const tools = await MediaTools.resolve({ ffmpeg, ffprobe });
  const psd = scenedetectPath();
  const { file, truth } = await testFile(ffmpeg, 'mixed-1280x720-60s.mp4', { kind: 'mixed', width: 1280, height: 720, fps: 25, minSeconds: 60, preset: 'veryfast' });
  const shape = await probeStreamShape(ffprobe, file);
  const frames = truth.frames;
  process.stderr.write(`input: ${path.relative(repoRoot, file)}, ${frames} frames (${(frames / 25).toFixed(0)} s), ${truth.transitions.length} transitions; ${ROUNDS} round(s)\n`);

  const times: Record<'decode' | 'decodeNoDeblock' | 'videodex' | 'pyscenedetect', number[]> = { decode: [], decodeNoDeblock: [], videodex: [], pyscenedetect: [] };
  const cpu: Record<'decode' | 'videodex' | 'pyscenedetect', number[]> = { decode: [], videodex: [], pyscenedetect: [] };
  // videodex's own share (Node: reading and scoring), to tell it from its ffmpeg's decoding and scaling.
  const nodeCpu: number[] = [];
  const vdxFfmpegCpu: number[] = [];
  const cpuOf = async (key: keyof typeof cpu, withSelf: boolean, fn: () => Promise<unknown>) => {
    const c0 = childrenCpuMs();
    const s0 = selfCpuMs();
    await fn();
    const self = selfCpuMs() - s0;
    const children = childrenCpuMs() - c0;
    if (withSelf) {
      nodeCpu.push(self);
      vdxFfmpegCpu.push(children);
    }
    cpu[key].push(children + (withSelf ? self : 0));
  };
  let vdxBoundaries: number[] = [];
  let psdBoundaries: number[] = [];
  const psdOut = path.join(workDir('scenes'), 'pyscenedetect-out');
  for (let round = 0; round < ROUNDS; round++) {
    await cpuOf('decode', false, async () => times.decode.push((await timedRun(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', file, '-f', 'null', '-'])).ms));
    // What videodex's decoder does: no deblocking (the part of its speed that comes from decoding less).
    times.decodeNoDeblock.push((await timedRun(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-skip_loop_filter', 'all', '-i', file, '-f', 'null', '-'])).ms);
    await cpuOf('videodex', true, async () => {
      const t0 = performance.now();
      const r = await detectScenes({ ffmpeg, file, shape, settings: DEFAULT_SCENE_SETTINGS });
      times.videodex.push(performance.now() - t0);
      vdxBoundaries = r.boundaries.map((b) => b.frame);
    });
    if (psd) {
      rmSync(psdOut, { recursive: true, force: true });
      mkdirSync(psdOut, { recursive: true });
      await cpuOf('pyscenedetect', false, async () => times.pyscenedetect.push((await timedRun(psd, ['-i', file, '-q', 'detect-content', 'list-scenes', '-q', '-o', psdOut])).ms));
      const csv = readdirSync(psdOut).find((f) => f.endsWith('.csv'));
      if (!csv) throw new Error('PySceneDetect wrote no CSV');
      const rows = parse(readFileSync(path.join(psdOut, csv), 'utf8'), { relax_column_count: true }) as string[][];
      const header = rows.findIndex((r) => r[0] === 'Scene Number');
      psdBoundaries = rows.slice(header + 2).map((r) => Number(r[1]) - 1);
    }
    process.stderr.write(`round ${round + 1}: decode ${(times.decode.at(-1)! / 1000).toFixed(2)} s, videodex ${(times.videodex.at(-1)! / 1000).toFixed(2)} s${psd ? `, PySceneDetect ${(times.pyscenedetect.at(-1)! / 1000).toFixed(2)} s` : ''}\n`);
  }

  // (d) ffmpeg's scdet, one round, for reference (absent from the 2018 bundled build).
  let scdet: { ms: number; f1: number } | null = null;
  if (await tools.hasFilter('scdet')) {
    const run = await timedRun(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'info', '-i', file, '-vf', 'scdet=threshold=10', '-f', 'null', '-']);
    const cutFrames = [...run.stderr.matchAll(/lavfi\.scd\.time:\s*([\d.]+)/g)].map((m) => Math.round(Number(m[1]) * shape.fps));
    scdet = { ms: run.ms, f1: scoreBoundaries(cutFrames, truth.transitions, 2).f1 };
  }

  const dec = median(times.decode);
  const vdx = median(times.videodex);
  const decNoDeblock = median(times.decodeNoDeblock);
  // Each round's videodex run against the decode-only run just before it: the machine's speed drifts by 10-20%
  // between seconds on a shared host, and a ratio of neighbours cancels most of that drift.
  const paired = median(times.videodex.map((t, i) => t / times.decode[i]!));
  const pairedPy = times.pyscenedetect.length ? median(times.pyscenedetect.map((t, i) => t / times.videodex[i]!)) : NaN;
  const py = times.pyscenedetect.length ? median(times.pyscenedetect) : NaN;
  const fps = (ms: number) => (frames / ms) * 1000;
  const v = breakdown(vdxBoundaries, truth);
  const p = psd ? breakdown(psdBoundaries, truth) : null;

  const lines = [
    `method              wall s    fps   x decode   F1     P      R    cut R  gradual R`,
    `ffmpeg decode-only  ${(dec / 1000).toFixed(2).padStart(6)} ${fps(dec).toFixed(0).padStart(6)}   1.00`,
    `decode, no deblock  ${(decNoDeblock / 1000).toFixed(2).padStart(6)} ${fps(decNoDeblock).toFixed(0).padStart(6)}   ${(decNoDeblock / dec).toFixed(2)}`,
    `videodex            ${(vdx / 1000).toFixed(2).padStart(6)} ${fps(vdx).toFixed(0).padStart(6)}   ${(vdx / dec).toFixed(2)}     ${pct(v.all.f1)}  ${pct(v.all.precision)}  ${pct(v.all.recall)}  ${pct(v.cutRecall)}  ${pct(v.gradualRecall)}`,
    p ? `PySceneDetect       ${(py / 1000).toFixed(2).padStart(6)} ${fps(py).toFixed(0).padStart(6)}   ${(py / dec).toFixed(2)}     ${pct(p.all.f1)}  ${pct(p.all.precision)}  ${pct(p.all.recall)}  ${pct(p.cutRecall)}  ${pct(p.gradualRecall)}` : 'PySceneDetect       (not found: pass --scenedetect PATH)',
    scdet ? `ffmpeg scdet        ${(scdet.ms / 1000).toFixed(2).padStart(6)} ${fps(scdet.ms).toFixed(0).padStart(6)}   ${(scdet.ms / dec).toFixed(2)}     ${pct(scdet.f1)}` : 'ffmpeg scdet        (filter missing)',
    p ? `videodex is ${(py / vdx).toFixed(2)}x faster than PySceneDetect` : '',
    `paired per round (median of each round's ratio): videodex ${paired.toFixed(3)}x decode-only${p ? `, ${pairedPy.toFixed(2)}x faster than PySceneDetect` : ''}`,
    `CPU time (immune to other jobs' load): decode-only ${(median(cpu.decode) / 1000).toFixed(2)} s, videodex ${(median(cpu.videodex) / 1000).toFixed(2)} s (${(median(cpu.videodex) / median(cpu.decode)).toFixed(2)}x; its ffmpeg ${(median(vdxFfmpegCpu) / 1000).toFixed(2)} s, Node ${(median(nodeCpu) / 1000).toFixed(2)} s)${p ? `, PySceneDetect ${(median(cpu.pyscenedetect) / 1000).toFixed(2)} s (${(median(cpu.pyscenedetect) / median(cpu.decode)).toFixed(2)}x)` : ''}`,
  ];
  process.stdout.write(lines.filter(Boolean).join('\n') + '\n');

  const figures: Record<string, number | string | boolean> = {
    input: '1280x720 H.264 mixed test set',
    frames,
    rounds: ROUNDS,
    decodeMs: Math.round(dec),
    decodeNoDeblockMs: Math.round(decNoDeblock),
    videodexMs: Math.round(vdx),
    videodexFps: Math.round(fps(vdx)),
    videodexOverDecode: Number((vdx / dec).toFixed(3)),
    videodexOverDecodePaired: Number(paired.toFixed(3)),
    decodeCpuMs: Math.round(median(cpu.decode)),
    videodexCpuMs: Math.round(median(cpu.videodex)),
    videodexCpuOverDecode: Number((median(cpu.videodex) / median(cpu.decode)).toFixed(3)),
    videodexNodeCpuMs: Math.round(median(nodeCpu)),
    videodexF1: Number(v.all.f1.toFixed(4)),
    videodexCutRecall: Number(v.cutRecall.toFixed(4)),
    videodexGradualRecall: Number(v.gradualRecall.toFixed(4)),
  };
  if (p) {
    Object.assign(figures, {
      pyscenedetectMs: Math.round(py),
      pyscenedetectFps: Math.round(fps(py)),
      pyscenedetectOverDecode: Number((py / dec).toFixed(3)),
      pyscenedetectF1: Number(p.all.f1.toFixed(4)),
      speedupVsPyscenedetect: Number((py / vdx).toFixed(3)),
      speedupVsPyscenedetectPaired: Number(pairedPy.toFixed(3)),
      pyscenedetectCpuMs: Math.round(median(cpu.pyscenedetect)),
      pyscenedetectCpuOverDecode: Number((median(cpu.pyscenedetect) / median(cpu.decode)).toFixed(3)),
    });
  }
  if (scdet) Object.assign(figures, { scdetOverDecode: Number((scdet.ms / dec).toFixed(3)), scdetF1: Number(scdet.f1.toFixed(4)) });

  if (RSS) {
    const big = await testFile(ffmpeg, 'cuts-1920x1080-600s.mp4', { kind: 'cuts', width: 1920, height: 1080, fps: 25, minSeconds: 600, preset: 'veryfast' });
    const r = await rssChild(big.file);
    const mb = (b: number) => Math.round(b / 1024 / 1024);
    process.stdout.write(`10-minute 1080p (${r.frames} frames): ${(r.ms / 1000).toFixed(1)} s, ${Math.round((r.frames / r.ms) * 1000)} fps; peak RSS node ${mb(r.nodeMaxRss)} MB + ffmpeg ${mb(r.ffmpegPeakRss)} MB = ${mb(r.nodeMaxRss + r.ffmpegPeakRss)} MB\n`);
    Object.assign(figures, { rss1080pNodeMB: mb(r.nodeMaxRss), rss1080pFfmpegMB: mb(r.ffmpegPeakRss), rss1080pTotalMB: mb(r.nodeMaxRss + r.ffmpegPeakRss), fps1080p: Math.round((r.frames / r.ms) * 1000) });
  }
  recordResult('scenes', figures);
}

main().catch((err) => {
  process.stderr.write(`bench/scenes: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
