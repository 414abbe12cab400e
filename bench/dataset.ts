/**
 * Dataset build: N generated videos of 10 scenes (5 s each) into 5-second 224p clips with `buildDataset`
 * (records read from a SQLite store; clips cut under [Concurrency] Cpu jobs, each ffmpeg decoding a stretch of
 * one video once and writing up to 5 clips), against the equivalent bare ffmpeg commands, one per clip, run one
 * after another in the same run: (a) with videodex's encoder settings (x264 single-threaded), (b) the plain
 * command a person would type (ffmpeg's own threading). Also CPU seconds per clip (children's user+sys), the
 * cost of near-duplicate hashing, and peak RSS of the building process. Target: >= 1.8x clips/s vs (a).
 * Run: npx tsx bench/dataset.ts [--quick] [--videos N] [--concurrency N]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { configWith, findOnPath, runTool, type Video } from '../src/core/index.js';
import { buildDataset, datasetOptions, encodeArgs, readManifest, type PlannedClip } from '../src/export/index.js';
import { SqliteStore } from '../src/store/index.js';
import { sceneRecord } from '../test/helpers/scene-videos.js';
import { hasFlag, recordResult, rssSampler, timed, workDir } from './bench-lib.js';

/** CPU seconds used by finished child processes (ffmpeg), from /proc/self/stat cutime + cstime. */
function childCpuSec(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const QUICK = hasFlag('--quick');
const VIDEOS = arg('--videos', QUICK ? 10 : 50);
const SCENES = 10;
const SCENE_SEC = 5;
const FPS = 25;
const CPU = arg('--concurrency', 2);
/** Scene k of video v: a random texture of its own (Game of Life or a 1-D automaton, seeded), so no two scenes look alike. */
function sceneSource(v: number, k: number): string {
  const seed = v * 100 + k + 1;
  return k % 2 === 0
    ? `life=random_seed=${seed}:ratio=0.2:mold=8:life_color=#e0c080:death_color=#102040:mold_color=#607020`
    : `cellauto=random_seed=${seed}:rule=${[30, 90, 110, 150, 18][(v + k) % 5]}:scroll=1`;
}

async function makeVideo(ffmpeg: string, file: string, v: number): Promise<void> {
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  for (let k = 0; k < SCENES; k++) args.push('-f', 'lavfi', '-t', String(SCENE_SEC), '-i', `${sceneSource(v, k)}:s=480x360:r=${FPS}`);
  const chains = Array.from({ length: SCENES }, (_, k) => `[${k}:v]format=yuv420p[v${k}]`);
  const filter = `${chains.join(';')};${Array.from({ length: SCENES }, (_, k) => `[v${k}]`).join('')}concat=n=${SCENES}:v=1:a=0[out]`;
  args.push('-filter_complex', filter, '-map', '[out]', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FPS * 2), '-pix_fmt', 'yuv420p', file);
  await runTool(ffmpeg, args, { timeoutMs: 600_000 });
}

async function fixtures(ffmpeg: string): Promise<Video[]> {
  const dir = path.join(workDir('dataset'), `textures-${VIDEOS}`);
  mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: VIDEOS }, (_, v) => path.join(dir, `video-${String(v).padStart(3, '0')}.mp4`));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    process.stdout.write(`dataset bench: generating ${missing.length} videos (${SCENES} x ${SCENE_SEC} s scenes, 480x360)...\n`);
    const limit = pLimit(2);
    await Promise.all(files.map((f, v) => (existsSync(f) ? null : limit(() => makeVideo(ffmpeg, `${f}.part.mp4`, v).then(() => import('node:fs').then((fs) => fs.renameSync(`${f}.part.mp4`, f)))))));
  }
  const labels = ['jump', 'run', 'swim', 'climb', 'dance'];
  return files.map((f, v) =>
    sceneRecord(f, Array.from({ length: SCENES }, () => SCENE_SEC * FPS), { fps: FPS, width: 480, height: 360, label: labels[v % labels.length]!, categories: [{ name: labels[v % labels.length]!, source: 'list' }] }),
  );
}

async function main(): Promise<void> {
  const ffmpeg = findOnPath('ffmpeg');
  const ffprobe = findOnPath('ffprobe');
  if (!ffmpeg || !ffprobe) throw new Error('bench needs ffmpeg and ffprobe on PATH');
  const records = await fixtures(ffmpeg);
  const base = workDir('dataset');
  const db = path.join(base, 'bench.db');
  rmSync(db, { force: true });
  const store = new SqliteStore(db);
  await store.migrate();
  for (const r of records) await store.upsert(r);

  const out = path.join(base, 'out');
  rmSync(out, { recursive: true, force: true });
  const config = configWith({ Concurrency: { Cpu: CPU }, Dataset: { ShortSide: 224, MinClipSec: 1, MaxClipSec: 5, Labels: 'list', Split: '0.8,0.1,0.1', Dedup: false, Formats: ['folder', 'mmaction'] } });
  const options = datasetOptions(config, out);

  // Warm the page cache for both sides.
  await Promise.all(records.map((r) => runTool(ffmpeg, ['-v', 'error', '-i', r.file.path, '-f', 'null', '-', '-frames:v', '1'])));

  const cpu0 = childCpuSec();
  const sampler = rssSampler(50);
  const built = await timed(() => buildDataset(store.iterate({}), options, { ffmpeg, ffprobe }));
  const peakRss = await sampler.stop();
  const cpuBuild = childCpuSec() - cpu0;
  const clips = built.value.clips;
  if (clips !== VIDEOS * SCENES || built.value.failed.length) throw new Error(`expected ${VIDEOS * SCENES} clips, got ${clips} (${built.value.failed.length} failed)`);

  // The default, dedup on, from scratch: hashes come out of the same ffmpeg runs.
  const outDedup = path.join(base, 'out-dedup');
  rmSync(outDedup, { recursive: true, force: true });
  const dedupRun = await timed(() => buildDataset(store.iterate({}), { ...options, outDir: outDedup, dedup: { enabled: true, threshold: 10, frames: 4 } }, { ffmpeg, ffprobe }));

  // Baselines: the same clips, one ffmpeg after another.
  const manifest = readManifest(out);
  const byId = new Map(records.map((r) => [r.id, r]));
  const planned: PlannedClip[] = manifest.clips.map((c) => ({
    id: c.id, videoId: c.videoId, sourcePath: byId.get(c.videoId)!.file.path, sourceUrl: c.source, youtubeId: null, label: c.label, labels: c.labels,
    startSec: c.startSec, endSec: c.endSec, startFrame: Math.round(c.startSec * FPS), endFrame: Math.round(c.endSec * FPS), sourceFps: FPS, scene: c.scene, description: null,
  }));
  const bdir = path.join(base, 'baseline');
  rmSync(bdir, { recursive: true, force: true });
  mkdirSync(bdir, { recursive: true });
  const cpu1 = childCpuSec();
  const same = await timed(async () => {
    for (const c of planned) await runTool(ffmpeg, encodeArgs(c, options.encode, path.join(bdir, `${c.id}.mp4`), CPU > 1 ? 1 : 0));
  });
  const cpuSame = childCpuSec() - cpu1;
  const cpu2 = childCpuSec();
  const plain = await timed(async () => {
    for (const c of planned) {
      await runTool(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-ss', String(c.startSec), '-i', c.sourcePath, '-t', String(c.endSec - c.startSec), '-vf', 'scale=-2:224', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-an', path.join(bdir, `plain-${c.id}.mp4`)]);
    }
  });
  const cpuPlain = childCpuSec() - cpu2;
  if (readdirSync(bdir).length !== 2 * planned.length) throw new Error('baseline did not write every clip');
  await store.close();

  const cps = (ms: number) => clips / (ms / 1000);
  const ratioSame = same.ms / built.ms;
  const ratioPlain = plain.ms / built.ms;
  const rssMiB = Math.round(peakRss / 1024 ** 2);
  process.stdout.write(
    `dataset: ${VIDEOS} videos x ${SCENES} scenes -> ${clips} clips of ${SCENE_SEC} s at 224p, concurrency ${CPU}\n` +
      `  videodex dataset build: ${(built.ms / 1000).toFixed(1)} s = ${cps(built.ms).toFixed(2)} clips/s, ffmpeg CPU ${(cpuBuild / clips).toFixed(3)} s/clip\n` +
      `  bare ffmpeg per clip, videodex settings, sequential: ${(same.ms / 1000).toFixed(1)} s = ${cps(same.ms).toFixed(2)} clips/s, CPU ${(cpuSame / clips).toFixed(3)} s/clip -> videodex ${ratioSame.toFixed(2)}x (target >= 1.8x)\n` +
      `  bare ffmpeg per clip, plain command (ffmpeg threads), sequential: ${(plain.ms / 1000).toFixed(1)} s = ${cps(plain.ms).toFixed(2)} clips/s, CPU ${(cpuPlain / clips).toFixed(3)} s/clip -> videodex ${ratioPlain.toFixed(2)}x\n` +
      `  same build with dedup on (the default): ${(dedupRun.ms / 1000).toFixed(1)} s = ${(dedupRun.ms / built.ms).toFixed(2)}x the time without; ${dedupRun.value.duplicates.length} near-duplicates found\n` +
      `  peak RSS of the building process: ${rssMiB} MiB; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores\n`,
  );
  recordResult('dataset', {
    videos: VIDEOS, clips, concurrency: CPU,
    videodexMs: Math.round(built.ms), clipsPerSec: Number(cps(built.ms).toFixed(3)),
    baselineSameMs: Math.round(same.ms), ratioVsSame: Number(ratioSame.toFixed(3)),
    baselinePlainMs: Math.round(plain.ms), ratioVsPlain: Number(ratioPlain.toFixed(3)),
    dedupBuildMs: Math.round(dedupRun.ms), dedupDuplicates: dedupRun.value.duplicates.length, peakRssMiB: rssMiB,
    cpuPerClipVideodex: Number((cpuBuild / clips).toFixed(4)), cpuPerClipSame: Number((cpuSame / clips).toFixed(4)), cpuPerClipPlain: Number((cpuPlain / clips).toFixed(4)),
    loadAvg1: Number(os.loadavg()[0]!.toFixed(2)),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench dataset: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
