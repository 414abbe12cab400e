import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { App } from '../../src/app.js';
import { loadConfig } from '../../src/core/index.js';

/** An app over a temporary data folder, not logging to a file; `settings` as "Section.Key" overrides. */
export function testApp(dir: string, settings: Record<string, unknown> = {}): App {
  const loaded = loadConfig({ env: {}, cwd: dir, overrides: { 'Paths.DataDir': path.join(dir, 'data'), 'Logging.Level': 'silent', ...settings } });
  return new App(loaded, { logToFile: false });
}

/** Writes an ES module plugin file and returns its path. */
export function writePlugin(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(file, body);
  return file;
}
