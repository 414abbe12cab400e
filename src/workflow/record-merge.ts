import { stat } from 'node:fs/promises';
import type { Category, Scene, SourceInfo, Tag, Video, VideoPatch } from '../core/index.js';
import { YTDLP_PREFIX, type InputItem } from '../sources/index.js';
import { normalizeTag } from '../tagging/index.js';

/** Keeps a second place the same content came from, once. */
export function mergeSourceInto(video: Video, source: SourceInfo): Video {
  if (video.source.url === source.url || video.alsoFrom.some((s) => s.url === source.url)) return video;
  return { ...video, alsoFrom: [...video.alsoFrom, source] };
}

/** Adds tags and categories, merging duplicates (same name and source) and keeping the higher confidence. */
export function mergeTagged(video: Video, tags: readonly Tag[], categories: readonly Category[]): Video {
  if (!tags.length && !categories.length) return video;
  const merge = <T extends { name: string; source: string; confidence?: number }>(base: readonly T[], extra: readonly T[], key: (name: string) => string): T[] => {
    const out = [...base];
    for (const t of extra) {
      const i = out.findIndex((o) => key(o.name) === key(t.name) && o.source === t.source);
      if (i < 0) out.push(t);
      else if ((t.confidence ?? 1) > (out[i]!.confidence ?? 1)) out[i] = t;
    }
    return out;
  };
  // a tag on the record is named as tagging names it (`beach-volleyball`), the same tag acquired again as the site
  // shows it (`Beach Volleyball`)
  return { ...video, tags: merge(video.tags, tags, (n) => normalizeTag(n, { keepPlural: true })), categories: merge(video.categories, categories, (n) => n.toLowerCase()) };
}

/**
 * The record pointing at `to`, a copy of its video (the record is keyed by the content's hash), because its file
 * is gone. A listed local source at `to` becomes the record's source (the one it had joins `alsoFrom`), so
 * `alsoFrom` never lists the record's own file. With `forgetGone` (pruning: `remove --missing`) the local paths
 * that are gone, its old file among them, leave the record; otherwise they stay listed (a drive may come back).
 * `forget` leaves it either way: a path that holds another video now.
 */
export async function pointedAt(video: Video, to: string, storage: NonNullable<Video['file']['storage']>, options: { forgetGone: boolean; forget?: string }): Promise<Video> {
  // `forget`: a path that holds another video now, whatever else is there
  const gone = new Set<string>(options.forget !== undefined ? [options.forget] : []);
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

/**
 * The record with what its list row says now, when the row (label, split, or the list and row it came from)
 * differs from the one the video was acquired with; null when nothing changed or the record has no source for
 * this input. A label fixed in the list, or the same file in another list, relabels the video on the next run
 * (the last list run wins); the acquisition was the same, so it is not repeated, and tagging and classification,
 * which read the label, run again. The acquisition's copy of the old label goes with it.
 */
export function relisted(video: Video, item: InputItem): Video | null {
  const row = item.list;
  // as the source recorded it: yt-dlp's sources drop the `ytdl:` that sent the URL to it
  const url = item.kind === 'local' ? item.path : item.url?.replace(YTDLP_PREFIX, '');
  if (!row || !url) return null;
  const sources = [video.source, ...video.alsoFrom];
  // by address, else by the list row it came from, else the record's only source (the input was acquired as it)
  let at = sources.findIndex((s) => s.url === url);
  if (at < 0) at = sources.findIndex((s) => s.list?.file === row.file && s.list.row === row.row);
  if (at < 0 && sources.length === 1) at = 0;
  if (at < 0) return null;
  const was = sources[at]!.list;
  if (was && was.file === row.file && was.row === row.row && was.label === row.label && was.split === row.split) return null;
  const list: NonNullable<SourceInfo['list']> = { ...was, ...row };
  if (row.label === undefined) delete list.label;
  if (row.split === undefined) delete list.split;
  const source = { ...sources[at]!, list };
  const oldLabel = was?.label;
  const categories = video.categories.filter((c) => !(oldLabel !== undefined && oldLabel !== row.label && c.source === 'list' && c.name === oldLabel && c.kind === undefined));
  const moved = at === 0 ? { ...video, source, categories } : { ...video, alsoFrom: video.alsoFrom.map((s, i) => (i === at - 1 ? source : s)), categories };
  return row.label ? mergeTagged(moved, [], [{ name: row.label, source: 'list' }]) : moved;
}

/**
 * The patch with its scenes keeping what later stages wrote on the record's scenes (keyframe paths, captions),
 * when its scene list has the same boundaries. Scene detection re-run with other settings often finds the same
 * cuts; its output has no keyframes, and the keyframes and describe stages, keyed on the boundaries, rightly see
 * nothing to redo, so replacing the list wholesale lost their work for good. Moved boundaries take the new list
 * as it is: those stages run again.
 */
export function keepingSceneOutputs(video: Video, patch: VideoPatch): VideoPatch {
  const next = patch.scenes;
  const old = video.scenes;
  if (!next || next === old || next.length !== old.length) return patch;
  if (next.some((s, i) => s.startFrame !== old[i]!.startFrame || s.endFrame !== old[i]!.endFrame)) return patch;
  const scenes = next.map((s, i): Scene => {
    const was = old[i]!;
    return {
      ...s,
      ...(s.keyframe === undefined && was.keyframe !== undefined ? { keyframe: was.keyframe } : {}),
      ...(s.description === undefined && was.description !== undefined ? { description: was.description } : {}),
    };
  });
  return { ...patch, scenes };
}
