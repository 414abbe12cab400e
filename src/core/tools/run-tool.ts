import { spawn } from 'node:child_process';
import { ToolError } from '../errors.js';

export interface RunToolOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Most stdout bytes kept; more is an error (protects memory from a runaway tool). */
  maxStdoutBytes?: number;
  /** Exit codes that are not errors. */
  okExitCodes?: readonly number[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Receives stdout line by line as the tool prints it (progress reports); stdout is then not kept. */
  onStdoutLine?: (line: string) => void;
  /** Receives stderr line by line as the tool prints it (the tail is still kept for the error). */
  onStderrLine?: (line: string) => void;
}

export interface RunToolResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

const STDERR_TAIL = 8192;

export const INSTALL_HINTS: Record<string, string> = {
  ffmpeg: 'apt-get install -y ffmpeg (or npm install @ffmpeg-installer/ffmpeg)',
  ffprobe: 'apt-get install -y ffmpeg (or npm install @ffprobe-installer/ffprobe)',
  'yt-dlp': 'apt-get install -y yt-dlp (or pip install yt-dlp)',
};

/**
 * Runs a program with an argument array (never a shell), a timeout and abort. The error names the tool,
 * its exit code and the tail of its stderr.
 */
export function runTool(command: string, args: readonly string[], options: RunToolOptions = {}): Promise<RunToolResult> {
  const name = command.split(/[\\/]/).pop() ?? command;
  const maxStdout = options.maxStdoutBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let settled = false;
    let killedFor: string | null = null;
    const kill = (why: string) => {
      if (killedFor) return;
      killedFor = why;
      child.kill('SIGKILL');
    };
    const timer = options.timeoutMs ? setTimeout(() => kill(`timed out after ${Math.round(options.timeoutMs! / 1000)} s`), options.timeoutMs) : null;
    const onAbort = () => kill('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let pendingLine = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.onStdoutLine) {
        const lines = (pendingLine + chunk.toString('utf8')).split('\n');
        pendingLine = lines.pop()!.slice(-STDERR_TAIL);
        for (const line of lines) options.onStdoutLine(line.replace(/\r$/, ''));
        return;
      }
      outBytes += chunk.length;
      if (outBytes > maxStdout) kill(`printed more than ${maxStdout} bytes`);
      else out.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    let pendingErrLine = '';
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
      if (options.onStderrLine) {
        const lines = (pendingErrLine + chunk).split('\n');
        pendingErrLine = lines.pop()!.slice(-STDERR_TAIL);
        for (const line of lines) options.onStderrLine(line.replace(/\r$/, ''));
      }
    });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => {
        if (err.code === 'ENOENT' || err.code === 'EACCES') {
          reject(
            new ToolError(`${name} not found at ${command}; install it: ${INSTALL_HINTS[name] ?? name}`, { command, args }, {
              cause: err,
              code: 'E_TOOL_MISSING',
            }),
          );
        } else {
          reject(new ToolError(`${name} could not start: ${err.message}`, { command, args }, { cause: err }));
        }
      });
    });
    child.on('close', (code, signal) => {
      finish(() => {
        const exitCode = code ?? -1;
        if (killedFor) {
          reject(new ToolError(`${name} ${killedFor}`, { command, args, exitCode, stderrTail: stderr }, { retryable: killedFor.startsWith('timed out'), code: 'E_TOOL_TIMEOUT' }));
        } else if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
          const why = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
          reject(new ToolError(`${name} ${why}`, { command, args, exitCode, stderrTail: stderr, signal }));
        } else {
          resolve({ stdout: Buffer.concat(out), stderr, exitCode });
        }
      });
    });
  });
}
