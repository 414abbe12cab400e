// npm runs `prepare` on every `npm ci`, also `npm ci --omit=dev`, which installs no TypeScript: a production
// install over a dist/ built earlier (a container's second stage) must keep that build instead of failing on a
// missing tsc. Plain JavaScript, as tsx is a dev dependency too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    console.error('videodex: TypeScript is not installed (npm ci --omit=dev): keeping the dist/ already built');
    process.exit(0);
  }
  console.error('videodex: dist/ is not built and TypeScript is not installed: run npm ci with dev dependencies (or npm run build) first');
  process.exit(1);
}
const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
