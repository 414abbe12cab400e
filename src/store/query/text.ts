/**
 * Text normalisation shared by every store, so that SQLite FTS5, PostgreSQL tsvector and MongoDB token arrays
 * see exactly the same tokens: NFKD, diacritics removed, lower case, runs of letters and digits.
 */

/** Combining diacritical marks (Latin, Greek, Cyrillic accents); kana voicing marks and the like are kept. */
const MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+/g;
const TOKEN = /[\p{L}\p{N}]+/gu;

export function normalizeText(s: string): string {
  return s.normalize('NFKD').replace(MARKS, '').normalize('NFC').toLowerCase();
}

export function tokenize(s: string): string[] {
  return normalizeText(s).match(TOKEN) ?? [];
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
