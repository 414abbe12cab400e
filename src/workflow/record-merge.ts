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
