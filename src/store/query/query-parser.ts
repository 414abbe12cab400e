/**
 * The search language: a small hand-written recursive-descent parser (no parser library: the grammar is a
 * dozen rules, errors must point at a column and suggest fields, and a hand-written parser is bounded in time
 * and depth by construction, which the fuzz test checks).
 *
 *   query   := or EOF
 *   or      := and ('OR' and)*
 *   and     := unary*                       (implicit AND; 'AND' is accepted and ignored)
 *   unary   := ('-' | 'NOT') unary | primary
 *   primary := '(' or ')' | field ':' value | '"' phrase '"' | word ['*']
 */
import { editDistance, QueryError } from '../../core/index.js';
import type { HasWhat, LabelField, QueryNode, Range, RangeField, SearchQuery, SortKey, TimeField, TimeRange } from '../search-query.js';
import { SORT_KEYS } from '../search-query.js';
import { labelValue } from './index-fields.js';
import { isUnspacedUnit, normalizeText, tokenize } from './text.js';

export const MAX_QUERY_LENGTH = 4096;
export const MAX_DEPTH = 32;
export const MAX_LIMIT = 1000;
/** The deepest a page may start (`offset:`, the API's `offset=`): further is what cursors are for. */
export const MAX_OFFSET = 10_000_000;

type FieldSpec =
  | { type: 'label'; field: LabelField; values?: readonly string[]; aliases?: Record<string, string> }
  | { type: 'range'; field: RangeField; unit: 'duration' | 'int' | 'float' | 'bytes' | 'pixels' }
  | { type: 'time'; field: TimeField }
  | { type: 'has' }
  | { type: 'is' }
  | { type: 'name' }
  | { type: 'id' }
  | { type: 'sort' }
  | { type: 'limit' }
  | { type: 'offset' }
  | { type: 'cursor' };

const SOURCE_KINDS = ['http', 'ytdlp', 'hls', 'local'] as const;
const HAS_VALUES: readonly HasWhat[] = ['audio', 'ai', 'description', 'scenes', 'tags', 'metadata'];
const RESOLUTIONS = ['4k', '1440p', '1080p', '720p', '480p', 'sd'] as const;

/** Every field of the language, by canonical name. */
export const FIELDS: Record<string, FieldSpec> = {
  tag: { type: 'label', field: 'tag' },
  category: { type: 'label', field: 'category' },
  action: { type: 'label', field: 'action' },
  codec: { type: 'label', field: 'codec' },
  'audio-codec': { type: 'label', field: 'audio-codec' },
  container: { type: 'label', field: 'container', aliases: { mp4: 'mov', m4v: 'mov', mkv: 'matroska', webm: 'matroska' } },
  source: { type: 'label', field: 'source', values: SOURCE_KINDS, aliases: { youtube: 'ytdlp', 'yt-dlp': 'ytdlp', file: 'local', https: 'http' } },
  resolution: { type: 'label', field: 'resolution', values: RESOLUTIONS, aliases: { '2160p': '4k', uhd: '4k', fhd: '1080p', hd: '720p' } },
  duration: { type: 'range', field: 'duration', unit: 'duration' },
  width: { type: 'range', field: 'width', unit: 'pixels' },
  height: { type: 'range', field: 'height', unit: 'pixels' },
  fps: { type: 'range', field: 'fps', unit: 'float' },
  scenes: { type: 'range', field: 'scenes', unit: 'int' },
  size: { type: 'range', field: 'size', unit: 'bytes' },
  created: { type: 'time', field: 'created' },
  added: { type: 'time', field: 'added' },
  has: { type: 'has' },
  is: { type: 'is' },
  name: { type: 'name' },
  id: { type: 'id' },
  sort: { type: 'sort' },
  limit: { type: 'limit' },
  offset: { type: 'offset' },
  cursor: { type: 'cursor' },
};

const ALIASES: Record<string, string> = {
  tags: 'tag',
  cat: 'category',
  categories: 'category',
  actions: 'action',
  vcodec: 'codec',
  acodec: 'audio-codec',
  format: 'container',
  kind: 'source',
  from: 'source',
  res: 'resolution',
  dur: 'duration',
  length: 'duration',
  w: 'width',
  h: 'height',
  scene: 'scenes',
  date: 'created',
  file: 'name',
  filename: 'name',
  title: 'name',
  bytes: 'size',
};

const SORT_SHORTHAND: Record<string, SortKey> = {
  created: 'created-desc',
  added: 'added-desc',
  date: 'created-desc',
  duration: 'duration-desc',
  name: 'name-asc',
  size: 'size-desc',
  newest: 'added-desc',
  oldest: 'added-asc',
  longest: 'duration-desc',
  shortest: 'duration-asc',
  largest: 'size-desc',
  smallest: 'size-asc',
};

/**
 * The table's own entry for a word the user typed: `constructor` or `__proto__` as a field, alias or sort name
 * must be unknown, not the object's built-in members (which crashed the search).
 */
function own<T>(table: Readonly<Record<string, T>>, word: string): T | undefined {
  return Object.hasOwn(table, word) ? table[word] : undefined;
}

/** A sort order as `sort:` takes it (a key or a shorthand, any case), or null. */
export function sortKeyOf(word: string): SortKey | null {
  const w = word.trim().toLowerCase();
  return (SORT_KEYS as readonly string[]).includes(w) ? (w as SortKey) : (own(SORT_SHORTHAND, w) ?? null);
}

/** A sort order given outside the query text (a flag, an HTTP parameter), checked as `sort:` is. */
export function checkedSortKey(word: string): SortKey {
  const key = sortKeyOf(word);
  if (!key) throw new QueryError(`sort: '${word}' is not a sort order${suggestion([...SORT_KEYS, ...Object.keys(SORT_SHORTHAND)], word.trim())}`, 0);
  return key;
}

type Tok =
  | { t: 'word'; v: string; pos: number }
  | { t: 'phrase'; v: string; pos: number }
  | { t: 'field'; key: string; v: string; quoted: boolean; pos: number; vpos: number }
  | { t: 'neg'; pos: number }
  | { t: 'or'; pos: number }
  | { t: 'lp'; pos: number }
  | { t: 'rp'; pos: number }
  | { t: 'eof'; pos: number };

/** "1:7" for an offset into the input (lines and columns 1-based). */
function where(input: string, pos: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < input.length; i++) {
    if (input[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `${line}:${col}`;
}

function columnOf(input: string, pos: number): number {
  const nl = input.lastIndexOf('\n', pos - 1);
  return pos - nl;
}

function fail(input: string, pos: number, message: string, hint = ''): never {
  throw new QueryError(`${message} at ${where(input, pos)}${hint}`, columnOf(input, pos));
}

function suggestion(names: readonly string[], wanted: string): string {
  const w = wanted.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(n, w);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(2, Math.floor(w.length / 2))) ? ` (did you mean ${best}?)` : '';
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0' || c === '\u3000';

function lex(input: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = input.length;
  const readQuoted = (start: number): { v: string; end: number } => {
    // input[start] === '"'
    let j = start + 1;
    let v = '';
    while (j < n && input[j] !== '"') {
      if (input[j] === '\\' && j + 1 < n) {
        v += input[j + 1];
        j += 2;
      } else {
        v += input[j];
        j++;
      }
    }
    if (j >= n) fail(input, start, 'unterminated quote');
    return { v, end: j + 1 };
  };
  while (i < n) {
    const c = input[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '(') {
      toks.push({ t: 'lp', pos: i });
      i++;
      continue;
    }
    if (c === ')') {
      toks.push({ t: 'rp', pos: i });
      i++;
      continue;
    }
    if (c === '-' && i + 1 < n && !isSpace(input[i + 1]!) && input[i + 1] !== ')' && input[i + 1] !== '-') {
      toks.push({ t: 'neg', pos: i });
      i++;
      continue;
    }
    if (c === '"') {
      const q = readQuoted(i);
      toks.push({ t: 'phrase', v: q.v, pos: i });
      i = q.end;
      continue;
    }
    // A bare chunk: up to whitespace, a paren or a quote.
    const start = i;
    while (i < n && !isSpace(input[i]!) && input[i] !== '(' && input[i] !== ')' && input[i] !== '"') i++;
    const chunk = input.slice(start, i);
    const colon = chunk.indexOf(':');
    if (colon > 0 && /^[A-Za-z][A-Za-z-]*$/.test(chunk.slice(0, colon))) {
      const key = chunk.slice(0, colon);
      let v = chunk.slice(colon + 1);
      let quoted = false;
      const vpos = start + colon + 1;
      if (v === '' && i < n && input[i] === '"') {
        const q = readQuoted(i);
        v = q.v;
        quoted = true;
        i = q.end;
      }
      toks.push({ t: 'field', key, v, quoted, pos: start, vpos });
      continue;
    }
    if (chunk === 'OR' || chunk === '|' || chunk === '||') toks.push({ t: 'or', pos: start });
    else if (chunk === 'NOT') toks.push({ t: 'neg', pos: start });
    else if (chunk === 'AND' || chunk === '&&') continue;
    else toks.push({ t: 'word', v: chunk, pos: start });
  }
  toks.push({ t: 'eof', pos: n });
  return toks;
}

interface Options {
  sort?: SortKey;
  limit?: number;
  offset?: number;
  cursor?: string;
}

class Parser {
  private i = 0;
  readonly options: Options = {};
  constructor(
    private readonly input: string,
    private readonly toks: Tok[],
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }

  parse(): QueryNode | null {
    const node = this.or(0);
    const t = this.peek();
    if (t.t === 'rp') fail(this.input, t.pos, "unexpected ')'");
    if (t.t !== 'eof') fail(this.input, t.pos, 'unexpected input');
    return node;
  }

  private or(depth: number): QueryNode | null {
    if (depth > MAX_DEPTH) fail(this.input, this.peek().pos, `query nested more than ${MAX_DEPTH} deep`);
    const first = this.peek();
    if (first.t === 'or') fail(this.input, first.pos, 'OR needs a term before it');
    const parts: QueryNode[] = [];
    let left = this.and(depth);
    while (this.peek().t === 'or') {
      const orTok = this.peek();
      this.i++;
      const right = this.and(depth);
      if (right === null) fail(this.input, orTok.pos, 'OR needs a term after it');
      if (left === null) fail(this.input, orTok.pos, 'OR needs a term before it');
      parts.push(left);
      left = right;
    }
    if (parts.length === 0) return left;
    if (left) parts.push(left);
    return { kind: 'or', nodes: parts };
  }

  private and(depth: number): QueryNode | null {
    const nodes: QueryNode[] = [];
    for (;;) {
      const t = this.peek();
      if (t.t === 'eof' || t.t === 'rp' || t.t === 'or') break;
      const n = this.unary(depth, false);
      if (n) nodes.push(n);
    }
    if (nodes.length === 0) return null;
    return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
  }

  private unary(depth: number, negated: boolean): QueryNode | null {
    const t = this.peek();
    if (t.t === 'neg') {
      this.i++;
      if (depth > MAX_DEPTH) fail(this.input, t.pos, `query nested more than ${MAX_DEPTH} deep`);
      const next = this.peek();
      if (next.t === 'eof' || next.t === 'rp' || next.t === 'or') fail(this.input, t.pos, 'nothing to negate');
      const inner = this.unary(depth + 1, !negated);
      if (inner === null) return null;
      return { kind: 'not', node: inner };
    }
    return this.primary(depth, negated);
  }

  private primary(depth: number, negated: boolean): QueryNode | null {
    const t = this.peek();
    this.i++;
    switch (t.t) {
      case 'lp': {
        const inner = this.or(depth + 1);
        const close = this.peek();
        if (close.t !== 'rp') fail(this.input, t.pos, "unclosed '('");
        this.i++;
        if (inner === null) fail(this.input, t.pos, 'empty parentheses');
        return inner;
      }
      case 'phrase': {
        const tokens = tokenize(t.v);
        if (tokens.length === 0) return null;
        if (tokens.length === 1) return { kind: 'text', value: tokens[0]! };
        return { kind: 'text', value: tokens.join(' '), phrase: true };
      }
      case 'word':
        return this.word(t.v, t.pos);
      case 'field':
        return this.field(t, negated);
      default:
        return fail(this.input, t.pos, `unexpected ${t.t === 'rp' ? "')'" : t.t === 'or' ? 'OR' : 'end of query'}`);
    }
  }

  /** A bare word: its tokens ANDed ("slow-motion" means slow motion); a trailing * makes the last a prefix. */
  private word(v: string, pos: number): QueryNode | null {
    // `duration>60` is a filter written without its colon: searched as the words duration and 60, it found nothing
    const comparison = /^([a-z-]+)(>=|<=|>|<|=)(.+)$/i.exec(v);
    const named = comparison && (own(FIELDS, comparison[1]!.toLowerCase()) ? comparison[1]!.toLowerCase() : own(ALIASES, comparison[1]!.toLowerCase()));
    if (comparison && named) fail(this.input, pos, `'${v}' looks like a filter`, ` (write ${comparison[1]}:${comparison[2] === '=' ? '' : comparison[2]}${comparison[3]})`);
    const tokens = tokenize(v);
    if (tokens.length === 0) return null;
    // a word ending in a script written without spaces is a phrase of its characters, each a whole token: the text
    // after it goes on in tokens of its own, so `東京*` is `東京`
    const prefix = v.endsWith('*') && !isUnspacedUnit(tokens.at(-1)!);
    if (tokens.length === 1) return prefix ? { kind: 'text', value: tokens[0]!, prefix: true } : { kind: 'text', value: tokens[0]! };
    if (!prefix) return { kind: 'text', value: tokens.join(' '), phrase: true };
    const nodes: QueryNode[] = tokens.map((tok) => ({ kind: 'text', value: tok }));
    nodes[nodes.length - 1] = { kind: 'text', value: tokens.at(-1)!, prefix: true };
    return { kind: 'and', nodes };
  }

  private field(t: Extract<Tok, { t: 'field' }>, negated: boolean): QueryNode | null {
    const lower = t.key.toLowerCase();
    const name = own(FIELDS, lower) ? lower : own(ALIASES, lower);
    if (!name) {
      const all = [...Object.keys(FIELDS)];
      fail(this.input, t.pos, `unknown field '${t.key}'`, suggestion(all, lower));
    }
    const spec = FIELDS[name]!;
    const v = t.v;
    if (v === '') fail(this.input, t.vpos, `${name}: needs a value`);
    const bad = (msg: string, hint = ''): never => fail(this.input, t.vpos, `${name}: ${msg}`, hint);
    const option = (): void => {
      if (negated) fail(this.input, t.pos, `${name}: cannot be negated`);
    };
    switch (spec.type) {
      case 'label': {
        let value = labelValue(spec.field, v);
        if (value === '') bad(`'${v}' has nothing to match`);
        value = (spec.aliases && own(spec.aliases, value)) ?? value;
        if (spec.values && !spec.values.includes(value)) bad(`'${v}' is not one of ${spec.values.join(', ')}`, suggestion(spec.values, value));
        return { kind: 'label', field: spec.field, value };
      }
      case 'range':
        return { kind: 'range', field: spec.field, range: parseRange(v, spec.unit, bad) };
      case 'time':
        return { kind: 'time', field: spec.field, range: parseTimeRange(v, bad) };
      case 'has': {
        const w = v.toLowerCase() as HasWhat;
        if (!HAS_VALUES.includes(w)) bad(`'${v}' is not one of ${HAS_VALUES.join(', ')}`, suggestion(HAS_VALUES, w));
        return { kind: 'has', what: w };
      }
      case 'is': {
        const w = v.toLowerCase();
        if (w === 'failed') return { kind: 'failed' };
        if (w === 'ok') return { kind: 'not', node: { kind: 'failed' } };
        return bad(`'${v}' is not one of failed, ok`, suggestion(['failed', 'ok'], w));
      }
      case 'name': {
        const value = normalizeText(v).trim();
        if (value === '') bad(`'${v}' has nothing to match`);
        return { kind: 'name', value };
      }
      case 'id':
        if (!/^[0-9a-zA-Z_-]{1,128}$/.test(v)) bad(`'${v}' is not an id`);
        // ids are lower-case hex, and `/api/videos/<ID>` takes any case: so does `id:`
        return { kind: 'id', value: /^[0-9a-f]+$/i.test(v) ? v.toLowerCase() : v };
      case 'sort': {
        option();
        const key = sortKeyOf(v);
        if (!key) return bad(`'${v}' is not a sort order`, suggestion([...SORT_KEYS, ...Object.keys(SORT_SHORTHAND)], v.toLowerCase()));
        this.options.sort = key;
        return null;
      }
      case 'limit': {
        option();
        if (!/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > MAX_LIMIT) bad(`'${v}' is not a number from 1 to ${MAX_LIMIT}`);
        this.options.limit = Number(v);
        return null;
      }
      case 'offset': {
        option();
        if (!/^\d{1,9}$/.test(v) || Number(v) > MAX_OFFSET) bad(`'${v}' is not a whole number from 0 to ${MAX_OFFSET}`);
        this.options.offset = Number(v);
        return null;
      }
      case 'cursor':
        option();
        // as long as the query may be: a name sort's cursor holds the last name (up to 512 characters, 2 kB of
        // UTF-8), which in base64 ran past the 2048 characters this took, so a page search made was refused here
        if (!/^[A-Za-z0-9_-]+$/.test(v)) bad(`'${v.slice(0, 20)}' is not a cursor`);
        this.options.cursor = v;
        return null;
    }
  }
}

function parseNumber(s: string, unit: 'duration' | 'int' | 'float' | 'bytes' | 'pixels'): number | null {
  const t = s.trim().toLowerCase();
  if (t === '') return null;
  if (unit === 'duration') {
    if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
    let m = /^(\d+):(\d{1,2})(?::(\d{1,2}))?(\.\d+)?$/.exec(t);
    if (m) {
      const parts = [m[1], m[2], m[3]].filter((x) => x !== undefined).map(Number);
      const secs = parts.length === 3 ? parts[0]! * 3600 + parts[1]! * 60 + parts[2]! : parts[0]! * 60 + parts[1]!;
      return secs + (m[4] ? Number(m[4]) : 0);
    }
    m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
    if (m && (m[1] || m[2] || m[3])) return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
    return null;
  }
  if (unit === 'bytes') {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(t);
    if (!m) return null;
    const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2] as '' | 'k' | 'm' | 'g' | 't'];
    return Math.round(Number(m[1]) * mult);
  }
  if (unit === 'pixels') {
    const m = /^(\d{1,6})p?$/.exec(t);
    return m ? Number(m[1]) : null;
  }
  if (unit === 'int') return /^\d{1,9}$/.test(t) ? Number(t) : null;
  return /^\d{1,6}(\.\d+)?$/.test(t) ? Number(t) : null;
}

function parseRange(v: string, unit: 'duration' | 'int' | 'float' | 'bytes' | 'pixels', bad: (m: string) => never): Range {
  const num = (s: string): number => {
    const x = parseNumber(s, unit);
    if (x === null || !Number.isFinite(x)) bad(`'${s}' is not ${unitDoc(unit)}`);
    return x;
  };
  const dots = v.indexOf('..');
  if (dots >= 0) {
    const a = v.slice(0, dots);
    const b = v.slice(dots + 2);
    if (a === '' && b === '') bad(`'${v}' needs a bound`);
    const r: Range = {};
    if (a !== '') r.min = num(a);
    if (b !== '') r.max = num(b);
    if (r.min !== undefined && r.max !== undefined && r.min > r.max) bad(`'${v}' is an empty range`);
    return r;
  }
  const m = /^(>=|<=|>|<|=)?(.*)$/.exec(v)!;
  const op = m[1] ?? '=';
  const x = num(m[2]!);
  switch (op) {
    case '>':
      return { min: x, minExclusive: true };
    case '>=':
      return { min: x };
    case '<':
      return { max: x, maxExclusive: true };
    case '<=':
      return { max: x };
    default:
      return { min: x, max: x };
  }
}

function unitDoc(unit: string): string {
  switch (unit) {
    case 'duration':
      return 'a duration (90, 1.5, 2m, 1h30m, 1:30)';
    case 'bytes':
      return 'a size (500, 10M, 1.5G)';
    case 'pixels':
      return 'a pixel count (720, 1080p)';
    case 'int':
      return 'a whole number';
    default:
      return 'a number';
  }
}

/** Date.UTC, but years 0-99 as written: Date.UTC reads them as 1900-1999 (`created:0050` searched 1950). */
function utc(y: number, mo: number, d = 1, hh = 0, mm = 0, ss = 0): number {
  const t = new Date(Date.UTC(2000, mo, d, hh, mm, ss));
  t.setUTCFullYear(y + (t.getUTCFullYear() - 2000));
  return t.getTime();
}

/** A date or date-time denotes an interval: 2024 is the year, 2024-03 the month, 2024-03-05 the day. */
function dateInterval(s: string): [string, string] | null {
  const m = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[t ](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?z?$/i.exec(s.trim());
  if (!m) return null;
  const y = Number(m[1]);
  const mo = m[2] ? Number(m[2]) : undefined;
  const d = m[3] ? Number(m[3]) : undefined;
  const hh = m[4] ? Number(m[4]) : undefined;
  const mm = m[5] ? Number(m[5]) : undefined;
  const ss = m[6] ? Number(m[6]) : undefined;
  if (mo !== undefined && (mo < 1 || mo > 12)) return null;
  if (d !== undefined && (d < 1 || d > 31)) return null;
  if (hh !== undefined && (hh > 23 || mm! > 59 || (ss ?? 0) > 59)) return null;
  let start: number;
  let end: number;
  if (mo === undefined) {
    start = utc(y, 0);
    end = utc(y + 1, 0);
  } else if (d === undefined) {
    start = utc(y, mo - 1);
    end = utc(y, mo);
  } else if (hh === undefined) {
    start = utc(y, mo - 1, d);
    if (new Date(start).getUTCDate() !== d) return null;
    end = start + 86_400_000;
  } else {
    start = utc(y, mo - 1, d, hh, mm!, ss ?? 0);
    end = start + (ss === undefined ? 60_000 : 1000);
  }
  return [new Date(start).toISOString(), new Date(end).toISOString()];
}

function parseTimeRange(v: string, bad: (m: string) => never): TimeRange {
  const iv = (s: string): [string, string] => {
    const r = dateInterval(s);
    if (!r) bad(`'${s}' is not a date (2024, 2024-06, 2024-06-30, 2024-06-30T12:00)`);
    return r;
  };
  const dots = v.indexOf('..');
  if (dots >= 0) {
    const a = v.slice(0, dots);
    const b = v.slice(dots + 2);
    if (a === '' && b === '') bad(`'${v}' needs a bound`);
    const r: TimeRange = {};
    if (a !== '') r.from = iv(a)[0];
    if (b !== '') r.to = iv(b)[1];
    if (r.from && r.to && r.from >= r.to) bad(`'${v}' is an empty range`);
    return r;
  }
  const m = /^(>=|<=|>|<|=)?(.*)$/.exec(v)!;
  const [start, end] = iv(m[2]!);
  switch (m[1]) {
    case '>':
      return { from: end };
    case '>=':
      return { from: start };
    case '<':
      return { to: start };
    case '<=':
      return { to: end };
    default:
      return { from: start, to: end };
  }
}

/**
 * Parses the query language into a SearchQuery (`where` plus sort/limit/offset/cursor).
 * Throws QueryError whose message names the column: `unknown field 'durtion' at 1:1 (did you mean duration?)`.
 */
export function parseQuery(input: string): SearchQuery {
  if (input.length > MAX_QUERY_LENGTH) throw new QueryError(`query longer than ${MAX_QUERY_LENGTH} characters`, MAX_QUERY_LENGTH + 1);
  const parser = new Parser(input, lex(input));
  const node = parser.parse();
  const q: SearchQuery = { ...parser.options };
  if (node) q.where = node;
  return q;
}
