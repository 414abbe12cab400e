import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findOnPath, runTool } from '../../src/core/index.js';

/** The ffmpeg tests use to make fixtures: the system one (tests run where .ci/run installed it). */
export function testFfmpeg(): string {
  const found = findOnPath('ffmpeg');
  if (!found) throw new Error('tests need ffmpeg on PATH (apt-get install -y ffmpeg)');
  return found;
}

export interface TestVideoOptions {
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
  /** lavfi video source, e.g. 'testsrc2', 'mandelbrot', 'smptebars', 'color=c=red'. */
  source?: string;
  codec?: 'libx264' | 'mpeg4' | 'libvpx-vp9';
  /** Extra output args, e.g. ['-metadata', 'title=Hello']. */
  extra?: string[];
}

/** Makes a small video with ffmpeg's lavfi sources; returns its path. */
export async function makeTestVideo(file: string, options: TestVideoOptions = {}): Promise<string> {
  const { seconds = 2, width = 320, height = 240, fps = 25, audio = false, source = 'testsrc2', codec = 'libx264' } = options;
  const src = source.includes('=') ? `${source}:s=${width}x${height}:r=${fps}:d=${seconds}` : `${source}=s=${width}x${height}:r=${fps}:d=${seconds}`;
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', src];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`);
  args.push('-c:v', codec, '-pix_fmt', 'yuv420p');
  if (codec === 'libx264') args.push('-preset', 'ultrafast');
  if (audio) args.push('-c:a', 'aac', '-shortest');
  args.push(...(options.extra ?? []), file);
  await runTool(testFfmpeg(), args, { timeoutMs: 120_000 });
  return file;
}

/** A temporary folder removed by the returned cleanup. */
export function tempDir(prefix = 'videodex-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
