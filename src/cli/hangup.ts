import { closeSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { Logger } from '../core/index.js';

/** The standard streams that were a terminal when this process started. */
const TERMINAL_FDS = [0, 1, 2].filter((fd) => isatty(fd));

/**
 * Points the standard streams whose terminal hung up at /dev/null. On exit Node 20 restores the terminal settings it
 * started with, and aborts (SIGABRT, a core dump, exit status 134) when the terminal is gone (tcsetattr fails with
 * EIO; later Node lines ignore it, nodejs/node#58200); it skips a stream that is another file by then. A no-op while
 * the terminal is there. Called only at exit, when nothing else opens files and could be handed the freed number.
 */
export function releaseHungUpTerminal(): void {
  for (const fd of TERMINAL_FDS) {
    // a terminal that hung up answers EIO, which isatty() reports as no terminal
    if (isatty(fd)) continue;
    try {
      closeSync(fd);
      const again = openSync('/dev/null', fd === 0 ? 'r' : 'w');
      // (a closed stream is skipped as well)
      if (again !== fd) closeSync(again);
    } catch {
      // the stream is skipped at exit either way once closed
    }
  }
}

/** Errors of a stderr whose reader is gone: a closed terminal (EIO), a closed pipe, a stream already destroyed by one. */
const GONE = new Set(['EIO', 'EPIPE', 'ENXIO', 'ERR_STREAM_DESTROYED']);

function onStderrError(err: NodeJS.ErrnoException): void {
  if (!GONE.has(err.code ?? '')) throw err;
}

/**
 * For the long-running commands (`worker`, `serve`): the terminal they were started from closing (SIGHUP) does
 * not stop them, nor does stderr failing after it. Node's default for SIGHUP is to exit, so closing the window or
 * losing the ssh session ended a worker in the middle of its jobs. Reloading on SIGHUP, as some daemons do, would
 * turn every closed terminal into a restart of the jobs in flight; the settings take effect at the next start
 * (SIGTERM stops cleanly, putting jobs back on the queue). What the command would have shown is in its log file.
 * Returns the function that stops listening for SIGHUP; the stderr guard stays, as a line may still be written
 * after the command returned.
 */
export function outliveHangup(logger: Logger, command: string): () => void {
  if (!process.stderr.listeners('error').includes(onStderrError)) process.stderr.on('error', onStderrError);
  const onHangup = () => {
    if (!process.listeners('exit').includes(releaseHungUpTerminal)) process.on('exit', releaseHungUpTerminal);
    logger.warn({ signal: 'SIGHUP' }, `${command}: SIGHUP (the terminal closed): going on; stop it with SIGTERM or SIGINT`);
    process.stderr.write(`videodex: ${command}: SIGHUP (the terminal closed): going on; stop it with SIGTERM or SIGINT\n`);
  };
  process.on('SIGHUP', onHangup);
  return () => void process.off('SIGHUP', onHangup);
}
