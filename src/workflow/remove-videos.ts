import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config, Video } from '../core/index.js';
import { selectedRecords, selectionOf, type SearchQuery, type VideoStore } from '../store/index.js';
import { keyframeDir } from './stages/keyframes-stage.js';

export interface RemoveOptions {
  store: VideoStore;
  config: Config;
  query: SearchQuery;
  /** Only records whose video file is gone (pruning after files were moved or deleted). */
  missingOnly?: boolean;
  /** Also delete the media files videodex made (downloads, copies, links in MediaDir); never referenced originals. */
  deleteMedia?: boolean;
  /** Report what would go, change nothing. */
  dryRun?: boolean;
}

export interface RemovedVideo {
  id: string;
  path: string;
  /** Whether the video file was there when the record was removed. */
  fileExists: boolean;
  /** Files and folders deleted with the record (keyframes; media with deleteMedia). */
  deleted: string[];
  /** Why the video file was kept although deleteMedia asked for it (it is the user's own file). */
  keptBecause?: string;
}

export interface RemoveSummary {
  removed: RemovedVideo[];
  /** Bytes of media files deleted. */
  bytesFreed: number;
  dryRun: boolean;
}

/**
 * Removes matching records from the library with what videodex derived from them (the keyframe folder) and,
 * when asked, the media files videodex itself put in MediaDir. A file the user pointed at (storage
 * `reference`) or one outside MediaDir is never deleted. The content cache is kept: processing the same video
 * again finds its describe answer there and makes no model call. The ids are collected before the first
 * delete, so removal never disturbs the iteration.
 */
export async function removeVideos(options: RemoveOptions): Promise<RemoveSummary> {
  const { store, config } = options;
  const chosen: Array<{ video: Video; fileExists: boolean }> = [];
  // With --missing, a limit and an offset count missing records: the query's order is kept, its paging applied
  // here after the file check (`remove --missing --limit 10` prunes ten, not those of the ten newest that are gone).
  const selection = options.missingOnly ? selectionOf(options.query) : null;
  const query = selection ? { ...options.query, limit: Number.MAX_SAFE_INTEGER, offset: 0 } : options.query;
  let skip = selection?.offset ?? 0;
  const limit = selection?.limit ?? Number.POSITIVE_INFINITY;
  for await (const video of selectedRecords(store, query)) {
    if (chosen.length >= limit) break;
    const fileExists = await exists(video.file.path);
    if (options.missingOnly && fileExists) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    chosen.push({ video, fileExists });
  }
  const summary: RemoveSummary = { removed: [], bytesFreed: 0, dryRun: Boolean(options.dryRun) };
  for (const { video, fileExists } of chosen) {
    const entry: RemovedVideo = { id: video.id, path: video.file.path, fileExists, deleted: [] };
    const kfDir = keyframeDir(video, config);
    if (await exists(kfDir)) entry.deleted.push(kfDir);
    if (options.deleteMedia && fileExists) {
      const why = mediaKeptBecause(video, config.Paths.MediaDir);
      if (why) entry.keptBecause = why;
      else {
        entry.deleted.push(video.file.path);
        summary.bytesFreed += video.file.bytes;
      }
    }
    if (!options.dryRun) {
      // The record goes first: a crash after it leaves stray files, never a record pointing at nothing.
      await store.delete(video.id);
      for (const p of entry.deleted) await rm(p, { recursive: true, force: true });
    }
    summary.removed.push(entry);
  }
  return summary;
}

/** Null when the file is videodex's to delete; otherwise why not. */
function mediaKeptBecause(video: Video, mediaDir: string): string | null {
  const storage = video.file.storage ?? 'reference';
  if (storage === 'reference') return 'it is your own file (indexed where it is); delete it yourself if you mean to';
  const rel = path.relative(path.resolve(mediaDir), path.resolve(video.file.path));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return `it is outside [Paths] MediaDir (${mediaDir})`;
  return null;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}
