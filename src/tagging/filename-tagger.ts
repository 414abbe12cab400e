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

type PatternSpec = readonly [RegExp, (m: RegExpExecArray) => string[] | null];

/** The recognised patterns, compiled once, in the order they are tried (longest shapes first). */
const PATTERNS: readonly PatternSpec[] = [
  // Series episodes: S01E02, s1e2, 1x02
  [/(?<![a-z0-9])s(\d{1,2})[ ._-]?e(\d{1,3})(?![0-9])/gi, (m) => [`s${m[1]!.padStart(2, '0')}e${m[2]!.padStart(2, '0')}`, `season-${Number(m[1])}`, 'tv-episode']],
  [/(?<![a-z0-9])(\d{1,2})x(\d{2,3})(?![0-9a-z])/gi, (m) => [`s${m[1]!.padStart(2, '0')}e${m[2]}`, `season-${Number(m[1])}`, 'tv-episode']],
  // Dates: 2023-05-14, 2023_05_14, 2023.05.14, 20230514, camera names like 20230514_101500
  [new RegExp(`(?<!\\d)${YEAR}[-_.]?${MONTH}[-_.]?${DAY}(?!\\d)`, 'g'), (m) => [`year-${m[1]}`, `date-${m[1]}-${m[2]}-${m[3]}`]],
  [new RegExp(`(?<!\\d)${YEAR}[-_.]${MONTH}(?![-_.\\d])`, 'g'), (m) => [`year-${m[1]}`, `month-${m[1]}-${m[2]}`]],
  // Resolutions: 1080p, 720p, 2160p, 4k, 8k, 1920x1080
  [/(?<![a-z0-9])(240|360|480|540|720|1080|1440|2160|4320)[pi](?![a-z0-9])/gi, (m) => [`${m[1]}p`]],
  [/(?<![a-z0-9])([48])k(?![a-z0-9])/gi, (m) => [`${m[1]}k`]],
  [/(?<!\d)(\d{3,4})x(\d{3,4})(?!\d)/g, (m) => [`${m[1]}x${m[2]}`]],
  // Frame rates: 60fps
  [/(?<![a-z0-9])(\d{2,3})\s?fps(?![a-z])/gi, (m) => [`${m[1]}fps`]],
  // A lone year in brackets: "Film (1999)"
  [new RegExp(`(?<![\\d])[\\[(]${YEAR}[\\])]`, 'g'), (m) => [`year-${m[1]}`]],
];

/** Recognised patterns in a name, each removed so its digits do not become words. */
export function namePatterns(name: string): PatternHit[] {
  const hits: PatternHit[] = [];
  if (!/\d/.test(name)) return hits; // every pattern has a digit
  let rest = name;
  for (const [re, make] of PATTERNS) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(rest)) !== null) {
      const tags = make(m);
      if (tags) {
        hits.push({ tags, text: m[0] });
        rest = rest.slice(0, m.index) + ' '.repeat(m[0].length) + rest.slice(m.index + m[0].length);
      }
    }
  }
  return hits;
}

const stopMemo = new WeakMap<FilenameTaggerOptions, Set<string>>();
function stopSet(options: FilenameTaggerOptions): Set<string> {
  let s = stopMemo.get(options);
  if (!s) stopMemo.set(options, (s = new Set([...DEFAULT_STOP_WORDS, ...(options.stopWords ?? []).map((w) => w.toLowerCase())])));
  return s;
}

function stripExtension(name: string): string {
  return name.replace(/\.[a-z0-9]{2,5}$/i, '');
}

/** Tags from the file name and the last folders of its path: words plus recognised patterns. */
export function filenameTags(video: Pick<Video, 'source' | 'file'>, options: FilenameTaggerOptions = DEFAULT_OPTIONS): Tag[] {
  const stop = stopSet(options);
  const depth = options.folderDepth ?? 2;
  const minLen = options.minWordLength ?? 2;
  const parts = originalPath(video).split(/[\\/]+/).filter(Boolean);
  const base = stripExtension(parts.pop() ?? '');
  const folders = depth > 0 ? parts.slice(-depth) : [];
  const tags: Tag[] = pieceTags(base, true, stop, minLen);
  for (const folder of folders) tags.push(...folderTags(folder, stop, minLen, options));
  return tags;
}

/** Folder names repeat across a library: their tags are remembered (per option set). */
const folderMemo = new WeakMap<FilenameTaggerOptions, Map<string, Tag[]>>();
const DEFAULT_OPTIONS: FilenameTaggerOptions = {};

function folderTags(folder: string, stop: ReadonlySet<string>, minLen: number, options: FilenameTaggerOptions): Tag[] {
  let memo = folderMemo.get(options);
  if (!memo) folderMemo.set(options, (memo = new Map()));
  let tags = memo.get(folder);
  if (!tags) {
    if (memo.size > 10_000) memo.clear();
    tags = pieceTags(folder, false, stop, minLen);
    memo.set(folder, tags);
  }
  return tags;
}

function pieceTags(piece: string, isBase: boolean, stop: ReadonlySet<string>, minLen: number): Tag[] {
  const tags: Tag[] = [];
  {
    const i = isBase ? 0 : 1;
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
export function createFilenameTagger(options: FilenameTaggerOptions = DEFAULT_OPTIONS): Tagger {
  return {
    name: 'filename',
    tag: (video: Video, _ctx: TaggerContext) => filenameTags(video, options),
  };
}
