import { stat } from 'node:fs/promises';
import type { Category, SourceInfo, Tag, Video } from '../core/index.js';

/** Keeps a second place the same content came from, once. */
export function mergeSourceInto(video: Video, source: SourceInfo): Video {
  if (video.source.url === source.url || video.alsoFrom.some((s) => s.url === source.url)) return video;
  return { ...video, alsoFrom: [...video.alsoFrom, source] };
}

/** Adds tags and categories, merging duplicates (same name and source) and keeping the higher confidence. */
export function mergeTagged(video: Video, tags: readonly Tag[], categories: readonly Category[]): Video {
  if (!tags.length && !categories.length) return video;
  const merge = <T extends { name: string; source: string; confidence?: number }>(base: readonly T[], extra: readonly T[]): T[] => {
    const out = [...base];
    for (const t of extra) {
      const i = out.findIndex((o) => o.name.toLowerCase() === t.name.toLowerCase() && o.source === t.source);
      if (i < 0) out.push(t);
      else if ((t.confidence ?? 1) > (out[i]!.confidence ?? 1)) out[i] = t;
    }
    return out;
  };
  return { ...video, tags: merge(video.tags, tags), categories: merge(video.categories, categories) };
}

/**
 * The record pointing at `to`, a copy of its video (the record is keyed by the content's hash), because its file
 * is gone. A listed local source at `to` becomes the record's source (the one it had joins `alsoFrom`), so
 * `alsoFrom` never lists the record's own file. With `forgetGone` (pruning: `remove --missing`) the local paths
 * that are gone, its old file among them, leave the record; otherwise they stay listed (a drive may come back).
 */
export async function pointedAt(video: Video, to: string, storage: NonNullable<Video['file']['storage']>, options: { forgetGone: boolean }): Promise<Video> {
  const gone = new Set<string>();
  if (options.forgetGone) {
    gone.add(video.file.path);
    for (const s of [video.source, ...video.alsoFrom]) {
      if (s.kind === 'local' && s.url !== to && !(await stat(s.url).catch(() => null))) gone.add(s.url);
    }
  }
  const kept = (s: SourceInfo) => !(s.kind === 'local' && gone.has(s.url));
  let source = video.source;
  let alsoFrom = video.alsoFrom.filter(kept);
  const at = alsoFrom.findIndex((s) => s.kind === 'local' && s.url === to);
  if (at >= 0) {
    const promoted = alsoFrom[at]!;
    alsoFrom = alsoFrom.filter((_, j) => j !== at);
    if (kept(source)) alsoFrom = [source, ...alsoFrom];
    source = promoted;
  }
  return { ...video, source, alsoFrom, file: { ...video.file, path: to, storage }, updatedAt: new Date().toISOString() };
}
