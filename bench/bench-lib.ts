import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
