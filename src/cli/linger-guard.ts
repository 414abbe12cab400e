/**
 * After a command has finished and said how it went: a plugin stopped by `[Plugins] StageTimeoutSec` (a stage,
 * tagger or exporter) that ignores its aborted `ctx.signal` may keep a timer, socket or child process alive, and
 * Node would then wait for it for ever, the command's summary printed and its exit code never given. Whatever is
 * left gets this long to end by itself (a plugin's own clean-up); then the process ends with the command's code.
 * The timer is unref'd, so a process with nothing left running ends at once, as before.
 */
export const LINGER_MS = 10_000;

export function exitIfLingering(): void {
  setTimeout(() => {
    process.stderr.write(`videodex: the command finished, but something is still running ${LINGER_MS / 1000} s later (a plugin stopped by [Plugins] StageTimeoutSec that ignores ctx.signal?); exiting\n`);
    process.exit(process.exitCode ?? 0);
  }, LINGER_MS).unref();
}
