import picomatch from 'picomatch';
import { z } from 'zod';
import { ConfigError, editDistance, hasUnspaced, stableStringify, type Category, type Tag, type Video } from '../core/index.js';
import { originalPath } from './filename-tagger.js';
import { mergeTags, stronger } from './tag-merge.js';
import { parseStructuredText, readTextFile, type FileLocator } from './structured-file.js';
import { normalizeTag, splitWords, stem } from './words.js';

/**
 * The rules language. A rules file (YAML or JSON) holds a list of rules; each has a condition on the record
 * (`when`) and actions (add/remove tags and categories), with a priority. Everything is checked when the file
 * is loaded: a bad rule is a ConfigError with its line, before any video is touched.
 */

// ---------------------------------------------------------------------------------------------- fields

type FieldType = 'number' | 'string' | 'boolean';
type FieldValue = number | string | boolean | undefined;

interface FieldSpec {
  type: FieldType;
  doc: string;
  /** Unit suffixes allowed in values: seconds (s, m, h) or bytes (K, M, G). */
  unit?: 'time' | 'bytes';
  get(v: Video, path: string): FieldValue;
}

const n = (x: number | null | undefined): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/**
 * Text in one Unicode form, so a rule written with `é` matches a name stored as `e` and a combining accent (macOS
 * file names, some sites' titles) and the other way round. ASCII, nearly every name, is returned as it is.
 */
export const nfc = (x: string): string => (/^[\x00-\x7f]*$/.test(x) ? x : x.normalize('NFC'));

/** Every field a comparison may name. Missing values (no metadata yet) make any comparison false. */
export const RULE_FIELDS: Readonly<Record<string, FieldSpec>> = {
  duration: { type: 'number', unit: 'time', doc: 'duration in seconds', get: (v) => n(v.metadata?.durationSec) },
  width: { type: 'number', doc: 'display width in pixels', get: (v) => n(v.metadata?.width) },
  height: { type: 'number', doc: 'display height in pixels', get: (v) => n(v.metadata?.height) },
  fps: { type: 'number', doc: 'frames per second', get: (v) => n(v.metadata?.fps) },
  bitrate: { type: 'number', doc: 'bits per second', get: (v) => n(v.metadata?.bitRate) },
  rotation: { type: 'number', doc: 'clockwise rotation for display in degrees (0, 90, 180, 270)', get: (v) => n(v.metadata?.rotation) },
  frames: { type: 'number', doc: 'frame count', get: (v) => n(v.metadata?.frameCount) },
  bitDepth: { type: 'number', doc: 'bits per sample', get: (v) => n(v.metadata?.bitDepth) },
  audioChannels: { type: 'number', doc: 'audio channels (0 when silent)', get: (v) => (v.metadata ? (v.metadata.audio?.channels ?? 0) : undefined) },
  sampleRate: { type: 'number', doc: 'audio sample rate', get: (v) => n(v.metadata?.audio?.sampleRate) },
  bytes: { type: 'number', unit: 'bytes', doc: 'file size', get: (v) => n(v.file?.bytes) },
  scenes: { type: 'number', doc: 'number of scenes', get: (v) => v.scenes?.length ?? 0 },
  // the tags of this pass so far, read by `fieldOf` from the subject: the stored tags are the last run's output, and
  // reading them made a record tagged again come out otherwise than one tagged from scratch
  tagCount: { type: 'number', doc: 'number of tags so far', get: (v) => v.tags?.length ?? 0 },
  aspect: { type: 'number', doc: 'width / height', get: (v) => (v.metadata && v.metadata.height > 0 ? v.metadata.width / v.metadata.height : undefined) },
  codec: { type: 'string', doc: 'video codec (h264, hevc, vp9...)', get: (v) => v.metadata?.videoCodec },
  audioCodec: { type: 'string', doc: 'audio codec', get: (v) => v.metadata?.audio?.codec },
  container: { type: 'string', doc: 'container format', get: (v) => v.metadata?.container },
  pixelFormat: { type: 'string', doc: 'pixel format', get: (v) => v.metadata?.pixelFormat },
  source: { type: 'string', doc: 'source kind: local, http, ytdlp, hls', get: (v) => v.source?.kind },
  url: { type: 'string', doc: 'the input URL or path', get: (v) => v.source?.url },
  // the title search shows: the site's, else the container's (a local file's `title` tag)
  title: { type: 'string', doc: "title: the site's, else the file's container title", get: (v) => v.source?.title ?? v.metadata?.containerTags?.title },
  uploader: { type: 'string', doc: 'uploader', get: (v) => v.source?.uploader },
  label: { type: 'string', doc: 'label from a labelled list', get: (v) => v.source?.list?.label },
  split: { type: 'string', doc: 'split from a labelled list', get: (v) => v.source?.list?.split },
  filename: { type: 'string', doc: 'file name as acquired', get: (_v, p) => p.split(/[\\/]/).pop() },
  extension: { type: 'string', doc: 'file extension without dot', get: (_v, p) => /\.([a-z0-9]+)$/i.exec(p)?.[1]?.toLowerCase() },
  model: { type: 'string', doc: 'model that described the video', get: (v) => v.ai?.model },
  aiCategory: { type: 'string', doc: "the model's category answer", get: (v) => v.ai?.category },
  hasAudio: { type: 'boolean', doc: 'has an audio stream', get: (v) => (v.metadata ? v.metadata.audio !== null : undefined) },
  hasAi: { type: 'boolean', doc: 'has a model description', get: (v) => v.ai !== null && v.ai !== undefined },
};

// ---------------------------------------------------------------------------------------------- subject

/**
 * The part of a record that rule conditions read without the tagging state (`tag`, `tags`, `category` and
 * `tagCount` read that): source, file, metadata, scene count and descriptions, and the model's answer fields.
 * Retag keeps it, as JSON, beside the stage entries it verified against the record (SQLite's `video_stages`), so a
 * rule edit is evaluated on it without reading the whole record. Anything a field or condition reads must be here
 * (the subject test evaluates every field and condition on both).
 */
export function ruleSubjectView(video: Video): Video {
  const { source: s, file, ai } = video;
  const source = { kind: s.kind, url: s.url, ...(s.title !== undefined ? { title: s.title } : {}), ...(s.uploader !== undefined ? { uploader: s.uploader } : {}), ...(s.list ? { list: s.list } : {}) };
  return {
    source,
    file: { path: file?.path, bytes: file?.bytes },
    metadata: video.metadata,
    scenes: (video.scenes ?? []).map((x) => (x.description ? { description: x.description } : {})),
    ai: ai ? { model: ai.model, category: ai.category, description: ai.description } : ai,
    tags: [],
    categories: [],
  } as unknown as Video;
}


/** What conditions look at: the record plus values computed once per video, on first use. */
export class RuleSubject {
  private pathValue: string | null = null;
  private filenameValue: string | null = null;
  readonly fields = new Map<string, FieldValue>();
  /** Current tag names; rules update it as they add and remove. */
  readonly tags: Set<string>;
  private categorySet: Set<string> | null = null;
  private text: string | null = null;
  private stems: Set<string> | null = null;
  private folded: string | null = null;

  constructor(
    readonly video: Video,
    tags: Iterable<string> = video.tags.map((t) => t.name),
    private readonly categoryNames: Iterable<string> | null = null,
  ) {
    this.tags = new Set(tags);
  }

  /**
   * Current category names, in the form rules name them (a rule's `street food` is `street-food`) whatever the
   * vocabulary's spelling; rules update it as they add and remove. Built on first use: most rules never look.
   */
  get categories(): ReadonlySet<string> {
    if (!this.categorySet) {
      this.categorySet = new Set(Array.from(this.categoryNames ?? this.video.categories.map((c) => c.name), categoryKey));
      for (const [add, name] of this.categoryEdits) if (add) this.categorySet.add(name);
      else this.categorySet.delete(name);
      this.categoryEdits.length = 0;
    }
    return this.categorySet;
  }

  /** Category actions of rules, kept in order until a condition reads the categories. */
  private readonly categoryEdits: Array<[add: boolean, name: string]> = [];

  editCategory(add: boolean, name: string): void {
    if (!this.categorySet) this.categoryEdits.push([add, name]);
    else if (add) this.categorySet.add(name);
    else this.categorySet.delete(name);
  }

  /** The original path (local path, URL path or yt-dlp title). */
  get path(): string {
    this.pathValue ??= nfc(originalPath(this.video));
    return this.pathValue;
  }

  get filename(): string {
    this.filenameValue ??= this.path.split(/[\\/]/).pop() ?? '';
    return this.filenameValue;
  }

  /** The AI description and the scene descriptions. */
  get descriptionText(): string {
    if (this.text === null) {
      const texts: string[] = [];
      if (this.video.ai?.description) texts.push(this.video.ai.description);
      for (const s of this.video.scenes ?? []) if (s.description) texts.push(s.description);
      this.text = texts.join('\n');
    }
    return this.text;
  }

  /** The description as its words are compared (NFKC, lower case), for words found inside a run of letters. */
  get descriptionFolded(): string {
    this.folded ??= this.descriptionText.normalize('NFKC').toLowerCase();
    return this.folded;
  }

  /** Stems of the description words. */
  get descriptionStems(): ReadonlySet<string> {
    this.stems ??= new Set(splitWords(this.descriptionText).map(stem));
    return this.stems;
  }
}

function fieldOf(s: RuleSubject, name: string): FieldValue {
  // changes as rules add and remove: never kept
  if (name === 'tagCount') return s.tags.size;
  if (s.fields.has(name)) return s.fields.get(name);
  const v = RULE_FIELDS[name]!.get(s.video, s.path);
  s.fields.set(name, v);
  return v;
}

// ---------------------------------------------------------------------------------------------- conditions

export type Predicate = (s: RuleSubject) => boolean;

class RuleSyntaxError extends Error {
  constructor(
    message: string,
    readonly path: PropertyKey[] = [],
  ) {
    super(message);
  }
}

const CONDITION_KEYS = ['all', 'any', 'not', 'where', 'filename', 'path', 'description', 'tag', 'tags', 'category', 'source', 'label'] as const;

function suggestion(word: string, options: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(o.toLowerCase(), word.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean ${best}?)` : '';
}

const OPERATORS = ['>=', '<=', '==', '!=', '!~', '=', '>', '<', '~'] as const;
type Operator = (typeof OPERATORS)[number];
const COMPARISON = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*(>=|<=|==|!=|!~|=|>|<|~)\s*(.*?)\s*$/;

function parseNumber(raw: string, unit: FieldSpec['unit']): number | null {
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  if (!m) return null;
  const value = Number(m[1]);
  const suffix = m[2]!.toLowerCase();
  if (!suffix) return value;
  if (unit === 'time') {
    const mult = { s: 1, sec: 1, m: 60, min: 60, h: 3600 }[suffix];
    return mult === undefined ? null : value * mult;
  }
  if (unit === 'bytes') {
    const mult = { k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 }[suffix];
    return mult === undefined ? null : value * mult;
  }
  return null;
}

/** Compiles `duration > 60`, `codec == h264`, `title ~ "cooking"`, `hasAudio == false`. */
export function compileComparison(expr: string): Predicate {
  const m = COMPARISON.exec(expr);
  if (!m) throw new RuleSyntaxError(`"${expr}" is not a comparison; write <field> <op> <value>, e.g. "duration > 60"; ops: ${OPERATORS.join(' ')}`);
  const [, field, op0, rawValue0] = m as unknown as [string, string, Operator, string];
  const op: Operator = op0 === '=' ? '==' : op0;
  const spec = RULE_FIELDS[field];
  if (!spec) throw new RuleSyntaxError(`unknown field "${field}"${suggestion(field, Object.keys(RULE_FIELDS))}; fields: ${Object.keys(RULE_FIELDS).join(', ')}`);
  if (rawValue0 === '') throw new RuleSyntaxError(`"${expr}" has no value after ${op}`);
  const rawValue = /^(["']).*\1$/.test(rawValue0) ? rawValue0.slice(1, -1) : rawValue0;
  if (spec.type === 'number') {
    if (op === '~' || op === '!~') throw new RuleSyntaxError(`${field} is a number: use > >= < <= == !=, not ${op}`);
    const other = RULE_FIELDS[rawValue0];
    if (other) {
      // field against field: "height > width"
      if (other.type !== 'number') throw new RuleSyntaxError(`${field} is a number and ${rawValue0} is not: they cannot be compared`);
      const a = (s: RuleSubject) => fieldOf(s, field) as number | undefined;
      const b = (s: RuleSubject) => fieldOf(s, rawValue0) as number | undefined;
      const cmp = { '>': (x: number, y: number) => x > y, '>=': (x: number, y: number) => x >= y, '<': (x: number, y: number) => x < y, '<=': (x: number, y: number) => x <= y, '==': (x: number, y: number) => x === y, '!=': (x: number, y: number) => x !== y }[op as '>'];
      return (s) => {
        const x = a(s);
        const y = b(s);
        return x !== undefined && y !== undefined && cmp(x, y);
      };
    }
    const value = parseNumber(rawValue, spec.unit);
    if (value === null) {
      const units = spec.unit === 'time' ? ' (units s, m, h allowed)' : spec.unit === 'bytes' ? ' (units K, M, G allowed)' : '';
      throw new RuleSyntaxError(`${field} is a number: "${rawValue}" is not one${units}`);
    }
    const get = (s: RuleSubject) => fieldOf(s, field) as number | undefined;
    switch (op) {
      case '>': return (s) => { const v = get(s); return v !== undefined && v > value; };
      case '>=': return (s) => { const v = get(s); return v !== undefined && v >= value; };
      case '<': return (s) => { const v = get(s); return v !== undefined && v < value; };
      case '<=': return (s) => { const v = get(s); return v !== undefined && v <= value; };
      case '==': return (s) => { const v = get(s); return v !== undefined && Math.abs(v - value) < 1e-9; };
      default: return (s) => { const v = get(s); return v !== undefined && Math.abs(v - value) >= 1e-9; };
    }
  }
  if (spec.type === 'boolean') {
    if (op !== '==' && op !== '!=') throw new RuleSyntaxError(`${field} is true or false: use == or !=`);
    const lower = rawValue.toLowerCase();
    if (lower !== 'true' && lower !== 'false') throw new RuleSyntaxError(`${field} is true or false, not "${rawValue}"`);
    const want = (lower === 'true') === (op === '==');
    return (s) => { const v = fieldOf(s, field); return v !== undefined && v === want; };
  }
  if (op !== '==' && op !== '!=' && op !== '~' && op !== '!~') throw new RuleSyntaxError(`${field} is text: use == != ~ (contains) !~ (does not contain), not ${op}`);
  const want = nfc(rawValue.toLowerCase());
  const get = (s: RuleSubject) => { const v = fieldOf(s, field); return typeof v === 'string' ? nfc(v.toLowerCase()) : undefined; };
  switch (op) {
    case '==': return (s) => get(s) === want;
    case '!=': return (s) => { const v = get(s); return v !== undefined && v !== want; };
    case '~': return (s) => get(s)?.includes(want) ?? false;
    default: return (s) => { const v = get(s); return v !== undefined && !v.includes(want); };
  }
}

function compileRegex(source: unknown, flags: unknown, path: PropertyKey[]): RegExp {
  if (typeof source !== 'string') throw new RuleSyntaxError('regex must be a string', path);
  const f = flags === undefined ? 'i' : flags;
  if (typeof f !== 'string' || !/^[imsu]*$/.test(f)) throw new RuleSyntaxError('flags may use only i, m, s, u', path);
  try {
    return new RegExp(source, f);
  } catch (err) {
    throw new RuleSyntaxError(`bad regex: ${(err as Error).message}`, path);
  }
}

/** A glob or regex on a string of the subject. `"*.mp4"`, `{glob: "**\/cats/**"}`, `{regex: "^GOPR\\d+"}`. */
function compileMatcher(value: unknown, path: PropertyKey[], get: (s: RuleSubject) => string | undefined): Predicate {
  if (typeof value === 'string') {
    if (!value) throw new RuleSyntaxError('empty pattern', path);
    const m = picomatch(nfc(value), { nocase: true, dot: true });
    return (s) => { const v = get(s); return v !== undefined && m(v); };
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    const bad = keys.find((k) => !['glob', 'regex', 'flags'].includes(k));
    if (bad) throw new RuleSyntaxError(`unknown key "${bad}": use glob, or regex with optional flags`, [...path, bad]);
    if ('glob' in o && 'regex' in o) throw new RuleSyntaxError('give glob or regex, not both', path);
    if ('glob' in o) return compileMatcher(o.glob, [...path, 'glob'], get);
    if ('regex' in o) {
      const re = compileRegex(typeof o.regex === 'string' ? nfc(o.regex) : o.regex, o.flags, [...path, 'regex']);
      return (s) => { const v = get(s); return v !== undefined && re.test(v); };
    }
  }
  throw new RuleSyntaxError('expected a glob string, {glob: ...} or {regex: ...}', path);
}

/**
 * Words that must all be in the description: by stem, and a word written in a script without spaces (Chinese,
 * Japanese, Thai, Korean's words with their particles) inside the run of letters it is written in, as search finds
 * it: `猫` was looked for as a whole run, so it never fired on *白い猫が寝ている*.
 */
function wordsOf(value: unknown, path: PropertyKey[]): Predicate {
  if (typeof value !== 'string') throw new RuleSyntaxError('expected words (a string)', path);
  const pieces = value.split(/\s+/);
  const inside = pieces.filter(hasUnspaced).map((p) => p.normalize('NFKC').toLowerCase());
  const words = pieces.filter((p) => !hasUnspaced(p)).flatMap((p) => splitWords(p)).map(stem);
  if (words.length === 0 && inside.length === 0) throw new RuleSyntaxError('no words to look for', path);
  if (inside.length === 0) return (s) => words.every((w) => s.descriptionStems.has(w));
  return (s) => words.every((w) => s.descriptionStems.has(w)) && inside.every((w) => s.descriptionFolded.includes(w));
}

function compileDescription(value: unknown, path: PropertyKey[]): Predicate {
  if (typeof value === 'string') return wordsOf(value, path);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length !== 1) throw new RuleSyntaxError('description takes words, or one of {any: [...]}, {all: [...]}, {regex: ...}', path);
    const key = keys[0]!;
    if (key === 'regex') {
      const re = compileRegex(o.regex, undefined, [...path, 'regex']);
      return (s) => re.test(s.descriptionText);
    }
    if (key === 'any' || key === 'all') {
      const list = o[key];
      if (!Array.isArray(list) || list.length === 0) throw new RuleSyntaxError(`${key} needs a non-empty list of words`, [...path, key]);
      const groups = list.map((w, i) => wordsOf(w, [...path, key, i]));
      return key === 'any' ? (s) => groups.some((g) => g(s)) : (s) => groups.every((g) => g(s));
    }
    throw new RuleSyntaxError(`unknown key "${key}": use any, all or regex`, [...path, key]);
  }
  throw new RuleSyntaxError('description takes words, or {any: [...]}, {all: [...]}, {regex: ...}', path);
}

function nameMatcher(value: unknown, path: PropertyKey[]): (name: string) => boolean {
  if (typeof value !== 'string' || !value.trim()) throw new RuleSyntaxError('expected a tag name', path);
  if (/[*?[\]{}]/.test(value)) return picomatch(value.toLowerCase(), { nocase: true });
  const want = normalizeTag(value, { keepPlural: true });
  return (name) => name === want;
}

/**
 * `orSingular`: a plural name also finds its singular. The model's tags are stored singular (`dog`), so a rule
 * written `tag: dogs` never fired on them; a tag kept plural (a rule's own `dogs`) is still found as written.
 */
function compileSetTest(value: unknown, path: PropertyKey[], pick: (s: RuleSubject) => ReadonlySet<string>, orSingular = false): Predicate {
  const one = (v: unknown, p: PropertyKey[]): Predicate => {
    const m = nameMatcher(v, p);
    if (typeof v === 'string' && !/[*?[\]{}]/.test(v)) {
      const want = normalizeTag(v, { keepPlural: true });
      const single = orSingular ? normalizeTag(v) : want;
      if (single !== want) return (s) => pick(s).has(want) || pick(s).has(single);
      return (s) => pick(s).has(want);
    }
    return (s) => { for (const t of pick(s)) if (m(t)) return true; return false; };
  };
  if (typeof value === 'string') return one(value, path);
  if (Array.isArray(value)) {
    if (value.length === 0) throw new RuleSyntaxError('empty list', path);
    const ps = value.map((v, i) => one(v, [...path, i]));
    return (s) => ps.every((p) => p(s));
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length !== 1 || (keys[0] !== 'any' && keys[0] !== 'all')) throw new RuleSyntaxError('expected a name, a list (all of), {all: [...]} or {any: [...]}', path);
    const key = keys[0] as 'any' | 'all';
    const list = o[key];
    if (!Array.isArray(list) || list.length === 0) throw new RuleSyntaxError(`${key} needs a non-empty list`, [...path, key]);
    const ps = list.map((v, i) => one(v, [...path, key, i]));
    return key === 'any' ? (s) => ps.some((p) => p(s)) : (s) => ps.every((p) => p(s));
  }
  throw new RuleSyntaxError('expected a name, a list (all of), {all: [...]} or {any: [...]}', path);
}

/**
 * Compiles a condition. A string is a comparison; an object has exactly one key:
 * all/any (lists), not (a condition), where (comparison), filename/path/label (glob or regex), description
 * (words), tag/tags/category (names, globs, all/any), source (kind).
 */
export function compileCondition(value: unknown, path: PropertyKey[] = []): Predicate {
  if (typeof value === 'string') {
    try {
      return compileComparison(value);
    } catch (err) {
      throw new RuleSyntaxError((err as Error).message, path);
    }
  }
  if (value === true) return () => true;
  if (value === undefined || value === null) throw new RuleSyntaxError('missing: give a condition, e.g. when: "duration > 60"', path);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new RuleSyntaxError(`expected a condition (a comparison string or an object with one of ${CONDITION_KEYS.join(', ')})`, path);
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) {
    if (keys.length === 0) throw new RuleSyntaxError(`empty condition; use one of ${CONDITION_KEYS.join(', ')}`, path);
    throw new RuleSyntaxError(`a condition has one key, found ${keys.join(', ')}: wrap several in all: [...] or any: [...]`, [...path, keys[1]!]);
  }
  const key = keys[0]!;
  const v = o[key];
  const p = [...path, key];
  switch (key) {
    case 'all':
    case 'any': {
      if (!Array.isArray(v) || v.length === 0) throw new RuleSyntaxError(`${key} needs a non-empty list of conditions`, p);
      const parts = v.map((c, i) => compileCondition(c, [...p, i]));
      return key === 'all' ? (s) => parts.every((f) => f(s)) : (s) => parts.some((f) => f(s));
    }
    case 'not': {
      const inner = compileCondition(v, p);
      return (s) => !inner(s);
    }
    case 'where':
      if (typeof v !== 'string') throw new RuleSyntaxError('where takes a comparison string, e.g. "height >= 1080"', p);
      return compileCondition(v, p);
    case 'filename':
      return compileMatcher(v, p, (s) => s.filename);
    case 'path':
      return compileMatcher(v, p, (s) => s.path);
    case 'label':
      return compileMatcher(v, p, (s) => { const l = s.video.source?.list?.label; return l === undefined ? undefined : nfc(l); });
    case 'description':
      return compileDescription(v, p);
    case 'tag':
    case 'tags':
      return compileSetTest(v, p, (s) => s.tags, true);
    case 'category':
      return compileSetTest(v, p, (s) => s.categories);
    case 'source': {
      const kinds = ['local', 'http', 'ytdlp', 'hls'];
      if (typeof v !== 'string' || !kinds.includes(v)) throw new RuleSyntaxError(`source is one of ${kinds.join(', ')}`, p);
      return (s) => s.video.source?.kind === v;
    }
    default:
      throw new RuleSyntaxError(`unknown condition "${key}"${suggestion(key, [...CONDITION_KEYS, ...Object.keys(RULE_FIELDS)])}; conditions: ${CONDITION_KEYS.join(', ')}, or a comparison string such as "duration > 60"`, p);
  }
}

// ---------------------------------------------------------------------------------------------- rules file

const conditionSchema = z.unknown().transform((value, ctx) => {
  try {
    return compileCondition(value);
  } catch (err) {
    if (!(err instanceof RuleSyntaxError)) throw err;
    ctx.issues.push({ code: 'custom', message: err.message, input: value, path: err.path as PropertyKey[] as (string | number)[] });
    return z.NEVER;
  }
});

const nameList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .transform((v, ctx) => {
    const out: string[] = [];
    v.forEach((raw, i) => {
      const name = normalizeTag(raw, { keepPlural: true });
      if (!name) ctx.issues.push({ code: 'custom', message: `"${raw}" is not a usable name`, input: raw, path: [i] });
      else out.push(name);
    });
    return out;
  });

const ruleSchema = z
  .strictObject({
    name: z.string().trim().min(1, 'a rule needs a name'),
    description: z.string().optional(),
    priority: z.number().int('priority is an integer').default(0),
    when: conditionSchema,
    add: nameList.default([]),
    // a plural also removes its singular, as a `tag:` condition finds it (the model's tags are stored singular)
    remove: nameList.transform((names) => [...new Set(names.flatMap((n) => [n, normalizeTag(n)]))]).default([]),
    categories: nameList.default([]),
    removeCategories: nameList.default([]),
    confidence: z.number().min(0).max(1).default(1),
    enabled: z.boolean().default(true),
  })
  .refine((r) => r.add.length + r.remove.length + r.categories.length + r.removeCategories.length > 0, {
    message: 'the rule does nothing: give add, remove, categories or removeCategories',
  });

export type CompiledRule = z.output<typeof ruleSchema> & {
  readonly line: number;
  readonly order: number;
  /** The rule as written, as stable JSON: two rule sets hold the same rule when these are equal (see rule-diff.ts). */
  readonly source: string;
};

/** Parsed and compiled rules, sorted: highest priority first, then file order. */
export interface RuleSet {
  readonly file: string | null;
  readonly rules: readonly CompiledRule[];
}

const rulesFileSchema = z.unknown().transform((data, ctx) => {
  // pick the shape by hand so errors point into the rules, not at a failed union
  const wrapped = !Array.isArray(data);
  let list: unknown = data;
  if (wrapped) {
    if (!data || typeof data !== 'object' || !Array.isArray((data as Record<string, unknown>).rules)) {
      ctx.issues.push({ code: 'custom', message: 'expected a list of rules, or `rules:` with a list', input: data, path: [] });
      return z.NEVER;
    }
    const extra = Object.keys(data).find((k) => k !== 'rules' && k !== 'version');
    if (extra) {
      ctx.issues.push({ code: 'custom', message: `unknown key "${extra}": a rules file has rules (and version)`, input: data, path: [extra] });
      return z.NEVER;
    }
    list = (data as Record<string, unknown>).rules;
  }
  const r = z.array(ruleSchema).safeParse(list);
  if (!r.success) {
    for (const issue of r.error.issues) ctx.issues.push({ ...issue, path: wrapped ? ['rules', ...issue.path] : issue.path, input: undefined } as never);
    return z.NEVER;
  }
  return { rules: r.data, raw: list as unknown[], wrapped };
});

function finish(parsed: z.output<typeof ruleSchema>[], raw: readonly unknown[], locator: FileLocator, wrapped: boolean, file: string | null, shown: string): RuleSet {
  const lineOf = (i: number) => locator.line(wrapped ? ['rules', i] : [i]);
  const seen = new Map<string, number>();
  const rules: CompiledRule[] = [];
  parsed.forEach((r, i) => {
    const prev = seen.get(r.name);
    if (prev !== undefined) {
      throw new ConfigError(`${shown}:${lineOf(i)}: tag rules: rules[${i}].name: "${r.name}" is already the name of the rule at line ${lineOf(prev)}`);
    }
    seen.set(r.name, i);
    if (r.enabled) rules.push({ ...r, line: lineOf(i), order: i, source: stableStringify(raw[i]) });
  });
  rules.sort((a, b) => b.priority - a.priority || a.order - b.order);
  return { file, rules };
}

/** Loads and compiles a rules file; throws ConfigError `file:line:col: tag rules: rules[i].field: cause`. */
export function loadRules(file: string, shownName = file): RuleSet {
  const text = readTextFile(file, 'tag rules', shownName);
  return compileRulesText(text, file, shownName);
}

/** Compiles rules from text (YAML or JSON), for tests and library users. */
export function parseRules(text: string, shownName = '<rules>'): RuleSet {
  return compileRulesText(text, null, shownName);
}

function compileRulesText(text: string, file: string | null, shownName: string): RuleSet {
  const { data, locator } = parseStructuredText(text, rulesFileSchema, 'tag rules', shownName, 'rules');
  return finish(data.rules, data.raw, locator, data.wrapped, file, shownName);
}

/** An empty rule set (no rules file). */
export const NO_RULES: RuleSet = { file: null, rules: [] };

// ---------------------------------------------------------------------------------------------- applying

/**
 * Applies the tag actions of the rules. Rules run from highest priority to lowest (file order breaks ties);
 * each sees the tags as left by the ones before it. The first rule to decide a tag (add or remove) wins, so a
 * higher-priority rule is never undone by a lower one. Removing drops the tag whatever its source.
 * `categories`: what a `category:` condition sees in this pass (read only when a condition asks): the categories
 * classification will start from, never the record's stored ones, which are the last run's output.
 */
export function applyTagRules(ruleSet: RuleSet, video: Video, tags: readonly Tag[], categories: Iterable<string> = []): Tag[] {
  if (ruleSet.rules.length === 0) return mergeTags(tags);
  const byName = new Map<string, Tag>();
  for (const t of tags) {
    const prev = byName.get(t.name);
    byName.set(t.name, prev ? stronger(prev, t) : t);
  }
  const subject = new RuleSubject(video, byName.keys(), categories);
  const decided = new Set<string>();
  for (const rule of ruleSet.rules) {
    if (rule.add.length === 0 && rule.remove.length === 0) continue;
    if (!rule.when(subject)) continue;
    // a name the rule both removes and adds is replaced by its own: its remove must not block its add
    const removed = new Set<string>();
    for (const name of rule.remove) {
      if (decided.has(name)) continue;
      decided.add(name);
      removed.add(name);
      byName.delete(name);
      subject.tags.delete(name);
    }
    for (const name of rule.add) {
      if (decided.has(name) && !removed.has(name)) continue;
      decided.add(name);
      const tag: Tag = { name, source: 'rule', confidence: rule.confidence, rule: rule.name };
      const prev = byName.get(name);
      byName.set(name, prev ? stronger(prev, tag) : tag);
      subject.tags.add(name);
    }
  }
  return [...byName.values()];
}

/** A category name in the form rules give it, to compare with theirs. */
export const categoryKey = (name: string) => normalizeTag(name, { keepPlural: true });

/** The vocabulary's own name and kind for a category a rule names (`street-food` is the taxonomy's `street food`). */
export type RuleCategoryLabel = (name: string) => { name: string; kind: 'category' | 'action' };

/**
 * Applies the category actions of the rules to a record whose tags are final. Same order and precedence as
 * the tag actions. Returns the categories to add and the names to remove.
 */
export function applyCategoryRules(ruleSet: RuleSet, video: Video, categories: readonly Category[], labelOf: RuleCategoryLabel = (name) => ({ name, kind: 'category' })): Category[] {
  if (ruleSet.rules.length === 0) return [...categories];
  const subject = new RuleSubject(video, video.tags.map((t) => t.name), categories.map((c) => c.name));
  let out = [...categories];
  const decided = new Set<string>();
  for (const rule of ruleSet.rules) {
    if (rule.categories.length === 0 && rule.removeCategories.length === 0) continue;
    if (!rule.when(subject)) continue;
    const removed = new Set<string>();
    for (const name of rule.removeCategories) {
      if (decided.has(name)) continue;
      decided.add(name);
      removed.add(name);
      out = out.filter((c) => categoryKey(c.name) !== name);
      subject.editCategory(false, name);
    }
    for (const name of rule.categories) {
      if (decided.has(name) && !removed.has(name)) continue;
      decided.add(name);
      const label = labelOf(name);
      out.push({ name: label.name, source: 'rule', confidence: rule.confidence, kind: label.kind, rule: rule.name });
      subject.editCategory(true, name);
    }
  }
  return out;
}
