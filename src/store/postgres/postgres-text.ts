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
const MAX_POSITIONS_PER_LEXEME = 255;
/** Gap between fields, so a phrase never spans two fields. */
const FIELD_GAP = 64;

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
    for (const tok of text.split(' ')) {
      if (tok.length === 0 || tok.length > 2000) continue;
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
  if (t.phrase) return t.value.split(' ').map(quoteLexeme).join(' <-> ');
  return t.prefix ? `${quoteLexeme(t.value)}:*` : quoteLexeme(t.value);
}

/** The positive terms ORed, for ranking. */
export function rankQueryLiteral(terms: TextTerm[]): string {
  return terms.map((t) => (t.phrase ? `(${tsqueryLiteral(t)})` : tsqueryLiteral(t))).join(' | ');
}
