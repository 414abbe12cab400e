import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, type SourceKind } from '../core/index.js';
import { SORT_KEYS, sortKeyOf, type Range, type SearchQuery, type SortKey } from '../store/index.js';
import { collect, nonNegativeInt, number, positiveInt } from './shared-options.js';

export { SORT_KEYS };
const SOURCE_KINDS: SourceKind[] = ['local', 'http', 'ytdlp', 'hls'];

/** "10..60", "10..", "..60" or "30" (exactly). */
export function parseRange(text: string): Range {
  const m = /^\s*(-?\d+(?:\.\d+)?)?\s*\.\.\s*(-?\d+(?:\.\d+)?)?\s*$/.exec(text);
  if (m && (m[1] !== undefined || m[2] !== undefined)) {
    const r: Range = {};
    if (m[1] !== undefined) r.min = Number(m[1]);
    if (m[2] !== undefined) r.max = Number(m[2]);
    if (r.min !== undefined && r.max !== undefined && r.min > r.max) throw new InvalidArgumentError(`range ${text} has min above max`);
    return r;
  }
  const n = Number(text);
  if (text.trim() !== '' && Number.isFinite(n)) return { min: n, max: n };
  throw new InvalidArgumentError(`expected a range like 10..60, 10.. or ..60`);
}

/** The filter flags search and export share. */
export function withSearchFlags(cmd: Command): Command {
  return cmd
    .option('--tag <tag>', 'has this tag (repeat for all of several)', collect)
    .option('--any-tag <tag>', 'has at least one of these tags (repeatable)', collect)
    .option('--not-tag <tag>', 'does not have this tag (repeatable)', collect)
    .option('--category <name>', 'has this category (repeatable)', collect)
    .option('--duration <range>', 'duration in seconds, e.g. 10..60', parseRange)
    .option('--width <range>', 'display width range', parseRange)
    .option('--height <range>', 'display height range', parseRange)
    .option('--min-height <px>', 'display height at least', number)
    .option('--min-width <px>', 'display width at least', number)
    .option('--fps <range>', 'frame rate range', parseRange)
    .option('--codec <codec>', 'video codec, e.g. h264')
    .option('--source <kind>', `source kind: ${SOURCE_KINDS.join('|')}`, (v: string) => {
      if (!SOURCE_KINDS.includes(v as SourceKind)) throw new InvalidArgumentError(`expected one of ${SOURCE_KINDS.join(', ')}`);
      return v;
    })
    .option('--failed', 'only records with a failed stage')
    .option('--sort <order>', `one of ${SORT_KEYS.join(', ')}, or a shorthand as sort: takes (newest, longest, ...)`, (v: string) => {
      const key = sortKeyOf(v);
      if (!key) throw new InvalidArgumentError(`expected one of ${SORT_KEYS.join(', ')}, or newest, oldest, longest, shortest, largest, smallest`);
      return key;
    })
    .option('--action <name>', 'the model saw this action (repeatable)', collect)
    .option('--scenes <range>', 'number of scenes, e.g. 5..', parseRange)
    .option('--limit <n>', 'most results', positiveInt)
    .option('--offset <n>', 'skip this many results', nonNegativeInt)
    .option('--cursor <cursor>', 'the next page: nextCursor from the previous --json result');
}

export interface SearchFlags {
  tag?: string[];
  anyTag?: string[];
  notTag?: string[];
  category?: string[];
  duration?: Range;
  width?: Range;
  height?: Range;
  minHeight?: number;
  minWidth?: number;
  fps?: Range;
  codec?: string;
  source?: SourceKind;
  failed?: boolean;
  sort?: SortKey;
  action?: string[];
  scenes?: Range;
  limit?: number;
  offset?: number;
  cursor?: string;
}

/** `--width 1000..2000 --min-width 100`: both hold, so the larger minimum; one above the range's maximum is a mistake. */
function withMin(range: Range | undefined, min: number | undefined, name: 'width' | 'height'): Range {
  const r: Range = { ...range };
  if (min !== undefined) r.min = Math.max(min, r.min ?? min);
  if (min !== undefined && r.max !== undefined && min > r.max) throw new ConfigError(`--min-${name} ${min} is above the --${name} range's maximum ${r.max}: nothing could match`);
  return r;
}

export function queryFromFlags(text: string, f: SearchFlags): SearchQuery {
  const q: SearchQuery = {};
  if (text.trim()) q.text = text.trim();
  if (f.tag?.length) q.tags = f.tag;
  if (f.anyTag?.length) q.anyTags = f.anyTag;
  if (f.notTag?.length) q.notTags = f.notTag;
  if (f.category?.length) q.categories = f.category;
  if (f.duration) q.duration = f.duration;
  if (f.width || f.minWidth !== undefined) q.width = withMin(f.width, f.minWidth, 'width');
  if (f.height || f.minHeight !== undefined) q.height = withMin(f.height, f.minHeight, 'height');
  if (f.fps) q.fps = f.fps;
  if (f.codec) q.codec = f.codec;
  if (f.source) q.sourceKind = f.source;
  if (f.failed) q.failed = true;
  if (f.sort) q.sort = f.sort;
  if (f.limit !== undefined) q.limit = f.limit;
  if (f.offset !== undefined) q.offset = f.offset;
  if (f.action?.length) q.actions = f.action;
  if (f.scenes) q.scenes = f.scenes;
  if (f.cursor) q.cursor = f.cursor;
  // a cursor carries its own position: an offset beside it was dropped without a word
  if (f.cursor && f.offset !== undefined) throw new ConfigError('--cursor and --offset: give one (the cursor already says where the page starts)');
  return q;
}
