/**
 * The describe stage's cost and speed, against baselines measured in the same run.
 *
 * 1. Tokens: 20 generated videos with known scene counts (colour and pattern segments joined by cuts, 8 to
 *    90 s, 360p to 720p). videodex's frame selection (a 480-wide keyframe per scene, thinned to MaxFrames,
 *    resized to MaxPixelsPerFrame) against Qwen2-VL's default sampling of the same videos (2 fps, its pixel
 *    budgets). Target: total ratio <= 0.125, and every scene up to MaxFrames contributes a frame.
 * 2. Throughput: ReliableVlm (OpenAI SDK provider, real request bodies of 8 frames) against the fake server
 *    answering after 50 ms, 8 requests at once ([Concurrency] Ai = 8): requests/s against the ideal 8 / 0.05 s,
 *    and against bare fetch() of the same body at the same concurrency (the client's own overhead).
 * 3. Rate limit: 60 acquisitions of the limiter at RequestsPerMinute = 1200: rate after the burst against the
 *    limit (1.0 = exact, above 1 = too fast).
 * The machine's load average is recorded: on a shared 2-core box the 50 ms figure is bound by CPU, not waiting.
 *
 * Run: npx tsx bench/describe.ts [--quick]
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import {
  imagesTokens,
  OpenAiVlmClient,
  planDescription,
  qwenDefaultSampling,
  RateLimiter,
  ReliableVlm,
  renderFrames,
  type DescribeSettings,
  type FrameImage,
} from '../src/analysis/vlm/index.js';
import { configWith, findOnPath, newVideo, runTool, type Scene, type Video } from '../src/core/index.js';
import { describeSettings } from '../src/analysis/vlm/index.js';
import { FakeVlmServer } from '../test/helpers/fake-vlm-server.js';
import { hasFlag, recordResult, workDir } from './bench-lib.js';

const QUICK = hasFlag('--quick');
const COLORS = ['red', 'green', 'blue', 'yellow', 'magenta', 'cyan', 'white', 'orange', 'purple', 'gray', 'navy', 'olive', 'teal', 'maroon', 'pink', 'brown', 'gold', 'lime', 'coral', 'khaki'];
const SIZES: Array<[number, number]> = [
  [640, 360],
  [854, 480],
  [1280, 720],
];

interface Spec {
  name: string;
  scenes: number[]; // lengths in seconds
  width: number;
  height: number;
}

/** 20 videos: scene counts 1..30, scene lengths 2..12 s, durations about 8..90 s. */
function specs(): Spec[] {
  const out: Spec[] = [];
  for (let i = 0; i < 20; i++) {
    const count = [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 9, 7][i]!;
    const lengths = Array.from({ length: count }, (_, k) => 2 + ((i * 7 + k * 5) % 5)); // 2..6 s
    if (count <= 3) lengths.forEach((_, k) => (lengths[k] = 8 + ((i + k) % 5)));
    const [width, height] = SIZES[i % SIZES.length]!;
    out.push({ name: `v${String(i).padStart(2, '0')}-${count}sc`, scenes: lengths, width, height });
  }
  return out;
}

const FPS = 2;

async function makeVideo(ffmpeg: string, dir: string, spec: Spec): Promise<{ file: string; scenes: Scene[] }> {
  const file = path.join(dir, `${spec.name}-${spec.width}x${spec.height}-${FPS}fps.mp4`);
  const scenes: Scene[] = [];
  let t = 0;
  spec.scenes.forEach((len, i) => {
    scenes.push({ index: i, startSec: t, endSec: t + len, startFrame: t * FPS, endFrame: (t + len) * FPS, transition: i === 0 ? 'start' : 'cut', score: 100 });
    t += len;
  });
  if (!existsSync(file)) {
    const inputs: string[] = [];
    spec.scenes.forEach((len, i) => {
      const src = i % 4 === 3 ? `testsrc2=s=${spec.width}x${spec.height}:r=${FPS}:d=${len}` : `color=c=${COLORS[i % COLORS.length]}:s=${spec.width}x${spec.height}:r=${FPS}:d=${len}`;
      inputs.push('-f', 'lavfi', '-i', src);
    });
    const n = spec.scenes.length;
    const filter = `${Array.from({ length: n }, (_, i) => `[${i}:v]`).join('')}concat=n=${n}:v=1:a=0[v]`;
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', ...inputs, '-filter_complex', filter, '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', `${file}.part.mp4`], { timeoutMs: 600_000 });
    const { renameSync } = await import('node:fs');
    renameSync(`${file}.part.mp4`, file);
  }
  // Keyframes as the keyframes stage makes them: the middle frame of each scene, 480 wide.
  const kfDir = `${file}.keyframes`;
  mkdirSync(kfDir, { recursive: true });
  for (const sc of scenes) {
    const kf = path.join(kfDir, `${sc.index}.jpg`);
    if (!existsSync(kf)) {
      await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-ss', String((sc.startSec + sc.endSec) / 2), '-i', file, '-frames:v', '1', '-vf', 'scale=480:-2', '-q:v', '3', kf]);
    }
    sc.keyframe = kf;
  }
  return { file, scenes };
}

function record(file: string, spec: Spec, scenes: Scene[]): Video {
  const duration = spec.scenes.reduce((a, b) => a + b, 0);
  const v = newVideo(path.basename(file), { url: file, kind: 'local', fetchedAt: new Date().toISOString() }, { path: file, bytes: 0, sha256: '0'.repeat(64) });
  return {
    ...v,
    metadata: { durationSec: duration, container: 'mp4', bitRate: null, width: spec.width, height: spec.height, fps: FPS, frameCount: duration * FPS, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
    scenes,
  };
}

async function tokensBench(ffmpeg: string): Promise<Record<string, number | string | boolean>> {
  const dir = workDir('describe');
  const settings: DescribeSettings = describeSettings(configWith({ Paths: { DataDir: dir } }));
  const all = specs();
  const limit = pLimit(2);
  const made = await Promise.all(all.map((s) => limit(() => makeVideo(ffmpeg, dir, s))));
  let ours = 0;
  let oursFrames = 0;
  let base = 0;
  let worst = 0;
  const ratios: number[] = [];
  let everySceneOk = true;
  process.stdout.write('video                    scenes  dur   baseline(frames, tokens)  videodex images  frames  ratio(images)\n');
  all.forEach((spec, i) => {
    const video = record(made[i]!.file, spec, made[i]!.scenes);
    const md = video.metadata!;
    const baseline = qwenDefaultSampling(md.durationSec, { width: md.width, height: md.height }, md.frameCount);
    const plan = planDescription(video, settings);
    const planFrames = planDescription(video, { ...settings, videoInput: 'frames' });
    const visual = plan.requests[0]!.visualTokens;
    const visualFrames = planFrames.requests[0]!.visualTokens;
    const picked = new Set(plan.requests[0]!.picks.map((p) => p.sceneIndex));
    if (picked.size !== Math.min(spec.scenes.length, settings.maxFrames)) everySceneOk = false;
    ours += visual;
    oursFrames += visualFrames;
    base += baseline.tokens;
    worst = Math.max(worst, visual / baseline.tokens);
    ratios.push(visual / baseline.tokens);
    process.stdout.write(
      `${spec.name.padEnd(24)} ${String(spec.scenes.length).padStart(6)} ${String(md.durationSec).padStart(4)}s  ${String(baseline.frames).padStart(6)} ${String(baseline.tokens).padStart(8)}           ${String(visual).padStart(6)}  ${String(visualFrames).padStart(6)}  ${(visual / baseline.tokens).toFixed(3)}\n`,
    );
  });
  return {
    videos: all.length,
    baselineTokens: base,
    videodexTokensImages: ours,
    videodexTokensFrames: oursFrames,
    ratioImages: round(ours / base),
    ratioFrames: round(oursFrames / base),
    worstVideoRatioImages: round(worst),
    medianVideoRatioImages: round([...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!),
    everySceneUpToBudget: everySceneOk,
    targetRatio: 0.125,
  };
}

async function throughputBench(ffmpeg: string): Promise<Record<string, number | string | boolean>> {
  const server = await new FakeVlmServer({ latencyMs: 50 }).start();
  try {
    // Real bodies: 8 frames of a 480x270 keyframe at 476x280.
    const dir = workDir('describe');
    const src = path.join(dir, 'throughput.mp4');
    if (!existsSync(src)) await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=5:d=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', src]);
    const frames: FrameImage[] = await renderFrames(
      Array.from({ length: 8 }, (_, i) => ({ timeSec: i * 0.5 })),
      { ffmpeg, videoPath: src, size: { width: 476, height: 280 } },
    );
    const bodyKiB = Math.round(frames.reduce((a, f) => a + f.jpegBase64.length, 0) / 1024);
    const client = new OpenAiVlmClient({ endpoint: `${server.url}/v1`, accessKey: 'bench', authHeader: 'bearer', frameListFormat: 'dashscope' });
    const vlm = new ReliableVlm(client, new RateLimiter(1_000_000));
    const request = { model: 'qwen2-vl-7b-instruct', messages: [{ role: 'user' as const, content: [{ type: 'images' as const, frames }, { type: 'text' as const, text: 'Describe.' }] }], maxOutputTokens: 64, temperature: 0, timeoutMs: 30_000 };
    const concurrency = 8;
    const n = QUICK ? 160 : 400;
    await vlm.call(request); // warm up the connection pool
    const limit = pLimit(concurrency);
    const t0 = performance.now();
    const outcomes = await Promise.all(Array.from({ length: n }, () => limit(() => vlm.call(request))));
    const seconds = (performance.now() - t0) / 1000;
    const ok = outcomes.filter((o) => o.ok).length;
    const ideal = concurrency / 0.05;
    const rps = n / seconds;

    // Baseline on the same machine at the same moment: bare fetch() of the same body, same concurrency.
    const bareBody = () => JSON.stringify({ model: request.model, messages: [{ role: 'user', content: [...frames.map((f) => ({ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${f.jpegBase64}` } })), { type: 'text', text: 'Describe.' }] }], max_tokens: 64 });
    const t2 = performance.now();
    await Promise.all(
      Array.from({ length: n }, () =>
        limit(async () => {
          const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench' }, body: bareBody() });
          await res.json();
        }),
      ),
    );
    const bareRps = n / ((performance.now() - t2) / 1000);

    // Rate limit: 60 acquisitions at 1200/min (20/s): after the first second's burst the rate must not exceed 20/s.
    const rpm = 1200;
    const limiter = new RateLimiter(rpm);
    const m = 60;
    const t1 = performance.now();
    await Promise.all(Array.from({ length: m }, () => limiter.acquire()));
    const limitedSeconds = (performance.now() - t1) / 1000;
    const burst = Math.ceil(rpm / 60);
    const limitRps = (m - burst) / limitedSeconds;
    return {
      requests: n,
      ok,
      concurrency,
      latencyMs: 50,
      bodyKiB,
      requestsPerSec: round(rps),
      idealRequestsPerSec: ideal,
      throughputVsIdeal: round(rps / ideal),
      bareFetchRequestsPerSec: round(bareRps),
      throughputVsBareFetch: round(rps / bareRps),
      rateLimitRpm: rpm,
      rateLimitedRequestsPerSecAfterBurst: round(limitRps),
      loadAverage1m: round(os.loadavg()[0]!),
      rateLimitUse: round(limitRps / (rpm / 60)),
    };
  } finally {
    await server.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function main(): Promise<void> {
  const ffmpeg = findOnPath('ffmpeg');
  if (!ffmpeg) throw new Error('bench needs ffmpeg on PATH');
  const tokens = await tokensBench(ffmpeg);
  process.stdout.write(
    `tokens: videodex ${tokens.videodexTokensImages} (images) / ${tokens.videodexTokensFrames} (frames) vs Qwen2-VL default ${tokens.baselineTokens}: ` +
      `ratio ${tokens.ratioImages} (images), ${tokens.ratioFrames} (frames); target <= 0.125; every scene up to MaxFrames: ${tokens.everySceneUpToBudget}\n`,
  );
  const speed = await throughputBench(ffmpeg);
  process.stdout.write(
    `throughput: ${speed.requestsPerSec} req/s vs ideal ${speed.idealRequestsPerSec} (ratio ${speed.throughputVsIdeal}, load average ${speed.loadAverage1m}); bare fetch ${speed.bareFetchRequestsPerSec} req/s (videodex/bare ${speed.throughputVsBareFetch}); rate limit ${speed.rateLimitRpm}/min -> ${speed.rateLimitedRequestsPerSecAfterBurst}/s after the burst (${speed.rateLimitUse} of the limit)\n`,
  );
  recordResult('describe', { ...tokens, ...Object.fromEntries(Object.entries(speed).map(([k, v]) => [`throughput_${k}`, v])), quick: QUICK, videosDir: readdirSync(workDir('describe')).length });
}

main().catch((err) => {
  process.stderr.write(`bench/describe: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
