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
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function tsvectorLiteral(f: IndexFields): string {
  const lexemes = new Map<string, string[]>();
  let pos = 1;
  for (const field of TEXT_FIELDS) {
    const text = f.text[field];
    if (!text) continue;
    const w = PG_WEIGHT[field];
    for (const tok of text.split(' ')) {
      if (tok.length === 0 || tok.length > 2000) continue;
      let list = lexemes.get(tok);
      if (!list) {
        list = [];
        lexemes.set(tok, list);
      }
      if (list.length < MAX_POSITIONS_PER_LEXEME && pos <= MAX_POS) list.push(`${pos}${w}`);
      else if (list.length === 0) list.push(`${MAX_POS}${w}`);
      pos++;
    }
    pos += FIELD_GAP;
  }
  const parts: string[] = [];
  for (const [lex, positions] of lexemes) parts.push(`${quoteLexeme(lex)}:${positions.join(',')}`);
  return parts.join(' ');
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
