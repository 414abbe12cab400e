import { hasUnspaced, UNSPACED_CLASS } from '../../core/unspaced-scripts.js';

/**
 * Text normalisation shared by every store, so that SQLite FTS5, PostgreSQL tsvector and MongoDB token arrays
 * see exactly the same tokens: NFKD, optional marks removed, lower case with full case folding of the few letters
 * lower-casing leaves apart, words of letters and digits with the marks written inside them.
 */

/**
 * Marks a word is written with or without, taken out so both spellings match: the combining accents of Latin, Greek
 * and Cyrillic (after NFKD), Hebrew's vowel points and cantillation, Arabic's harakat and Quranic marks, and the
 * Arabic tatweel (a stretch of the line, not a letter). Kana voicing marks come back in NFC; the vowel signs and
 * viramas of Indic and Southeast Asian scripts are part of the word's spelling and stay.
 */
const MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed]+/g;
/**
 * A word: a letter or digit, then letters, digits and marks. Split at its marks (a vowel sign is a mark), `हिन्दी`
 * was three words and a search for it matched any text holding those letters (index format 3).
 */
const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
/** Letters whose lower case is not their case-folded form: `Straße` is searched as `strasse`, `ΟΔΟΣ` as `οδοσ`. */
const FOLD = /[ßς]/g;
const FOLDED: Record<string, string> = { ß: 'ss', ς: 'σ' };

/**
 * One character (with its marks) of the scripts written without spaces (see UNSPACED_CLASS), or a run of other word
 * characters. Each such character is a token of its own: a run of them was one token, so `東京` did not find
 * *東京タワーの夜景* and `서울` did not find *서울에서*. A query word in them is the phrase of its characters, which
 * finds the word wherever it is written (index format 4).
 */
const UNIT = new RegExp(`[${UNSPACED_CLASS}]\\p{M}*|[^${UNSPACED_CLASS}]+`, 'gu');
const UNSPACED_UNIT = new RegExp(`^[${UNSPACED_CLASS}]\\p{M}*$`, 'u');

/** Whether a token is one character of a script written without spaces (see UNSPACED_CLASS). */
export function isUnspacedUnit(token: string): boolean {
  return UNSPACED_UNIT.test(token);
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
const ASCII_TOKEN = /[a-z0-9]+/g;

export function normalizeText(s: string): string {
  // Fast path: plain ASCII needs no Unicode normalisation.
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFKD').replace(MARKS, '').normalize('NFC').toLowerCase().replace(FOLD, (c) => FOLDED[c]!);
}

export function tokenize(s: string): string[] {
  const n = normalizeText(s);
  if (!NON_ASCII.test(n)) return n.match(ASCII_TOKEN) ?? [];
  const words = n.match(TOKEN) ?? [];
  if (!hasUnspaced(n)) return words;
  const out: string[] = [];
  for (const w of words) {
    if (!hasUnspaced(w)) out.push(w);
    else for (const u of w.match(UNIT)!) out.push(u);
  }
  return out;
}

/** Tokens joined by single spaces: the indexed form of a field. */
export function indexText(s: string): string {
  return tokenize(s).join(' ');
}

/** Longest text indexed per field (characters of the normalised form); the record itself keeps everything. */
export const MAX_INDEXED_CHARS = 256 * 1024;

export function capIndexText(s: string): string {
  if (s.length <= MAX_INDEXED_CHARS) return s;
  const cut = s.lastIndexOf(' ', MAX_INDEXED_CHARS);
  return s.slice(0, cut > 0 ? cut : MAX_INDEXED_CHARS);
}
