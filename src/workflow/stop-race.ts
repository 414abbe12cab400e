import { ToolError } from '../core/index.js';
import { sleep } from '../sources/retry-policy.js';

/** Signals a person's stop sends the whole foreground process group (Ctrl-C, a closing terminal). */
const GROUP_STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);

/** How long a step whose tool was killed by a stop signal waits for the run's own stop before it counts as failed. */
export const KILLED_TOOL_WAIT_MS = 3000;
/** How long a step whose tool failed otherwise waits (ffmpeg takes Ctrl-C as a request to quit: exit code 255). */
export const FAILED_TOOL_WAIT_MS = 100;

/** The tool error in `err`'s chain of causes, if any. */
function toolErrorIn(err: unknown): ToolError | null {
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e instanceof ToolError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Whether the run was stopped, told for a failed step. Ctrl-C reaches the whole process group: ffmpeg or yt-dlp
 * quits at once, and this process may see the tool's end before its own SIGINT, which it handles a moment later
 * (an event of the same loop turn, or the launcher's message). Counted as a failure, the video was recorded
 * failed and the next run left it to --retry-failed. So a step whose tool failed waits a little for the stop: up to
 * `killedMs` when a stop signal killed the tool, `failedMs` otherwise. Failures without a tool are told at once.
 */
export async function stoppedMeanwhile(err: unknown, signal: AbortSignal, waits: { killedMs?: number; failedMs?: number } = {}): Promise<boolean> {
  if (signal.aborted) return true;
  const tool = toolErrorIn(err);
  if (!tool) return false;
  const ms = tool.signal !== null && GROUP_STOP_SIGNALS.has(tool.signal) ? (waits.killedMs ?? KILLED_TOOL_WAIT_MS) : (waits.failedMs ?? FAILED_TOOL_WAIT_MS);
  // the wait ends early when the stop comes (sleep rejects then)
  await sleep(ms, signal).catch(() => undefined);
  return signal.aborted;
}
