/**
 * tsvector and tsquery literals built from the shared tokenizer, so PostgreSQL indexes exactly the tokens
 * SQLite and MongoDB do (its own parser would split `slow-motion` or `h.264` differently).
 */
import type { IndexFields, TextField, TextTerm } from '../query/index.js';
import { TEXT_FIELDS } from '../query/index.js';

/** tsvector weight letter per field: A is strongest. */
export const PG_WEIGHT: Record<TextField, 'A' | 'B' | 'C' | 'D'> = { title: 'A', tags: 'B', description: 'C', file: 'D' };
/** ts_rank weights array, in PostgreSQL's order {D, C, B, A}, matching TEXT_WEIGHTS 1:2:5:10. */
export const PG_RANK_WEIGHTS = '{0.1,0.2,0.5,1.0}';

const MAX_POS = 16383;
/**
 * The longest lexeme a tsvector or tsquery holds, in bytes of UTF-8: PostgreSQL refuses a longer one ("word is too
 * long"), which failed the whole record's write (a run of 683 CJK letters is 2,049 bytes) or the whole search.
 */
export const MAX_LEXEME_BYTES = 2046;
const MAX_POSITIONS_PER_LEXEME = 255;
/** Gap between fields, so a phrase never spans two fields. */
const FIELD_GAP = 64;

/**
 * A token as PostgreSQL can hold it: whole, or its first MAX_LEXEME_BYTES bytes cut at a character boundary. Records
 * and queries are cut the same way, so a query finds a record with such a token as SQLite does (and one whose first
 * 2,046 bytes are the same, past which no word of any language runs).
 */
export function pgLexeme(tok: string): string {
  // a UTF-16 unit is at most 3 bytes of UTF-8: only tokens past a third of the limit need counting
  if (tok.length * 3 <= MAX_LEXEME_BYTES || Buffer.byteLength(tok) <= MAX_LEXEME_BYTES) return tok;
  let bytes = 0;
  let end = 0;
  for (const ch of tok) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > MAX_LEXEME_BYTES) break;
    bytes += n;
    end += ch.length;
  }
  return tok.slice(0, end);
}

export function quoteLexeme(s: string): string {
  return s.includes('\\') || s.includes("'") ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s}'`;
}

/** A lexeme's positions as the literal lists them, built as one string (bulk loads make one per record). */
interface Positions {
  list: string;
  count: number;
}

export function tsvectorLiteral(f: IndexFields): string {
  const lexemes = new Map<string, Positions>();
  let pos = 1;
  for (const field of TEXT_FIELDS) {
    const text = f.text[field];
    if (!text) continue;
    const w = PG_WEIGHT[field];
    for (const whole of text.split(' ')) {
      if (whole.length === 0) continue;
      const tok = pgLexeme(whole);
      let p = lexemes.get(tok);
      if (!p) {
        p = { list: '', count: 0 };
        lexemes.set(tok, p);
      }
      if (p.count < MAX_POSITIONS_PER_LEXEME && pos <= MAX_POS) {
        p.list += p.count === 0 ? `${pos}${w}` : `,${pos}${w}`;
        p.count++;
      } else if (p.count === 0) {
        p.list = `${MAX_POS}${w}`;
        p.count = 1;
      }
      pos++;
    }
    pos += FIELD_GAP;
  }
  let out = '';
  for (const [lex, p] of lexemes) out += `${out.length === 0 ? '' : ' '}${quoteLexeme(lex)}:${p.list}`;
  return out;
}

/** One text leaf as a tsquery literal. */
export function tsqueryLiteral(t: Pick<TextTerm, 'value' | 'phrase' | 'prefix'>): string {
  if (t.phrase) return t.value.split(' ').map((tok) => quoteLexeme(pgLexeme(tok))).join(' <-> ');
  return t.prefix ? `${quoteLexeme(pgLexeme(t.value))}:*` : quoteLexeme(pgLexeme(t.value));
}

/** The positive terms ORed, for ranking. */
export function rankQueryLiteral(terms: TextTerm[]): string {
  return terms.map((t) => (t.phrase ? `(${tsqueryLiteral(t)})` : tsqueryLiteral(t))).join(' | ');
}
