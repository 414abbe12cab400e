import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createReporter } from '../../src/cli/progress-reporter.js';

/** A stream that says it is a terminal, as stderr is in an interactive run. */
function fakeTerminal(): NodeJS.WriteStream & { text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let out = '';
  (s as unknown as PassThrough).on('data', (d: Buffer) => (out += d.toString()));
  Object.assign(s, { isTTY: true, columns: 100, rows: 30, cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true, text: () => out });
  return s;
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('progress bars on a terminal', () => {
  it('draw, and their redraw timer does not keep the process alive (a run that can never finish is still noticed)', async () => {
    const stream = fakeTerminal();
    const reporter = createReporter(stream);
    reporter.onEvent({ type: 'start', inputs: 2, stages: ['probe', 'scenes'] });
    // past the first redraws
    await delay(400);
    expect(stream.text()).toContain('probe');
    // stopping the bars takes away no timer that kept the process alive (same tick: nothing else changes)
    const running = timers();
    reporter.stop();
    expect(timers()).toBe(running);
  });
});

describe('progress lines', () => {
  it('write control characters of a file name as escapes: one line, and no escape sequence reaches the terminal', () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const reporter = createReporter(stream as unknown as NodeJS.WriteStream);
    const raw = '/v/two\nlines\u001b[31mred.mp4';
    reporter.onEvent({ type: 'stage-end', input: { key: raw, raw, kind: 'local', path: raw }, videoId: null, stage: 'acquire', outcome: 'failed', ms: 0, error: 'no such file' });
    reporter.stop();
    expect(out).toContain('two\\nlines\\x1b[31mred.mp4: acquire: no such file');
    expect(out).not.toContain('\u001b');
    expect(out.trim().split('\n')).toHaveLength(1);
  });
});
