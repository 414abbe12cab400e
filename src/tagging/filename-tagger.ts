import type { Tag, Video } from '../core/index.js';
import type { Tagger, TaggerContext } from './tagger.js';
import { DEFAULT_STOP_WORDS, singular, splitWords } from './words.js';

export interface FilenameTaggerOptions {
  /** Extra stop words (added to the defaults). */
  stopWords?: readonly string[];
  /** How many parent folders to read words from. */
  folderDepth?: number;
  /** Shortest word kept. */
  minWordLength?: number;
}

/** Confidence of plain words from names: a hint, not a fact. */
export const FILENAME_WORD_CONFIDENCE = 0.5;
/** Confidence of recognised patterns (S01E02, dates, resolutions): the name says so explicitly. */
export const FILENAME_PATTERN_CONFIDENCE = 0.9;

/**
 * The path a person gave the video: the local path or URL path as acquired (the media folder's copy may be
 * renamed), or the page title for yt-dlp inputs.
 */
export function originalPath(video: Pick<Video, 'source' | 'file'>): string {
  const { source } = video;
  if (source.kind === 'ytdlp' && source.title) return source.title;
  const url = source.url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      const u = new URL(url);
      const p = decodeURIComponent(u.pathname);
      if (p && p !== '/') return p;
    } catch {
      // not a URL after all
    }
  } else if (url) {
    return url;
  }
  return video.file.path;
}

interface PatternHit {
  tags: string[];
  /** The matched text, removed before splitting words. */
  text: string;
}

const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[12]\\d|3[01])';
const YEAR = '((?:19|20)\\d\\d)';

/** Recognised patterns in a name, longest first, each removed so its digits do not become words. */
export function namePatterns(name: string): PatternHit[] {
  const hits: PatternHit[] = [];
  let rest = name;
  const take = (re: RegExp, make: (m: RegExpExecArray) => string[] | null): void => {
    let m: RegExpExecArray | null;
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
    while ((m = g.exec(rest)) !== null) {
      const tags = make(m);
      if (tags) {
        hits.push({ tags, text: m[0] });
        rest = rest.slice(0, m.index) + ' '.repeat(m[0].length) + rest.slice(m.index + m[0].length);
      }
    }
  };
  // Series episodes: S01E02, s1e2, 1x02
  take(/(?<![a-z0-9])s(\d{1,2})[ ._-]?e(\d{1,3})(?![0-9])/i, (m) => {
    const s = m[1]!.padStart(2, '0');
    const e = m[2]!.padStart(2, '0');
    return [`s${s}e${e}`, `season-${Number(m[1])}`, 'tv-episode'];
  });
  take(/(?<![a-z0-9])(\d{1,2})x(\d{2,3})(?![0-9a-z])/i, (m) => [`s${m[1]!.padStart(2, '0')}e${m[2]}`, `season-${Number(m[1])}`, 'tv-episode']);
  // Dates: 2023-05-14, 2023_05_14, 2023.05.14, 20230514, and camera names like 20230514_101500
  take(new RegExp(`(?<!\\d)${YEAR}[-_.]?${MONTH}[-_.]?${DAY}(?!\\d)`), (m) => [`year-${m[1]}`, `date-${m[1]}-${m[2]}-${m[3]}`]);
  take(new RegExp(`(?<!\\d)${YEAR}[-_.]${MONTH}(?![-_.\\d])`), (m) => [`year-${m[1]}`, `month-${m[1]}-${m[2]}`]);
  // Resolutions: 1080p, 720p, 2160p, 4k, 8k, 1920x1080
  take(/(?<![a-z0-9])(240|360|480|540|720|1080|1440|2160|4320)[pi](?![a-z0-9])/i, (m) => [`${m[1]}p`]);
  take(/(?<![a-z0-9])([48])k(?![a-z0-9])/i, (m) => [`${m[1]}k`]);
  take(/(?<!\d)(\d{3,4})x(\d{3,4})(?!\d)/, (m) => [`${m[1]}x${m[2]}`]);
  // Frame rates: 60fps
  take(/(?<![a-z0-9])(\d{2,3})\s?fps(?![a-z])/i, (m) => [`${m[1]}fps`]);
  // A lone year in brackets or between separators: "Film (1999)"
  take(new RegExp(`(?<![\\d])[\\[(]${YEAR}[\\])]`), (m) => [`year-${m[1]}`]);
  return hits;
}

function stripExtension(name: string): string {
  return name.replace(/\.[a-z0-9]{2,5}$/i, '');
}

/** Tags from the file name and the last folders of its path: words plus recognised patterns. */
export function filenameTags(video: Pick<Video, 'source' | 'file'>, options: FilenameTaggerOptions = {}): Tag[] {
  const stop = new Set([...DEFAULT_STOP_WORDS, ...(options.stopWords ?? []).map((w) => w.toLowerCase())]);
  const depth = options.folderDepth ?? 2;
  const minLen = options.minWordLength ?? 2;
  const parts = originalPath(video).split(/[\\/]+/).filter(Boolean);
  const base = stripExtension(parts.pop() ?? '');
  const folders = depth > 0 ? parts.slice(-depth) : [];
  const tags: Tag[] = [];
  for (const [i, piece] of [base, ...folders].entries()) {
    const hits = namePatterns(piece);
    let rest = piece;
    for (const h of hits) {
      rest = rest.replace(h.text, ' ');
      for (const name of h.tags) tags.push({ name, source: 'filename', confidence: FILENAME_PATTERN_CONFIDENCE, rule: i === 0 ? 'filename-pattern' : 'folder-pattern' });
    }
    for (const word of splitWords(rest)) {
      if (word.length < minLen || /^\d+$/.test(word) || stop.has(word)) continue;
      // hex-like hashes and camera counters ("a3f9c2e1", "dsc") carry no meaning
      if (/^[0-9a-f]{8,}$/.test(word) || /\d/.test(word)) continue;
      const name = singular(word);
      if (stop.has(name)) continue;
      tags.push({ name, source: 'filename', confidence: FILENAME_WORD_CONFIDENCE, rule: i === 0 ? 'filename-word' : 'folder-word' });
    }
  }
  return tags;
}

/** The built-in file-name tagger. */
export function createFilenameTagger(options: FilenameTaggerOptions = {}): Tagger {
  return {
    name: 'filename',
    tag: (video: Video, _ctx: TaggerContext) => filenameTags(video, options),
  };
}
