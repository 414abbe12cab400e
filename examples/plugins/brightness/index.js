// videodex plugin: brightness.
//
// Adds a `brightness` stage that samples frames with ffmpeg's `signalstats` filter and records the mean,
// darkest and brightest luma and the share of black frames under `extra.brightness`, and tags the video
// `dark`, `bright` or `black-frames`. Plain JavaScript (an ES module), so it loads without a build step.
// See README.md next to this file, and docs/plugins.md.

import { spawn } from 'node:child_process';

/** Frames sampled per second of video. */
const SAMPLE_FPS = 2;
/** Mean luma (0..1) below which a video is dark, above which it is bright. */
const DARK_BELOW = 0.2;
const BRIGHT_ABOVE = 0.7;
/** A frame whose mean luma is below this is black (ffmpeg's blackframe uses a similar cut). */
const BLACK_FRAME_BELOW = 0.07;

/**
 * Runs ffmpeg and collects the YAVG of every sampled frame from the `metadata=print` lines on stdout.
 * @param {string} ffmpeg
 * @param {string} file
 * @param {AbortSignal} signal
 * @returns {Promise<number[]>}
 */
function sampleLuma(ffmpeg, file, signal) {
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'error',
    '-i', file,
    '-map', '0:v:0',
    '-vf', `fps=${SAMPLE_FPS},signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-`,
    '-f', 'null', '-',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const values = [];
    let rest = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /lavfi\.signalstats\.YAVG=([\d.]+)/.exec(line);
        if (m) values.push(Number(m[1]));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(values);
      else reject(new Error(`ffmpeg signalstats exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
}

/**
 * Turns per-frame luma into the stage's findings.
 * @param {number[]} yavg per-frame mean luma in code values
 * @param {number} bitDepth
 */
export function summarise(yavg, bitDepth = 8) {
  const max = 2 ** bitDepth - 1;
  const luma = yavg.map((v) => v / max);
  if (luma.length === 0) return { framesSampled: 0, sampleFps: SAMPLE_FPS, meanLuma: null, minLuma: null, maxLuma: null, blackFrameRatio: 0, tags: [] };
  const mean = luma.reduce((a, b) => a + b, 0) / luma.length;
  const black = luma.filter((l) => l < BLACK_FRAME_BELOW).length / luma.length;
  const round = (x) => Math.round(x * 1000) / 1000;
  /** @type {{name: string, confidence: number}[]} */
  const tags = [];
  if (mean < DARK_BELOW) tags.push({ name: 'dark', confidence: round(Math.min(1, 0.6 + (DARK_BELOW - mean) * 2)) });
  if (mean > BRIGHT_ABOVE) tags.push({ name: 'bright', confidence: round(Math.min(1, 0.6 + (mean - BRIGHT_ABOVE) * 2)) });
  if (black > 0) tags.push({ name: 'black-frames', confidence: 1 });
  return {
    framesSampled: luma.length,
    sampleFps: SAMPLE_FPS,
    meanLuma: round(mean),
    minLuma: round(Math.min(...luma)),
    maxLuma: round(Math.max(...luma)),
    blackFrameRatio: round(black),
    tags,
  };
}

/** @type {import('videodex').Stage} */
const brightnessStage = {
  name: 'brightness',
  version: '1',
  needs: ['probe'],
  resource: 'cpu',
  // Output depends on the content and on this plugin's constants (the plugin version covers those).
  inputHash: (video) => `${video.file.sha256}:${SAMPLE_FPS}`,
  skipReason: (video) => (video.metadata && video.metadata.width > 0 ? null : 'no video stream'),
  async run(video, ctx) {
    const yavg = await sampleLuma(ctx.tools.ffmpeg.path, video.file.path, ctx.signal);
    const found = summarise(yavg, video.metadata?.bitDepth ?? 8);
    ctx.logger.debug({ meanLuma: found.meanLuma, frames: found.framesSampled }, 'brightness measured');
    const { tags, ...measures } = found;
    // Findings live under extra[<plugin name>]; returned tags are credited to the plugin by videodex.
    return { extra: { ...video.extra, brightness: measures }, tags };
  },
};

/** @type {import('videodex').VideodexPlugin} */
const plugin = {
  name: 'brightness',
  version: '1.0.0',
  apiVersion: 1,
  description: 'dark/bright videos and black frames, from ffmpeg signalstats',
  stages: [brightnessStage],
};

export default plugin;
