import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError, type Video } from '../core/index.js';
import type { VideoStore } from '../store/index.js';

/**
 * The one record a person names on the command line: an id, a unique id prefix of 4+ characters, the file path of
 * its video, or the file or URL it came from. A name that fits several is refused (the first would be a guess).
 */
export async function resolveRecord(store: VideoStore, ref: string): Promise<Video> {
  let video = await store.get(ref);
  if (!video) video = current(await store.findByPath(path.resolve(ref)), path.resolve(ref));
  if (!video) {
    // an id prefix, or the file or URL a video came from (a list row's clip has a file of its own in MediaDir);
    // either must name one video: the first of several would be a guess
    const prefix = /^[0-9a-f]{4,}$/i.test(ref) ? ref.toLowerCase() : null;
    const origins = new Set([ref, path.resolve(ref)]);
    const cameFrom = (v: Video) => origins.has(v.source.url) || v.alsoFrom.some((s) => origins.has(s.url));
    const byPrefix: Video[] = [];
    const bySource: Video[] = [];
    for await (const v of store.iterate()) {
      if (prefix && v.id.startsWith(prefix)) byPrefix.push(v);
      if (cameFrom(v)) bySource.push(v);
      if (byPrefix.length > 5) break;
    }
    const list = (vs: Video[]) => `${vs.slice(0, 5).map((v) => `${v.id}${v.source.list?.row !== undefined ? ` (row ${v.source.list.row})` : ''}`).join(', ')}${vs.length > 5 ? ', ...' : ''}`;
    if (byPrefix.length > 1) throw new AppError('E_AMBIGUOUS', `${ref}: ${byPrefix.length > 5 ? 'more than 5' : byPrefix.length} videos have ids starting so (${list(byPrefix)}): give more of the id`);
    if (!byPrefix.length && bySource.length > 1) throw new AppError('E_AMBIGUOUS', `${ref}: ${bySource.length} videos came from it (${list(bySource)}): give one id`);
    video = byPrefix[0] ?? bySource[0] ?? null;
  }
  // a short id prefix is not looked up at all: say so, or "no such video" reads as a wrong id
  const short = /^[0-9a-f]{1,3}$/i.test(ref) ? ' (an id prefix needs 4 characters or more)' : '';
  if (!video) throw new AppError('E_NOT_FOUND', `${ref}: no such video in the library${short}`);
  return video;
}

/**
 * Of the records of a path, the one of the file there now: a file replaced in place leaves its old record beside
 * the new one until `remove --missing` prunes it. The one whose size is the file's, then the newest.
 */
function current(records: readonly Video[], file: string): Video | null {
  const size = existsSync(file) ? statSync(file).size : -1;
  const rank = (v: Video) => (v.file.bytes === size ? 1 : 0);
  return [...records].sort((a, b) => rank(b) - rank(a) || (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))[0] ?? null;
}
