import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { createLogger, loadConfig } from '../../src/core/index.js';
import { tempDir } from '../helpers/media.js';

// The log file is appended to by every run: without rotation it grows for as long as the library is used.

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function folder(): string {
  const t = tempDir('videodex-log-rotation-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { n: number });

describe('log file rotation', () => {
  it('rotates at MaxSize, keeps Keep old files, loses no line of the kept ones and splits none', () => {
    const dir = folder();
    const file = path.join(dir, 'videodex.log');
    const logger = createLogger({ file, level: 'info', secrets: [], maxBytes: 4096, keep: 2 });
    for (let n = 0; n < 400; n++) logger.info({ n, pad: 'x'.repeat(40) }, 'line');
    logger.flush();
    expect(readdirSync(dir).sort()).toEqual(['videodex.log', 'videodex.log.1', 'videodex.log.2']);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).size).toBeLessThanOrEqual(4096);
    // oldest kept first: consecutive numbers ending at the last line written
    const kept = [...lines(`${file}.2`), ...lines(`${file}.1`), ...lines(file)].map((l) => l.n);
    expect(kept.at(-1)).toBe(399);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 400 - kept.length + i));
  });

  it('a file already past MaxSize from earlier runs is rotated on the first line of the next one', () => {
    const dir = folder();
    const file = path.join(dir, 'videodex.log');
    writeFileSync(file, `${JSON.stringify({ n: -1 })}\n`.repeat(200));
    const logger = createLogger({ file, level: 'info', secrets: [], maxBytes: 1024, keep: 3 });
    logger.info({ n: 0 }, 'next run');
    expect(lines(file).map((l) => l.n)).toEqual([0]);
    expect(lines(`${file}.1`)).toHaveLength(200);
  });

  it('[Logging] MaxSize and Keep reach the log file of a command', () => {
    const dir = folder();
    const app = new App(loadConfig({ env: {}, overrides: { 'Paths.DataDir': dir, 'Logging.MaxSize': '2K', 'Logging.Keep': 1 } }));
    for (let n = 0; n < 200; n++) app.logger.info({ n }, 'a line of a long run');
    expect(existsSync(path.join(dir, 'videodex.log.1'))).toBe(true);
    expect(existsSync(path.join(dir, 'videodex.log.2'))).toBe(false);
    expect(statSync(path.join(dir, 'videodex.log')).size).toBeLessThanOrEqual(2048);
  });
});
