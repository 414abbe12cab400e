import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File, type Config, type Video } from '../core/index.js';
import { selectedRecords, selectionOf, type SearchQuery, type VideoStore } from '../store/index.js';
import { inputRow } from './input-status.js';
import { keyframeDir } from './stages/keyframes-stage.js';
import { mergeSourceInto, pointedAt } from './record-merge.js';

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
  /** The path holds another file now (its size is not the record's): the video was replaced there. */
  fileChanged?: boolean;
  /** Files and folders deleted with the record (keyframes; media with deleteMedia). */
  deleted: string[];
  /** Why the video file was kept although deleteMedia asked for it (it is the user's own file). */
  keptBecause?: string;
}

/** A record --missing kept: its file was gone but the same video is still at another path the record lists. */
export interface RepointedVideo {
  id: string;
  /** The vanished file.path. */
  from: string;
  /** The listed path the record now points at. */
  to: string;
}

export interface RemoveSummary {
  removed: RemovedVideo[];
  /** With missingOnly: records kept and pointed at a surviving copy instead of being removed. */
  repointed: RepointedVideo[];
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
  const chosen: Array<{ video: Video; fileExists: boolean; held: boolean }> = [];
  const repoint: Array<{ video: Video; to: string }> = [];
  // With --missing, a limit and an offset count missing records: the query's order is kept, its paging applied
  // here after the file check (`remove --missing --limit 10` prunes ten, not those of the ten newest that are gone).
  // A missing record whose video is still at another path it lists is not removed but re-pointed (the record is
  // keyed by content, so that file is the same video): it is no removal, so it takes no place in the limit or offset.
  const selection = options.missingOnly ? selectionOf(options.query) : null;
  const query = selection ? { ...options.query, limit: Number.MAX_SAFE_INTEGER, offset: 0 } : options.query;
  let skip = selection?.offset ?? 0;
  const limit = selection?.limit ?? Number.POSITIVE_INFINITY;
  for await (const video of selectedRecords(store, query)) {
    if (chosen.length >= limit) break;
    const info = await stat(video.file.path).catch(() => null);
    const fileExists = info !== null;
    // a path that now holds another file (replaced in place: a new record has the new bytes) no longer holds this video
    const held = info !== null && info.isFile() && info.size === video.file.bytes;
    if (options.missingOnly && held) continue;
    if (options.missingOnly) {
      const to = await survivingCopy(video);
      if (to) {
        repoint.push({ video, to });
        continue;
      }
    }
    if (skip > 0) {
      skip--;
      continue;
    }
    chosen.push({ video, fileExists, held });
  }
  const summary: RemoveSummary = { removed: [], repointed: [], bytesFreed: 0, dryRun: Boolean(options.dryRun) };
  for (const { video, to } of repoint) {
    if (!options.dryRun) {
      // Written from the record as it is now (a run may have changed it since it was read), and only while it
      // still points at the vanished file: a run that found the video again has re-pointed it already.
      const now = await store.get(video.id);
      if (!now || now.file.path !== video.file.path) continue;
      // a file of the user's, indexed where it is: --media never deletes it
      await store.upsert(await pointedAt(now, to, 'reference', { forgetGone: true }));
    }
    summary.repointed.push({ id: video.id, from: video.file.path, to });
  }
  for (const { video, fileExists, held } of chosen) {
    const entry: RemovedVideo = { id: video.id, path: video.file.path, fileExists, ...(fileExists && !held ? { fileChanged: true } : {}), deleted: [] };
    const kfDir = keyframeDir(video, config);
    if (await exists(kfDir)) entry.deleted.push(kfDir);
    // only a file that still holds this video: another one in its place may be another record's
    if (options.deleteMedia && held) {
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

/** Local paths the record lists (its source, then alsoFrom), in that order, once each, without its file.path. */
function listedPaths(video: Video): string[] {
  const paths = [video.source, ...video.alsoFrom].filter((s) => s.kind === 'local').map((s) => s.url);
  return [...new Set(paths)].filter((p) => p !== video.file.path);
}

/**
 * The first listed path that still holds the record's video: a regular file of the record's size (the record is
 * keyed by the content's hash, and a local input is listed only after hashing to it). Null when none does.
 */
async function survivingCopy(video: Video): Promise<string | null> {
  for (const p of listedPaths(video)) {
    const info = await stat(p).catch(() => null);
    if (info?.isFile() && info.size === video.file.bytes) return p;
  }
  return null;
}

/**
 * The first of `paths` that holds the record's video (its size, then its sha256: these files changed since they
 * were hashed, so a size alone proves nothing), with the acquisition log told, as acquiring it would: processing
 * that path next finds its record up to date instead of hashing it again. Null when none does.
 */
async function movedTo(store: VideoStore, video: Video, paths: readonly string[]): Promise<string | null> {
  for (const p of paths) {
    const info = await stat(p).catch(() => null);
    if (!info?.isFile() || info.size !== video.file.bytes) continue;
    if ((await sha256File(p).catch(() => null)) !== video.file.sha256) continue;
    // unchanged while it was read, or the log would vouch for bytes it did not see
    const after = await stat(p).catch(() => null);
    if (!after || after.size !== info.size || after.mtimeMs !== info.mtimeMs) continue;
    const prior = await store.getInput(p);
    await store.putInput(inputRow(p, prior, { status: 'done', videoId: video.id, bytes: info.size, fileSize: info.size, fileMtimeMs: info.mtimeMs, listFile: prior?.listFile ?? null }));
    return p;
  }
  return null;
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

/** A record whose file was replaced in place by another video (see `displacedBy`). */
export interface DisplacedVideo {
  id: string;
  path: string;
  /** A copy of its video the record lists, which it points at now; absent when the record was removed. */
  repointedTo?: string;
  /** With `defer`: neither removed nor moved, as the video may be at a path the run has yet to read. */
  deferred?: true;
}

/**
 * The records that said their video was at `file` after a run found another video there (`keep`, just hashed
 * from it): the file was replaced in place (re-encoded, trimmed, saved over). Each is re-pointed at a copy of
 * its video it lists, when one is still there, and removed otherwise, with its keyframes; so a path indexes one
 * video, as it does for the user, and a search no longer shows the old video under the new file's name. The
 * file itself is the new video's and is never touched; the content cache keeps the old video's model answers.
 * Only records of a file indexed where it is (`reference`): a copy or link in MediaDir still holds its video.
 * `lock` runs each record's change under that record's lock in the caller's run. `vacated`: the paths the video
 * now at `file` was recorded at before (files that changed since): when one of them holds the displaced video (two
 * files that exchanged their contents), the record moves there, so both records are kept with all their work.
 * `defer`: a record found nowhere is left as it is (`deferred`), for the caller to ask again once the other inputs
 * of its run are read (files that went round in a circle: each record moves when its video's new path is read).
 */
export async function displacedBy(
  store: VideoStore,
  config: Config,
  file: string,
  keep: string,
  lock: <T>(id: string, fn: () => Promise<T>) => Promise<T>,
  options: { vacated?: readonly string[]; defer?: boolean } = {},
): Promise<DisplacedVideo[]> {
  const vacated = options.vacated ?? [];
  const out: DisplacedVideo[] = [];
  for (const found of await store.findByPath(file)) {
    if (found.id === keep || (found.file.storage ?? 'reference') !== 'reference') continue;
    const done = await lock(found.id, async (): Promise<DisplacedVideo | null> => {
      // as it is now: another input of this run may have re-pointed it already
      const video = await store.get(found.id);
      if (!video || video.file.path !== file) return null;
      const to = await survivingCopy(video);
      if (to) {
        await store.upsert(await pointedAt(video, to, 'reference', { forgetGone: false, forget: file }));
        return { id: video.id, path: file, repointedTo: to };
      }
      const moved = await movedTo(store, video, vacated);
      if (moved) {
        const listed = mergeSourceInto(video, { url: moved, kind: 'local', fetchedAt: new Date().toISOString() });
        await store.upsert(await pointedAt(listed, moved, 'reference', { forgetGone: false, forget: file }));
        return { id: video.id, path: file, repointedTo: moved };
      }
      if (options.defer) return { id: video.id, path: file, deferred: true };
      // the record first: a crash after it leaves a stray keyframe folder, never a record of a video not there
      await store.delete(video.id);
      await rm(keyframeDir(video, config), { recursive: true, force: true });
      return { id: video.id, path: file };
    });
    if (done) out.push(done);
  }
  return out;
}
