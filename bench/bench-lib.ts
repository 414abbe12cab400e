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

/** Work the host calibration times: a pure integer loop, and a JSON round trip per object (allocation and GC). */
const CALIBRATION_WORK = `
const { parentPort, workerData } = require('node:worker_threads');
function compute() { let x = 0; for (let i = 0; i < 5e7; i++) x = (x * 31 + i) | 0; return x; }
function allocate() { let n = 0; for (let i = 0; i < 6e5; i++) { const o = JSON.parse(JSON.stringify({ a: i, b: 'x'.repeat(50), c: [1, 2, 3, { d: i }] })); n += o.a & 1; } return n; }
const t0 = performance.now();
(workerData.kind === 'compute' ? compute : allocate)();
parentPort.postMessage(performance.now() - t0);
`;

async function calibrationRun(kind: 'compute' | 'allocate', threads: number): Promise<number> {
  const runs = Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(CALIBRATION_WORK, { eval: true, workerData: { kind } });
    w.once('message', (ms: number) => void w.terminate().then(() => resolve(ms)));
    w.once('error', reject);
  }));
  const times = await Promise.all(runs);
  return Math.max(...times);
}

export interface HostCalibration {
  /** The integer loop on one thread, ms (the host's single-core speed). */
  computeMs: number;
  /** One fresh page of memory touched, µs: a few tenths on bare metal, ten and more under some hypervisors. */
  pageFaultUs: number;
  /** How many times one thread's work `threads` threads do in the time of one: the loop, and the JSON round trips. */
  computeScaling: number;
  allocateScaling: number;
  threads: number;
}

/**
 * What the host gives, measured in the same run as the figures it explains: the same code scales differently on
 * hosts whose cores share more (a hypervisor's memory, caches), and a page fault cost 11 µs on one such host, 50
 * times a bare machine's, which a pass that touches fresh memory pays per 4 kB.
 */
export async function hostCalibration(threads = Math.max(2, os.cpus().length)): Promise<HostCalibration> {
  await calibrationRun('compute', 1); // warm the worker start-up path
  const compute1 = await calibrationRun('compute', 1);
  const computeN = await calibrationRun('compute', threads);
  const allocate1 = await calibrationRun('allocate', 1);
  const allocateN = await calibrationRun('allocate', threads);
  // pages a fresh buffer maps lazily (calloc of this size maps them on first touch)
  const bytes = 64 << 20;
  const buf = new Uint8Array(new ArrayBuffer(bytes));
  const t0 = performance.now();
  for (let i = 0; i < bytes; i += 4096) buf[i] = 1;
  const pageFaultUs = ((performance.now() - t0) * 1000) / (bytes / 4096);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { computeMs: Math.round(compute1), pageFaultUs: round(pageFaultUs), computeScaling: round((threads * compute1) / computeN), allocateScaling: round((threads * allocate1) / allocateN), threads };
}

export function describeHost(h: HostCalibration): string {
  return `host: integer loop ${h.computeMs} ms on one thread; a page fault ${h.pageFaultUs} µs; ${h.threads} threads do ${h.computeScaling}x one thread's loop, ${h.allocateScaling}x its JSON round trips`;
}
