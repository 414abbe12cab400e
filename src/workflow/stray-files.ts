import type { Stats } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/index.js';
import type { VideoStore } from '../store/index.js';

/**
 * Files videodex made that no record names any more: a download or copy moved into `[Paths] MediaDir` by a run
 * killed before it wrote the record, a file left by `remove` killed between the record's delete and the file's
 * (the record goes first, so a crash never leaves a record pointing at nothing), a keyframe folder of a record
 * removed the same way. Nothing else finds them: a run acquires the input again under a free name.
 */
export interface StrayFile {
  path: string;
  kind: 'media' | 'keyframes';
  bytes: number;
}

export interface StrayOptions {
  store: VideoStore;
  config: Config;
  dryRun?: boolean;
  /**
   * Only what has not changed for this long (default an hour): a run acquiring a video moves its file into the
   * folder a moment before it records it, and a link to an old file keeps that file's times, so this reads the
   * change time (which a link or rename sets), not the modification time.
   */
  minAgeMs?: number;
  now?: number;
}

export interface StraySummary {
  removed: StrayFile[];
  /** Strays changed within `minAgeMs`: kept, as a run may be about to record them. */
  tooRecent: number;
  bytesFreed: number;
  dryRun: boolean;
}

export const STRAY_MIN_AGE_MS = 3600_000;

/**
 * Removes (or with `dryRun` lists) the stray files of MediaDir and the stray folders of KeyframesDir. Only the
 * top level of each: MediaDir's dot-folders hold the downloads in progress and their resume state, which their own
 * runs clean. A media file counts as named when a record's file is that path, or has its name and size (a library
 * shared by machines that mount the folder at other paths).
 */
export async function removeStrayFiles(options: StrayOptions): Promise<StraySummary> {
  const { store, config } = options;
  const minAge = options.minAgeMs ?? STRAY_MIN_AGE_MS;
  const now = options.now ?? Date.now();
  const paths = new Set<string>();
  const namesAndSizes = new Set<string>();
  const ids = new Set<string>();
  for await (const v of store.iterate()) {
    ids.add(v.id);
    paths.add(path.resolve(v.file.path));
    namesAndSizes.add(`${path.basename(v.file.path)}\0${v.file.bytes}`);
  }
  const summary: StraySummary = { removed: [], tooRecent: 0, bytesFreed: 0, dryRun: Boolean(options.dryRun) };
  const consider = async (entry: string, kind: StrayFile['kind'], info: Stats) => {
    if (now - info.ctimeMs < minAge) {
      summary.tooRecent++;
      return;
    }
    const bytes = kind === 'media' ? info.size : await folderBytes(entry);
    if (!options.dryRun) await rm(entry, { recursive: true, force: true });
    summary.removed.push({ path: entry, kind, bytes });
    summary.bytesFreed += bytes;
  };
  const mediaDir = path.resolve(config.Paths.MediaDir);
  for (const e of await entries(mediaDir)) {
    if (e.name.startsWith('.') || !(e.isFile() || e.isSymbolicLink())) continue;
    const file = path.join(mediaDir, e.name);
    if (paths.has(file)) continue;
    const info = await lstat(file).catch(() => null);
    if (!info || namesAndSizes.has(`${e.name}\0${info.size}`)) continue;
    await consider(file, 'media', info);
  }
  const keyframesDir = path.resolve(config.Paths.KeyframesDir);
  for (const e of await entries(keyframesDir)) {
    // a keyframe folder is named by its record's id; anything else there is not videodex's
    if (!e.isDirectory() || ids.has(e.name) || !/^[0-9a-f]{8,64}$/.test(e.name)) continue;
    const folder = path.join(keyframesDir, e.name);
    const info = await lstat(folder).catch(() => null);
    if (info) await consider(folder, 'keyframes', info);
  }
  return summary;
}

async function entries(dir: string) {
  return readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await entries(dir)) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await folderBytes(p);
    else n += (await lstat(p).catch(() => null))?.size ?? 0;
  }
  return n;
}
