/** Translation of a query plan into parameterised SQLite (FTS5 for text). */
import type { QueryNode, Range, RangeField } from '../search-query.js';
import type { QueryPlan, TextTerm } from '../query/index.js';
import { sortSpec } from '../query/index.js';

export type Param = string | number | null;

const RANGE_COLUMN: Record<RangeField, string> = {
  duration: 'v.duration',
  width: 'v.width',
  height: 'v.height',
  fps: 'v.fps',
  scenes: 'v.scene_count',
  size: 'v.bytes',
};

const SORT_COLUMN = { created: 'v.created', added: 'v.created_at', duration: 'v.sort_duration', name: 'v.name', bytes: 'v.bytes' } as const;

/** bm25 weights per FTS column (title, tags, description, filename): the shared TEXT_WEIGHTS. */
export const BM25 = 'bm25(videos_fts, 10.0, 5.0, 2.0, 1.0)';

/** One text leaf as an FTS5 expression. Tokens are letters and digits only, so quoting is safe. */
export function ftsTerm(t: Pick<TextTerm, 'value' | 'prefix'>): string {
  return t.prefix ? `"${t.value}"*` : `"${t.value}"`;
}

function range(col: string, r: Range, params: Param[]): string {
  if (r.min !== undefined && r.max !== undefined && r.min === r.max && !r.minExclusive && !r.maxExclusive) {
    params.push(r.min);
    return `${col} = ?`;
  }
  const parts: string[] = [];
  if (r.min !== undefined) {
    parts.push(`${col} ${r.minExclusive ? '>' : '>='} ?`);
    params.push(r.min);
  }
  if (r.max !== undefined) {
    parts.push(`${col} ${r.maxExclusive ? '<' : '<='} ?`);
    params.push(r.max);
  }
  return parts.length ? parts.join(' AND ') : `${col} IS NOT NULL`;
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const isText = (n: QueryNode): n is Extract<QueryNode, { kind: 'text' }> => n.kind === 'text';

/**
 * `(a AND b AND c ...)` grouped in halves. SQLite parses a run of ANDs or ORs into a tree as deep as the run is long
 * and refuses one deeper than 1000 ("Expression tree is too large"): a thousand `-word`s in a query, or `--any-tag`
 * flags, failed the search. Halves keep the depth to log2 of the count; the planner splits nested ANDs and ORs into
 * the same terms as a flat run.
 */
function balanced(parts: string[], op: string): string {
  if (parts.length <= 8) return `(${parts.join(op)})`;
  const mid = parts.length >> 1;
  return `(${balanced(parts.slice(0, mid), op)}${op}${balanced(parts.slice(mid), op)})`;
}

const LABEL_TABLE = {
  tag: 'v.id IN (SELECT video_id FROM video_tags WHERE tag IN (SELECT value FROM json_each(?)))',
  category: 'v.id IN (SELECT video_id FROM video_categories WHERE category IN (SELECT value FROM json_each(?)))',
  action: 'v.id IN (SELECT video_id FROM video_actions WHERE action IN (SELECT value FROM json_each(?)))',
} as const;
type ListField = keyof typeof LABEL_TABLE;
const isListField = (f: string): f is ListField => Object.hasOwn(LABEL_TABLE, f);

/**
 * Labels of one field ORed (`--any-tag`, `tag:a OR tag:b`), or negated and ANDed (`--not-tag`, `-tag:a -tag:b`), as
 * one lookup of a JSON list (pushed to `parts`); the other nodes are returned. As a subquery each, SQLite's planner
 * took time quadratic in their number on an OR (45 s for 5,000 --any-tag), and refused a thousand.
 */
function groupLabels(nodes: QueryNode[], kind: 'and' | 'or', parts: string[], params: Param[]): QueryNode[] {
  const lists = new Map<ListField, string[]>();
  const leaf = (n: QueryNode): Extract<QueryNode, { kind: 'label' }> | null => {
    const inner = kind === 'or' ? n : n.kind === 'not' ? n.node : null;
    return inner?.kind === 'label' && isListField(inner.field) ? inner : null;
  };
  for (const n of nodes) {
    const l = leaf(n);
    if (l) lists.set(l.field as ListField, [...(lists.get(l.field as ListField) ?? []), l.value]);
  }
  const grouped = new Set([...lists].filter(([, values]) => values.length > 1).map(([field]) => field));
  for (const field of grouped) {
    params.push(JSON.stringify(lists.get(field)));
    parts.push(kind === 'or' ? LABEL_TABLE[field] : `NOT coalesce(${LABEL_TABLE[field]}, 0)`);
  }
  return nodes.filter((n) => !grouped.has(leaf(n)?.field as ListField));
}

/** A boolean SQL expression; NULL counts as false (NOT coalesces), like the reference evaluator. */
export function sqliteWhere(node: QueryNode, params: Param[]): string {
  switch (node.kind) {
    case 'and':
    case 'or': {
      // Text leaves of one group share one FTS MATCH: "a" AND "b" is one index lookup, not two.
      const texts = node.nodes.filter(isText);
      const rest = node.nodes.filter((n) => !isText(n));
      const op = node.kind === 'and' ? ' AND ' : ' OR ';
      const parts: string[] = [];
      if (texts.length > 0) {
        parts.push('v.rowid IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)');
        params.push(texts.map((t) => ftsTerm({ value: t.value, prefix: Boolean(t.prefix) })).join(op));
      }
      for (const n of groupLabels(rest, node.kind, parts, params)) parts.push(sqliteWhere(n, params));
      return balanced(parts, op);
    }
    case 'not':
      return `NOT coalesce(${sqliteWhere(node.node, params)}, 0)`;
    case 'text':
      params.push(ftsTerm({ value: node.value, prefix: Boolean(node.prefix) }));
      return 'v.rowid IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)';
    case 'label':
      params.push(node.value);
      switch (node.field) {
        case 'tag':
          return 'v.id IN (SELECT video_id FROM video_tags WHERE tag = ?)';
        case 'category':
          return 'v.id IN (SELECT video_id FROM video_categories WHERE category = ?)';
        case 'action':
          return 'v.id IN (SELECT video_id FROM video_actions WHERE action = ?)';
        case 'codec':
          return 'v.codec = ?';
        case 'audio-codec':
          return 'v.audio_codec = ?';
        case 'container':
          return 'v.container = ?';
        case 'source':
          return 'v.source_kind = ?';
        case 'resolution':
          return 'v.resolution = ?';
      }
      throw new Error('unreachable');
    case 'range':
      return `(${range(RANGE_COLUMN[node.field], node.range, params)})`;
    case 'time': {
      const col = node.field === 'created' ? 'v.created' : 'v.created_at';
      const parts: string[] = [];
      if (node.range.from) {
        parts.push(`${col} >= ?`);
        params.push(node.range.from);
      }
      if (node.range.to) {
        parts.push(`${col} < ?`);
        params.push(node.range.to);
      }
      return parts.length ? `(${parts.join(' AND ')})` : '1';
    }
    case 'has':
      switch (node.what) {
        case 'audio':
          return 'v.has_audio = 1';
        case 'ai':
          return 'v.has_ai = 1';
        case 'description':
          return 'v.has_description = 1';
        case 'scenes':
          return 'v.scene_count > 0';
        case 'tags':
          return 'v.id IN (SELECT video_id FROM video_tags)';
        case 'metadata':
          return 'v.has_metadata = 1';
      }
      throw new Error('unreachable');
    case 'failed':
      return 'v.failed = 1';
    case 'name':
      // LIKE reads its pattern up to a NUL: `name:"river\0"` matched every name ending in river. instr compares
      // whole values; LIKE stays for the rest, as it always was.
      if (node.value.includes('\u0000')) {
        params.push(node.value);
        return 'instr(v.name, ?) > 0';
      }
      params.push(`%${likeEscape(node.value)}%`);
      return "v.name LIKE ? ESCAPE '\\'";
    case 'id':
      params.push(node.value);
      return 'v.id = ?';
  }
}

export interface SqliteSearchSql {
  sql: string;
  params: Param[];
}

/**
 * The page query: ids, score and sort values (not the records: sorting wide rows is what makes pages slow),
 * one row past the page so the caller knows whether more follow.
 */
export function sqliteSearch(plan: QueryPlan): SqliteSearchSql {
  const params: Param[] = [];
  let prefix = '';
  let from = 'videos v';
  let score = '0';
  if (plan.terms.length > 0) {
    // Rank by the positive terms ORed; records matched only by filters score 0. Materialised once: a plain
    // LEFT JOIN would run the MATCH again for every row.
    prefix = `WITH r AS MATERIALIZED (SELECT rowid AS rid, -${BM25} AS rank FROM videos_fts WHERE videos_fts MATCH ?) `;
    params.push(plan.terms.map((t) => (t.phrase ? `"${t.value}"` : ftsTerm(t))).join(' OR '));
    from = 'videos v LEFT JOIN r ON r.rid = v.rowid';
    score = 'coalesce(r.rank, 0)';
  }
  const conds: string[] = [];
  if (plan.where) conds.push(sqliteWhere(plan.where, params));
  const spec = sortSpec(plan.sort);
  let orderBy: string;
  if (!spec) orderBy = 'score DESC, v.id ASC';
  else {
    const col = SORT_COLUMN[spec.field];
    orderBy = `${col} ${spec.desc ? 'DESC' : 'ASC'}, v.id ASC`;
    if (plan.after) {
      conds.push(`(${col} ${spec.desc ? '<' : '>'} ? OR (${col} = ? AND v.id > ?))`);
      params.push(plan.after.value, plan.after.value, plan.after.id);
    }
  }
  params.push(plan.limit + 1, plan.offset);
  const sql = `${prefix}SELECT ${score} AS score, v.id, v.name, v.sort_duration, v.created, v.created_at, v.bytes
    FROM ${from} WHERE ${conds.length ? conds.join(' AND ') : '1'} ORDER BY ${orderBy} LIMIT ? OFFSET ?`;
  return { sql, params };
}

/** A rank term as the ranking expression writes it (phrases without a prefix star). */
function rankTerm(t: Pick<TextTerm, 'value' | 'phrase' | 'prefix'>): string {
  return t.phrase ? `"${t.value}"` : ftsTerm(t);
}

/** A text-only subtree as one FTS5 expression (NOT only beside something positive), with its positive leaves; else null. */
function ftsExpression(node: QueryNode, leaves: string[]): string | null {
  switch (node.kind) {
    case 'text':
      leaves.push(rankTerm({ value: node.value, phrase: Boolean(node.phrase), prefix: Boolean(node.prefix) }));
      return ftsTerm({ value: node.value, prefix: Boolean(node.prefix) });
    case 'and': {
      const pos: string[] = [];
      const neg: string[] = [];
      for (const n of node.nodes) {
        const e = n.kind === 'not' ? ftsExpression(n.node, []) : ftsExpression(n, leaves);
        if (e === null) return null;
        (n.kind === 'not' ? neg : pos).push(e);
      }
      if (pos.length === 0) return null;
      const out = `(${pos.join(' AND ')})`;
      // one NOT of the negatives ORed, not a NOT per negative: each wrapped the expression in another pair of
      // parentheses, and FTS5's parser overflowed its stack at about a hundred (`river -a -b -c ...`)
      return neg.length === 0 ? out : `(${out} NOT (${neg.join(' OR ')}))`;
    }
    case 'or': {
      const parts: string[] = [];
      for (const n of node.nodes) {
        const e = ftsExpression(n, leaves);
        if (e === null) return null;
        parts.push(e);
      }
      return `(${parts.join(' OR ')})`;
    }
    default:
      return null;
  }
}

export interface SqliteRankedSql {
  /** Rowids and scores of the text part, best first (`ranked`), to be joined with the filters (`rest`). */
  match: string;
  /** The non-text conditions ANDed with the text part, or null when the query is text only. */
  rest: { sql: string; params: Param[]; node: QueryNode } | null;
}

/**
 * For a relevance-sorted query whose text is one conjunct of the top-level AND (the usual `words filters`
 * shape), one FTS5 expression that both selects and ranks. bm25 sums over the expression's phrases, so when
 * its positive phrases are exactly the plan's terms the score equals that of the terms ORed (phrases a row
 * lacks, like NOT ones, add nothing), and the MATCH runs once instead of twice. Null when the shape differs.
 */
export function sqliteRankedPlan(plan: QueryPlan): SqliteRankedSql | null {
  if (plan.sort !== 'relevance' || plan.terms.length === 0 || (plan.where && groupUnderOr(plan.where))) return null;
  const split = sqliteTextSplit(plan.where);
  if (!split) return null;
  const wanted = plan.terms.map(rankTerm);
  const { leaves } = split;
  if (leaves.length !== wanted.length || new Set(leaves).size !== leaves.length || !wanted.every((t) => leaves.includes(t))) return null;
  return { match: split.match, rest: split.rest };
}

/**
 * Whether an AND or NOT sits under an OR. FTS5 then reports no instances of a phrase in a branch that failed
 * for the row (`person OR (car -street)`: a row with all three, matched by person, gets no credit for car), so
 * its bm25 is not that of the terms ORed, which the other stores and the in-memory text index rank by.
 */
function groupUnderOr(node: QueryNode, underOr = false): boolean {
  switch (node.kind) {
    case 'or':
      return node.nodes.some((n) => groupUnderOr(n, true));
    case 'and':
      return underOr || node.nodes.some((n) => groupUnderOr(n, underOr));
    case 'not':
      return underOr || groupUnderOr(node.node, underOr);
    default:
      return false;
  }
}

/**
 * A query whose top-level AND has text conjuncts FTS5 can evaluate alone, split into that one FTS5 expression
 * (`match`, with its positive leaves) and the other conjuncts (`rest`); null when no positive text conjunct.
 */
export function sqliteTextSplit(where: QueryNode | null): (SqliteRankedSql & { leaves: string[] }) | null {
  if (!where) return null;
  const conjuncts = where.kind === 'and' ? where.nodes : [where];
  const textParts: QueryNode[] = [];
  const others: QueryNode[] = [];
  for (const n of conjuncts) {
    if (ftsExpression(n.kind === 'not' ? n.node : n, []) !== null) textParts.push(n);
    else others.push(n);
  }
  if (!textParts.some((n) => n.kind !== 'not')) return null;
  const leaves: string[] = [];
  const match = ftsExpression(textParts.length === 1 ? textParts[0]! : { kind: 'and', nodes: textParts }, leaves);
  if (match === null) return null;
  if (others.length === 0) return { match, rest: null, leaves };
  const params: Param[] = [];
  const node: QueryNode = others.length === 1 ? others[0]! : { kind: 'and', nodes: others };
  return { match, rest: { sql: sqliteWhere(node, params), params, node }, leaves };
}
