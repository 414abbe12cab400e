/**
 * 200 small generated videos through `process` (acquire local, probe, tag, classify, index: scene detection
 * is turned off and describe has no endpoint, so the pipeline does what bare ffprobe does plus videodex's own
 * bookkeeping) against bare ffprobe on each file with the same concurrency, in the same run.
 * Targets: ratio <= 1.3x; re-run <= 5% of the first run.
 * Run: npx tsx bench/probe-index.ts [--count N]
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { App } from '../src/app.js';
import { findOnPath, runTool } from '../src/core/index.js';
import { recordResult, timed, workDir } from './bench-lib.js';

const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 200;
const CPU = 2;

async function fixtures(ffmpeg: string): Promise<string> {
  const dir = path.join(workDir('probe-index'), `videos-${COUNT}`);
  if (existsSync(dir) && readdirSync(dir).filter((f) => f.endsWith('.mp4')).length === COUNT) return dir;
  rmSync(dir, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const base = path.join(workDir('probe-index'), 'base.mp4');
  await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=1', '-f', 'lavfi', '-i', 'sine=d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', base]);
  const limit = pLimit(4);
  // Same pictures, different bytes: each file is its own video (its own content hash).
  await Promise.all(Array.from({ length: COUNT }, (_, i) => limit(() => runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', base, '-c', 'copy', '-metadata', `comment=clip ${i}`, path.join(dir, `clip-${String(i).padStart(4, '0')}.mp4`)]))));
  return dir;
}

async function main(): Promise<void> {
  const ffmpeg = findOnPath('ffmpeg');
  const ffprobe = findOnPath('ffprobe');
  if (!ffmpeg || !ffprobe) throw new Error('bench needs ffmpeg and ffprobe on PATH');
  const dir = await fixtures(ffmpeg);
  const files = readdirSync(dir).filter((f) => f.endsWith('.mp4')).map((f) => path.join(dir, f));

  const bare = async () => {
    const limit = pLimit(CPU);
    await Promise.all(files.map((f) => limit(() => runTool(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '--', f]))));
  };
  await bare(); // warm the page cache for both sides
  const baseline = await timed(bare);

  const dataDir = path.join(workDir('probe-index'), 'data');
  rmSync(dataDir, { recursive: true, force: true });
  const app = App.create({ env: {}, overrides: { 'Paths.DataDir': dataDir, 'Concurrency.Cpu': CPU, 'Paths.Ffprobe': ffprobe, 'Paths.Ffmpeg': ffmpeg, 'Logging.Level': 'warn', 'SceneDetection.Enabled': false } });
  const first = await timed(() => app.process([dir]));
  if (first.value.done !== COUNT) throw new Error(`expected ${COUNT} processed, got ${first.value.done}`);
  const rerun = await timed(() => app.process([dir]));
  if (rerun.value.unchanged !== COUNT || rerun.value.stagesRun !== 0) throw new Error('re-run repeated work');
  await app.close();

  const ratio = first.ms / baseline.ms;
  const rerunFraction = rerun.ms / first.ms;
  process.stdout.write(
    `probe-index: ${COUNT} videos, concurrency ${CPU}\n` +
      `  bare ffprobe: ${(baseline.ms / 1000).toFixed(2)} s   videodex process: ${(first.ms / 1000).toFixed(2)} s   ratio ${ratio.toFixed(2)}x (target <= 1.3x)\n` +
      `  re-run: ${(rerun.ms / 1000).toFixed(3)} s = ${(rerunFraction * 100).toFixed(1)}% of the first run (target <= 5%)\n`,
  );
  recordResult('probe-index', { videos: COUNT, baselineMs: Math.round(baseline.ms), videodexMs: Math.round(first.ms), ratio: Number(ratio.toFixed(3)), rerunMs: Math.round(rerun.ms), rerunFraction: Number(rerunFraction.toFixed(4)) });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench probe-index: ${(err as Error).message}\n`);
  process.exit(1);
});
