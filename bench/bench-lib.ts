import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runWithNodeFlags, semiSpaceMb } from '../src/cli/node-flags.js';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(benchDir, '..');

/** A folder for a benchmark's generated inputs, kept between runs (gitignored). */
export function workDir(name: string): string {
  const dir = path.join(benchDir, '.work', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Appends one JSON line with the machine and commit to bench/results.jsonl, and prints the figures. */
export function recordResult(bench: string, figures: Record<string, number | string | boolean>): void {
  const line = {
    bench,
    at: new Date().toISOString(),
    commit: commit(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version },
    ...figures,
  };
  appendFileSync(path.join(benchDir, 'results.jsonl'), JSON.stringify(line) + '\n');
  process.stdout.write(`${bench}: ${JSON.stringify(figures)}\n`);
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export function hasFlag(name: string): boolean {
  return process.argv.includes(name);
}

/**
 * Runs this bench under the node flags the batch commands run with (CLI_NODE_FLAGS), so it measures what the
 * command does: when they are missing, the script runs itself again with them, as the launcher does.
 */
export async function runAsLauncher(): Promise<void> {
  if (semiSpaceMb() === null) await runWithNodeFlags(process.argv);
}

/** Samples the process's RSS on a thread of its own (plain JavaScript, so it runs the same under tsx). */
const RSS_SAMPLER = `
const { workerData } = require('node:worker_threads');
const peak = new Int32Array(workerData.peak);
setInterval(() => {
  const kb = Math.round(process.memoryUsage.rss() / 1024);
  if (kb > Atomics.load(peak, 0)) Atomics.store(peak, 0, kb);
}, workerData.everyMs);
`;

/**
 * The process's peak RSS, sampled every `everyMs` on a thread of its own. A timer in the main thread does not
 * fire while that thread runs synchronous work (SQLite, tagging, a retag thread's share of a pass), so it
 * missed the peaks of exactly the phases being measured. RSS is the whole process's, worker threads included.
 */
export function rssSampler(everyMs = 20): { reset(): void; peakBytes(): number; stop(): Promise<number> } {
  const peak = new Int32Array(new SharedArrayBuffer(4));
  const now = () => Math.round(process.memoryUsage.rss() / 1024);
  Atomics.store(peak, 0, now());
  const worker = new Worker(RSS_SAMPLER, { eval: true, workerData: { peak: peak.buffer, everyMs } });
  worker.unref();
  const peakBytes = () => Math.max(Atomics.load(peak, 0), now()) * 1024;
  return {
    reset: () => Atomics.store(peak, 0, now()),
    peakBytes,
    stop: async () => {
      const bytes = peakBytes();
      await worker.terminate();
      return bytes;
    },
  };
}
