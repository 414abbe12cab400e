import { describe, expect, it } from 'vitest';
import { ToolError } from '../../src/core/index.js';
import { AcquireError } from '../../src/sources/source-errors.js';
import { stoppedMeanwhile } from '../../src/workflow/stop-race.js';

const killed = (sig: string) => new ToolError(`ffmpeg was killed by ${sig}`, { command: 'ffmpeg', signal: sig });
const quit = () => new ToolError('ffmpeg exited with code 255', { command: 'ffmpeg', exitCode: 255, stderrTail: 'Exiting normally, received signal 2.' });

describe('a failed step and a stop that arrives just after it (Ctrl-C reaches the tools first)', () => {
  it('is a stop when the run stops while a step whose tool was killed by SIGINT waits', async () => {
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 50);
    expect(await stoppedMeanwhile(killed('SIGINT'), stop.signal, { killedMs: 5000 })).toBe(true);
    // told when the stop came, not at the end of the wait
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('is a stop when the run stops just after a tool that quit on its own (ffmpeg exits 255 on Ctrl-C), wrapped in the step error', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 10);
    const err = new AcquireError('ffmpeg could not copy the stream: Exiting normally, received signal 2.', { code: 'E_SOURCE_HLS', cause: quit() });
    expect(await stoppedMeanwhile(err, stop.signal, { failedMs: 1000 })).toBe(true);
  });

  it('is a failure when no stop comes within the wait', async () => {
    const never = new AbortController().signal;
    expect(await stoppedMeanwhile(killed('SIGTERM'), never, { killedMs: 30 })).toBe(false);
    expect(await stoppedMeanwhile(quit(), never, { failedMs: 10 })).toBe(false);
  });

  it('is a failure at once without a tool in the error, or a crash, and a stop at once when the run is already stopping', async () => {
    const never = new AbortController().signal;
    const started = Date.now();
    expect(await stoppedMeanwhile(new Error('corrupt moov atom'), never, { killedMs: 10_000, failedMs: 10_000 })).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    // a crash (SIGSEGV) is not a stop: the short wait only
    expect(await stoppedMeanwhile(killed('SIGSEGV'), never, { killedMs: 10_000, failedMs: 10 })).toBe(false);
    const stopped = new AbortController();
    stopped.abort();
    expect(await stoppedMeanwhile(new Error('anything'), stopped.signal)).toBe(true);
  });
});
