import { execFileSync, spawn } from 'node:child_process';

/**
 * A named pipe made at `file`, with a reader (`cat`) collecting what a writer sends through it: `text()` resolves
 * once the writer has closed it; `stop()` ends the reader (call it in a `finally`).
 */
export function fifoReader(file: string): { text: () => Promise<string>; stop: () => void } {
  execFileSync('mkfifo', [file]);
  const reader = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'ignore'] });
  let read = '';
  reader.stdout.setEncoding('utf8').on('data', (d: string) => (read += d));
  const done = new Promise<void>((resolve) => reader.on('close', () => resolve()));
  return { text: async () => (await done, read), stop: () => reader.kill() };
}
