import crypto, { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from './process-alive.js';

/**
 * Content-addressed cache of expensive results (scene lists, model answers), kept as JSON files so they
 * survive deleting the database. Keys are hashed; writes go to a .part file and are renamed into place.
 */
export class ContentCache {
  constructor(readonly dir: string) {}

  static key(...parts: ReadonlyArray<string | number>): string {
    return sha256Hex(parts.map(String).join('\u0000'));
  }

  private fileFor(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get<T>(key: string): T | undefined {
    try {
      return JSON.parse(readFileSync(this.fileFor(key), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  /** Removes an entry; a missing one is no error. */
  delete(key: string): void {
    rmSync(this.fileFor(key), { force: true });
  }

  put(key: string, value: unknown): void {
    const file = this.fileFor(key);
    mkdirSync(path.dirname(file), { recursive: true });
    const part = `${file}.${process.pid}.part`;
    try {
      writeFileSync(part, JSON.stringify(value));
      renameSync(part, file);
    } catch (err) {
      // a write cut short (a full disk) leaves no part behind: nothing else would remove this process's own
      rmSync(part, { force: true });
      throw err;
    }
    this.sweepParts(file);
  }

  /**
   * The .part files of this entry that processes killed while writing them left (nothing else would ever remove
   * them): a kill mid-write leaves the entry missing, so the result is computed again and put here, once.
   */
  private sweepParts(file: string): void {
    const prefix = `${path.basename(file)}.`;
    let names: string[];
    try {
      names = readdirSync(path.dirname(file));
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.part')) continue;
      const pid = Number(name.slice(prefix.length, -'.part'.length));
      if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) rmSync(path.join(path.dirname(file), name), { force: true });
    }
  }
}

// One call instead of a Hash object (Node 20.12+): half the time on the short strings stage hashes take, which
// retag computes twice per record.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

export function sha256Hex(text: string | Buffer): string {
  return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}

/** A stable hash of a JSON-able value (object keys sorted), for stage input hashes. */
export function stableHash(value: unknown): string {
  return sha256Hex(stableStringify(value)).slice(0, 32);
}

export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}
