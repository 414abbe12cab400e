import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './cli.js';

/** Starts `videodex serve --port 0` on a library in its own process; resolves with its base URL once it listens. */
export async function startServe(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<{ base: string; stop: () => void; exited: Promise<number | null>; pid: number; stderr: () => string }> {
  const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  const server = spawn(process.execPath, ['--import', loader, path.join(repoRoot, 'src/cli/main.ts'), 'serve', '--port', '0', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  let text = '';
  const base = await new Promise<string>((resolve, reject) => {
    server.stderr!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      const m = /serving \S+ library on (http:\/\/\S+?)\/\s/.exec(text);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)));
  });
  return { base, stop: () => server.kill('SIGTERM'), exited, pid: server.pid!, stderr: () => text };
}
