/** Runs every benchmark in bench/ one after another (they share two cores: never in parallel). */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { benchDir } from './bench-lib.js';

const skip = new Set(['run-all.ts', 'bench-lib.ts']);
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const benches = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && !skip.has(f) && !f.endsWith('-lib.ts'))
  .filter((f) => !only.length || only.some((o) => f.startsWith(o)))
  .sort();
let failed = 0;
for (const b of benches) {
  process.stdout.write(`\n== bench/${b}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(benchDir, b), ...process.argv.slice(2).filter((a) => a.startsWith('--'))], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.stdout.write(`\n${benches.length - failed} benchmark(s) ran, ${failed} failed; figures appended to bench/results.jsonl\n`);
process.exit(failed ? 1 : 0);
