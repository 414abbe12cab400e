/**
 * Text normalisation shared by every store, so that SQLite FTS5, PostgreSQL tsvector and MongoDB token arrays
 * see exactly the same tokens: NFKD, diacritics removed, lower case, runs of letters and digits.
 */

/** Combining diacritical marks (Latin, Greek, Cyrillic accents); kana voicing marks and the like are kept. */
const MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+/g;
const TOKEN = /[\p{L}\p{N}]+/gu;

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
const ASCII_TOKEN = /[a-z0-9]+/g;

export function normalizeText(s: string): string {
  // Fast path: plain ASCII needs no Unicode normalisation.
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFKD').replace(MARKS, '').normalize('NFC').toLowerCase();
}

export function tokenize(s: string): string[] {
  const n = normalizeText(s);
  return (NON_ASCII.test(n) ? n.match(TOKEN) : n.match(ASCII_TOKEN)) ?? [];
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
