import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createReporter, formatSummary } from '../../src/cli/progress-reporter.js';

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

describe('a stage run again for the same input', () => {
  it('counts once on its bar: tagging again after a hand edit took the bar past its total (2/1)', () => {
    const stream = fakeTerminal();
    const reporter = createReporter(stream);
    reporter.onEvent({ type: 'start', inputs: 1, stages: ['tag'] });
    const raw = '/v/edited.mp4';
    const input = { key: raw, raw, kind: 'local' as const, path: raw };
    reporter.onEvent({ type: 'stage-end', input, videoId: 'abc', stage: 'tag', outcome: 'done', ms: 1 });
    reporter.onEvent({ type: 'stage-end', input, videoId: 'abc', stage: 'tag', outcome: 'done', ms: 1, repeat: true });
    reporter.stop();
    expect(stream.text()).toContain('1/1');
    expect(stream.text()).not.toContain('2/1');
  });
});

describe('failure lines on a terminal', () => {
  it('are all written, also those that came after the bars were last drawn', () => {
    // the bars hold lines logged between two redraws and draw them with the next; the run's last failure
    // came after the last redraw and was never written
    const stream = fakeTerminal();
    const reporter = createReporter(stream);
    reporter.onEvent({ type: 'start', inputs: 1, stages: ['acquire', 'probe'] });
    const raw = '/v/last.mp4';
    reporter.onEvent({ type: 'stage-end', input: { key: raw, raw, kind: 'local', path: raw }, videoId: 'abc', stage: 'probe', outcome: 'failed', ms: 0, error: 'not a readable video' });
    reporter.stop();
    reporter.stop();
    expect(stream.text()).toContain('videodex: /v/last.mp4: probe: not a readable video');
    expect(stream.text().split('videodex: /v/last.mp4').length).toBe(2);
  });
});

describe('progress lines', () => {
  it("name a list's entry by its list and row, as failure lines do: rows cutting clips of one video share its URL", () => {
    // they read "[1/2] http://h/v.mp4: failed" and "[2/2] http://h/v.mp4 (id): done", with no telling which row failed
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const reporter = createReporter(stream as unknown as NodeJS.WriteStream);
    const url = 'http://h/v.mp4';
    const row = (n: number) => ({ key: `${url}#t=${n},${n + 1}`, raw: url, kind: 'url' as const, url, list: { file: '/lists/clips.csv', row: n, start: n, end: n + 1 } });
    reporter.onEvent({ type: 'start', inputs: 2, stages: ['acquire'] });
    reporter.onEvent({ type: 'input-end', input: row(2), videoId: null, status: 'failed', ran: 0 });
    reporter.onEvent({ type: 'input-end', input: row(3), videoId: 'abcd', status: 'done', ran: 1 });
    reporter.stop();
    expect(out).toContain('[1/2] clips.csv row 2: http://h/v.mp4: failed\n');
    expect(out).toContain('[2/2] clips.csv row 3: http://h/v.mp4 (abcd): done\n');
  });

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

describe('error messages on stderr', () => {
  // the messages quote the file name (`<name>: openai host: ...`), a server's answer or a tool's stderr
  const raw = '/v/two\nlines\u001b[31mred.mp4';
  const input = { key: raw, raw, kind: 'local' as const, path: raw };
  const error = 'two lines\u001b[31mred.mp4: openai 127.0.0.1/v1: HTTP 400: bad\u001b[2J request';

  it('write control characters of a failure, a problem, a skip note and a plan as escapes', () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const reporter = createReporter(stream as unknown as NodeJS.WriteStream);
    reporter.onEvent({ type: 'stage-end', input, videoId: 'abc', stage: 'describe', outcome: 'failed', ms: 0, error });
    reporter.onEvent({ type: 'input-problem', raw, message: `cannot read ${raw}` });
    reporter.onEvent({ type: 'stage-end', input, videoId: 'abc', stage: 'describe', outcome: 'skipped', ms: 0, error: 'no endpoint\u001b[2J' });
    reporter.onEvent({ type: 'plan', input, videoId: null, lines: [`acquire read ${raw}`, 'probe'] });
    reporter.stop();
    expect(out).toContain('describe: two lines\\x1b[31mred.mp4: openai 127.0.0.1/v1: HTTP 400: bad\\x1b[2J request');
    expect(out).not.toContain('\u001b');
    expect(out.trim().split('\n')).toHaveLength(4);
  });

  it('and so does the summary that groups failures by cause', () => {
    const text = formatSummary({
      inputs: 1, videos: ['abc'], done: 0, unchanged: 0, failed: 1, stagesRun: 1, stagesUpToDate: 0, stagesSkipped: 0,
      failures: [{ input: raw, videoId: 'abc', stage: 'describe', error, earlier: false }], problems: [], replaced: [], ms: 1,
    });
    expect(text).toContain('failed ×1: describe: two lines\\x1b[31mred.mp4');
    expect(text).not.toContain('\u001b');
    expect(text.split('\n')).toHaveLength(2);
  });

  it("groups failures whose messages differ only by their video's name at the start (a refused key over many videos)", () => {
    const refused = (name: string, more = '') => ({
      input: `/v/${name}`, videoId: name, stage: 'describe', earlier: false, videoName: name,
      error: `${name}: openai h/v1 answered HTTP 401: bad key (the server refused the key: check [QwenVL] AccessKey)${more}`,
    });
    const names = Array.from({ length: 50 }, (_, i) => `clip${i}.mp4`);
    const text = formatSummary({
      inputs: 50, videos: names, done: 0, unchanged: 0, failed: 50, stagesRun: 50, stagesUpToDate: 0, stagesSkipped: 0,
      failures: names.map((n, i) => refused(n, i === 0 ? '' : '; not sent: the server refused this key moments ago')),
      problems: [], replaced: [], ms: 1,
    });
    expect(text.split('\n').slice(1)).toEqual([
      '  failed ×1: describe: openai h/v1 answered HTTP 401: bad key (the server refused the key: check [QwenVL] AccessKey)',
      '  failed ×49: describe: openai h/v1 answered HTTP 401: bad key (the server refused the key: check [QwenVL] AccessKey); not sent: the server refused this key moments ago',
    ]);
  });
});
