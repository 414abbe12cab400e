/** Translation of a query plan into parameterised PostgreSQL. */
import type { QueryNode, Range, RangeField } from '../search-query.js';
import type { QueryPlan } from '../query/index.js';
import { sortSpec } from '../query/index.js';
import { PG_RANK_WEIGHTS, rankQueryLiteral, tsqueryLiteral } from './postgres-text.js';

export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

const RANGE_COLUMN: Record<RangeField, string> = {
  duration: 'v.duration',
  width: 'v.width',
  height: 'v.height',
  fps: 'v.fps',
  scenes: 'v.scenes',
  size: 'v.bytes',
};

const SORT_COLUMN = { created: 'v.created', added: 'v.added', duration: 'v.sort_duration', name: 'v.name', bytes: 'v.bytes' } as const;

function range(col: string, r: Range, p: Params): string {
  const parts: string[] = [];
  if (r.min !== undefined && r.max !== undefined && r.min === r.max && !r.minExclusive && !r.maxExclusive) return `${col} = ${p.add(r.min)}`;
  if (r.min !== undefined) parts.push(`${col} ${r.minExclusive ? '>' : '>='} ${p.add(r.min)}`);
  if (r.max !== undefined) parts.push(`${col} ${r.maxExclusive ? '<' : '<='} ${p.add(r.max)}`);
  return parts.length ? parts.join(' AND ') : `${col} IS NOT NULL`;
}

export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * PostgreSQL text cannot hold U+0000 (a record loses it on the way in), and a parameter with one fails the whole
 * statement ("invalid byte sequence"): a value holding one matches nothing, as on the other stores.
 */
const holdsNul = (node: QueryNode): boolean => (node.kind === 'label' || node.kind === 'name' || node.kind === 'id') && node.value.includes('\u0000');

/** A boolean SQL expression; NULL counts as false (NOT coalesces), like the reference evaluator. */
export function pgWhere(node: QueryNode, p: Params): string {
  if (holdsNul(node)) return 'false';
  switch (node.kind) {
    case 'and':
      return `(${node.nodes.map((n) => pgWhere(n, p)).join(' AND ')})`;
    case 'or':
      return `(${node.nodes.map((n) => pgWhere(n, p)).join(' OR ')})`;
    case 'not':
      return `NOT coalesce(${pgWhere(node.node, p)}, false)`;
    case 'text':
      return `v.tsv @@ ${p.add(tsqueryLiteral({ value: node.value, phrase: Boolean(node.phrase), prefix: Boolean(node.prefix) }))}::tsquery`;
    case 'label':
      switch (node.field) {
        case 'tag':
          return `v.tags @> ARRAY[${p.add(node.value)}]::text[]`;
        case 'category':
          return `v.categories @> ARRAY[${p.add(node.value)}]::text[]`;
        case 'action':
          return `v.actions @> ARRAY[${p.add(node.value)}]::text[]`;
        case 'codec':
          return `v.codec = ${p.add(node.value)}`;
        case 'audio-codec':
          return `v.audio_codec = ${p.add(node.value)}`;
        case 'container':
          return `v.container = ${p.add(node.value)}`;
        case 'source':
          return `v.source_kind = ${p.add(node.value)}`;
        case 'resolution':
          return `v.resolution = ${p.add(node.value)}`;
      }
      throw new Error('unreachable');
    case 'range':
      return `(${range(RANGE_COLUMN[node.field], node.range, p)})`;
    case 'time': {
      const col = node.field === 'created' ? 'v.created' : 'v.added';
      const parts: string[] = [];
      if (node.range.from) parts.push(`${col} >= ${p.add(node.range.from)}`);
      if (node.range.to) parts.push(`${col} < ${p.add(node.range.to)}`);
      return parts.length ? `(${parts.join(' AND ')})` : 'true';
    }
    case 'has':
      switch (node.what) {
        case 'audio':
          return 'v.has_audio';
        case 'ai':
          return 'v.has_ai';
        case 'description':
          return 'v.has_description';
        case 'scenes':
          return 'v.scenes > 0';
        case 'tags':
          return 'cardinality(v.tags) > 0';
        case 'metadata':
          return 'v.has_metadata';
      }
      throw new Error('unreachable');
    case 'failed':
      return 'v.failed';
    case 'name':
      return `v.name LIKE ${p.add(`%${likeEscape(node.value)}%`)}`;
    case 'id':
      return `v.id = ${p.add(node.value)}`;
  }
}

export interface PgSearchSql {
  where: string;
  /** Score expression (0 without text). */
  score: string;
  orderBy: string;
  /** Keyset condition, or null. */
  after: string | null;
}

export function pgSearch(plan: QueryPlan, p: Params): PgSearchSql {
  const where = plan.where ? pgWhere(plan.where, p) : 'true';
  const score = plan.terms.length > 0 ? `ts_rank('${PG_RANK_WEIGHTS}', v.tsv, ${p.add(rankQueryLiteral(plan.terms))}::tsquery)` : '0';
  const spec = sortSpec(plan.sort);
  let orderBy: string;
  let after: string | null = null;
  if (!spec) orderBy = 'score DESC, v.id ASC';
  else {
    const col = SORT_COLUMN[spec.field];
    orderBy = `${col} ${spec.desc ? 'DESC' : 'ASC'}, v.id ASC`;
    if (plan.after) {
      const val = p.add(plan.after.value);
      const id = p.add(plan.after.id);
      after = `(${col} ${spec.desc ? '<' : '>'} ${val} OR (${col} = ${val} AND v.id > ${id}))`;
    }
  }
  return { where, score, orderBy, after };
}
