import type { Video } from '../../core/index.js';
import type { LabelSource } from './dataset-types.js';

// NFC: `café` typed on macOS (decomposed) and elsewhere (composed) is one label, not two that look alike
function clean(label: string): string {
  return label.normalize('NFC').replace(/\s+/g, ' ').trim();
}

function byConfidence<T extends { confidence?: number }>(items: readonly T[]): T[] {
  // Stable: equal confidences keep record order. Missing confidence counts as certain.
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => (b.item.confidence ?? 1) - (a.item.confidence ?? 1) || a.i - b.i)
    .map((x) => x.item);
}

function unique(labels: readonly string[]): string[] {
  return [...new Set(labels.map(clean).filter(Boolean))];
}

/**
 * The labels a video gets from a label source, primary first; empty when the source says nothing about it.
 * - `list`: the label column of the labelled list the video came from (also tags/categories of source `list`).
 * - `category`: its categories, most confident first.
 * - `action`: the actions the model named.
 * - `tag:<prefix>`: tags starting with the prefix, prefix removed (`tag:action-` turns `action-run` into `run`; stored tag names are normalised, `/` becoming `-`).
 */
export function labelsOf(video: Video, source: LabelSource): string[] {
  switch (source.kind) {
    case 'list': {
      const fromLists = [video.source, ...video.alsoFrom].map((s) => s.list?.label ?? '');
      const fromTags = video.tags.filter((t) => t.source === 'list').map((t) => t.name);
      const fromCats = video.categories.filter((c) => c.source === 'list').map((c) => c.name);
      return unique([...fromLists, ...fromCats, ...fromTags]);
    }
    case 'category':
      return unique(byConfidence(video.categories).map((c) => c.name));
    case 'action':
      return unique(video.ai?.actions ?? []);
    case 'tag': {
      const p = source.prefix.toLowerCase();
      return unique(
        byConfidence(video.tags)
          .filter((t) => t.name.toLowerCase().startsWith(p))
          .map((t) => t.name.slice(source.prefix.length)),
      );
    }
  }
}

/** A label as a single path segment: no separators, no leading dots, spaces as underscores (MMAction2 splits on spaces). */
export function labelDirName(label: string): string {
  const s = label
    .normalize('NFC')
    .replace(/[\\/:*?"<>|\x00-\x1f]/g, '_')
    .replace(/\s+/g, '_')
    .replace(/^\.+/, '_');
  return fitName(s) || '_';
}

/**
 * At most 120 UTF-16 units and 200 UTF-8 bytes, cut between characters: file systems limit a name to 255 bytes,
 * which 120 CJK characters (360 bytes) pass, and half an emoji is no character at all.
 */
function fitName(s: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (out.length + ch.length > 120 || bytes + b > 200) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/**
 * The first two labels (in sorted order, so the same labels always name the same pair) that would share a class
 * folder: same `labelDirName` but for case, since a case-insensitive file system (macOS, Windows) merges `Run` and
 * `run` when the dataset is copied there. Null when every label gets a folder of its own.
 */
export function labelFolderClash(labels: Iterable<string>): { a: string; b: string; folder: string } | null {
  const seen = new Map<string, string>();
  for (const label of [...new Set(labels)].sort()) {
    const folder = labelDirName(label);
    const other = seen.get(folder.toLowerCase());
    if (other !== undefined) return { a: other, b: label, folder: labelDirName(other) };
    seen.set(folder.toLowerCase(), label);
  }
  return null;
}

/** The YouTube id of a source URL, or null. */
export function youtubeIdOf(url: string): string | null {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^www\.|^m\.|^music\./, '');
    if (host === 'youtu.be') return u.pathname.slice(1) || null;
    if (host === 'youtube.com' || host === 'youtube-nocookie.com') {
      const v = u.searchParams.get('v');
      if (v) return v;
      const m = /^\/(?:shorts|embed|v|live)\/([\w-]+)/.exec(u.pathname);
      return m ? m[1]! : null;
    }
  } catch {
    // not a URL (a local path)
  }
  return null;
}

/**
 * The source video a record comes from, one string for every way of naming it: the watch URL for a YouTube video
 * (`youtu.be/<id>`, `/shorts/<id>`, `watch?v=<id>&t=30` are one video), else the URL or path as given. Splits
 * group by it, so two list rows naming one video differently cannot land in two splits.
 */
export function sourceVideoKey(url: string, youtubeId: string | null): string {
  return youtubeId ? `https://www.youtube.com/watch?v=${youtubeId}` : url;
}
