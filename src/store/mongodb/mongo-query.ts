/**
 * Translation of a query plan into MongoDB filters and aggregation pipelines. Pure functions over plain
 * objects: tests evaluate their output with mingo over the same fixtures as the SQL stores.
 *
 * Text leaves match the `_s.words` token array (multikey index) and, for phrases, the normalised per-field
 * strings; both behave the same on MongoDB and on Cosmos DB (which lacks `$text` on most tiers), and can sit
 * under `$or`/`$nor`, which `$text` cannot.
 */
import { randomBytes } from 'node:crypto';
import type { Video } from '../../core/index.js';
import type { QueryNode, Range, RangeField } from '../search-query.js';
import { sortSpec, TEXT_FIELDS, TEXT_WEIGHTS, type IndexFields, type QueryPlan, type TextTerm } from '../query/index.js';

export type Doc = Record<string, unknown>;

/** Search fields kept beside the record under `_s`: the shared index fields, plus token arrays for matching. */
export interface SearchDoc extends Omit<IndexFields, 'id' | 'text'> {
  path: string;
  /** Every distinct token of every text field. */
  words: string[];
  /** Distinct tokens per field, for ranking. */
  f: Record<string, string[]>;
  /** Normalised text per field, for phrases. */
  t: Record<string, string>;
}

/** Longest token kept in the token arrays (index keys stay small on every MongoDB flavour). */
export const MAX_TOKEN = 256;

export function searchDoc(video: Video, x: IndexFields): SearchDoc {
  const f: Record<string, string[]> = {};
  const all = new Set<string>();
  for (const field of TEXT_FIELDS) {
    const toks = [...new Set(x.text[field].split(' ').filter((w) => w.length > 0 && w.length <= MAX_TOKEN))];
    f[field] = toks;
    for (const w of toks) all.add(w);
  }
  return {
    name: x.name,
    duration: x.duration,
    durationSec: x.durationSec,
    width: x.width,
    height: x.height,
    fps: x.fps,
    scenes: x.scenes,
    bytes: x.bytes,
    codec: x.codec,
    audioCodec: x.audioCodec,
    container: x.container,
    sourceKind: x.sourceKind,
    resolution: x.resolution,
    created: x.created,
    added: x.added,
    hasAudio: x.hasAudio,
    hasAi: x.hasAi,
    hasDescription: x.hasDescription,
    hasMetadata: x.hasMetadata,
    failed: x.failed,
    path: video.file.path,
    tags: x.tags,
    categories: x.categories,
    actions: x.actions,
    words: [...all],
    f,
    t: { ...x.text },
  };
}

/** The stored document: the record itself, `_id` = id, and the search fields under `_s`. */
/**
 * A new write version (`_w`): every write of a record stores one, and re-tagging's write stands only over the
 * version it read (see `MongoStore.updateTags`). A document written before versions has none (null to a filter).
 */
export const writeVersion = (): string => randomBytes(8).toString('hex');

export function toMongoDoc(video: Video, x: IndexFields): Doc {
  return { ...video, _id: video.id, _s: searchDoc(video, x), _w: writeVersion() };
}

export function fromMongoDoc(d: Doc): Video {
  const { _id, _s, _score, _w, ...rest } = d;
  void _id;
  void _s;
  void _score;
  void _w;
  return rest as unknown as Video;
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const RANGE_FIELD: Record<RangeField, string> = {
  duration: '_s.durationSec',
  width: '_s.width',
  height: '_s.height',
  fps: '_s.fps',
  scenes: '_s.scenes',
  size: '_s.bytes',
};

const LABEL_FIELD = {
  tag: '_s.tags',
  category: '_s.categories',
  action: '_s.actions',
  codec: '_s.codec',
  'audio-codec': '_s.audioCodec',
  container: '_s.container',
  source: '_s.sourceKind',
  resolution: '_s.resolution',
} as const;

const SORT_FIELD = { created: '_s.created', added: '_s.added', duration: '_s.duration', name: '_s.name', bytes: '_s.bytes' } as const;

function range(r: Range): Doc {
  if (r.min !== undefined && r.max !== undefined && r.min === r.max && !r.minExclusive && !r.maxExclusive) return { $eq: r.min };
  const c: Doc = {};
  if (r.min !== undefined) c[r.minExclusive ? '$gt' : '$gte'] = r.min;
  if (r.max !== undefined) c[r.maxExclusive ? '$lt' : '$lte'] = r.max;
  if (r.min === undefined && r.max === undefined) c.$type = 'number';
  return c;
}

function phraseRegex(value: string): string {
  return `(?:^| )${escapeRegex(value)}(?: |$)`;
}

/** A MongoDB query filter for one node. */
export function mongoFilter(node: QueryNode): Doc {
  switch (node.kind) {
    case 'and':
      return { $and: node.nodes.map(mongoFilter) };
    case 'or':
      return { $or: node.nodes.map(mongoFilter) };
    case 'not':
      return { $nor: [mongoFilter(node.node)] };
    case 'text':
      if (node.phrase) return { $or: TEXT_FIELDS.map((f) => ({ [`_s.t.${f}`]: { $regex: phraseRegex(node.value) } })) };
      if (node.prefix) return { '_s.words': { $regex: `^${escapeRegex(node.value)}` } };
      return { '_s.words': node.value };
    case 'label':
      return { [LABEL_FIELD[node.field]]: node.value };
    case 'range':
      return { [RANGE_FIELD[node.field]]: range(node.range) };
    case 'time': {
      const c: Doc = {};
      if (node.range.from) c.$gte = node.range.from;
      if (node.range.to) c.$lt = node.range.to;
      return { [node.field === 'created' ? '_s.created' : '_s.added']: c };
    }
    case 'has':
      switch (node.what) {
        case 'audio':
          return { '_s.hasAudio': true };
        case 'ai':
          return { '_s.hasAi': true };
        case 'description':
          return { '_s.hasDescription': true };
        case 'scenes':
          return { '_s.scenes': { $gt: 0 } };
        case 'tags':
          return { '_s.tags.0': { $exists: true } };
        case 'metadata':
          return { '_s.hasMetadata': true };
      }
      throw new Error('unreachable');
    case 'failed':
      return { '_s.failed': true };
    case 'name':
      return { '_s.name': { $regex: escapeRegex(node.value) } };
    case 'id':
      return { _id: node.value };
  }
}

export function planFilter(plan: Pick<QueryPlan, 'where'>): Doc {
  return plan.where ? mongoFilter(plan.where) : {};
}

/** An aggregation expression: 1 when the field holds the term, else 0. */
function fieldHas(field: string, t: TextTerm): Doc {
  if (t.phrase) return { $cond: [{ $regexMatch: { input: `$_s.t.${field}`, regex: phraseRegex(t.value) } }, 1, 0] };
  if (t.prefix) {
    return {
      $cond: [{ $gt: [{ $size: { $filter: { input: `$_s.f.${field}`, as: 'w', cond: { $regexMatch: { input: '$$w', regex: `^${escapeRegex(t.value)}` } } } } }, 0] }, 1, 0],
    };
  }
  return { $cond: [{ $in: [t.value, `$_s.f.${field}`] }, 1, 0] };
}

/** Relevance: for each positive term, the weights of the fields that hold it (title 10, tags 5, description 2, file 1). */
export function scoreExpression(terms: TextTerm[]): Doc | number {
  if (terms.length === 0) return 0;
  const parts: Doc[] = [];
  for (const t of terms) for (const f of TEXT_FIELDS) parts.push({ $multiply: [TEXT_WEIGHTS[f], fieldHas(f, t)] });
  return { $add: parts };
}

/** Projection that leaves the search fields out of what is sent back. */
export const HIT_PROJECTION = { '_s.words': 0, '_s.f': 0, '_s.t': 0 } as const;

/** The page pipeline: match, score, sort (ties by _id), keyset or offset, one row past the page. */
export function searchPipeline(plan: QueryPlan, extraMatch: Doc | null = null): Doc[] {
  const filter = planFilter(plan);
  const conds: Doc[] = [];
  if (extraMatch) conds.push(extraMatch);
  if (Object.keys(filter).length) conds.push(filter);
  const spec = sortSpec(plan.sort);
  let sort: Doc;
  if (!spec) sort = { _score: -1, _id: 1 };
  else {
    const field = SORT_FIELD[spec.field];
    sort = { [field]: spec.desc ? -1 : 1, _id: 1 };
    if (plan.after) {
      conds.push({ $or: [{ [field]: { [spec.desc ? '$lt' : '$gt']: plan.after.value } }, { [field]: plan.after.value, _id: { $gt: plan.after.id } }] });
    }
  }
  const match = conds.length === 0 ? {} : conds.length === 1 ? conds[0]! : { $and: conds };
  const pipeline: Doc[] = [{ $match: match }];
  if (!spec) pipeline.push({ $addFields: { _score: scoreExpression(plan.terms) } });
  pipeline.push({ $sort: sort });
  if (plan.offset > 0) pipeline.push({ $skip: plan.offset });
  pipeline.push({ $limit: plan.limit + 1 });
  if (spec && plan.terms.length > 0) pipeline.push({ $addFields: { _score: scoreExpression(plan.terms) } });
  pipeline.push({ $project: HIT_PROJECTION });
  return pipeline;
}

export function countPipeline(plan: Pick<QueryPlan, 'where'>, extraMatch: Doc | null = null): Doc[] {
  const filter = planFilter(plan);
  const match = extraMatch ? (Object.keys(filter).length ? { $and: [extraMatch, filter] } : extraMatch) : filter;
  return [{ $match: match }, { $count: 'n' }];
}

/** Facet counts over the match, one `$facet` stage (small output: counts only). */
export function facetPipeline(plan: Pick<QueryPlan, 'where'>, size: number, extraMatch: Doc | null = null): Doc[] {
  const filter = planFilter(plan);
  const match = extraMatch ? (Object.keys(filter).length ? { $and: [extraMatch, filter] } : extraMatch) : filter;
  const arrayFacet = (field: string): Doc[] => [
    { $unwind: `$${field}` },
    { $group: { _id: `$${field}`, n: { $sum: 1 } } },
    { $sort: { n: -1, _id: 1 } },
    { $limit: size },
  ];
  const valueFacet = (field: string): Doc[] => [
    { $match: { [field]: { $type: 'string' } } },
    { $group: { _id: `$${field}`, n: { $sum: 1 } } },
    { $sort: { n: -1, _id: 1 } },
    { $limit: size },
  ];
  return [
    { $match: match },
    { $project: { _s: { tags: 1, categories: 1, codec: 1, sourceKind: 1, resolution: 1 } } },
    {
      $facet: {
        tags: arrayFacet('_s.tags'),
        categories: arrayFacet('_s.categories'),
        codecs: valueFacet('_s.codec'),
        sourceKinds: valueFacet('_s.sourceKind'),
        resolutions: valueFacet('_s.resolution'),
      },
    },
  ];
}

/** On MongoDB proper: a `$text` pre-filter for the top-level positive words (the token filter still decides). */
export function textPrefilter(plan: Pick<QueryPlan, 'where'>): Doc | null {
  const w = plan.where;
  if (!w) return null;
  const leaves = w.kind === 'and' ? w.nodes : [w];
  const words = leaves.filter((n): n is Extract<QueryNode, { kind: 'text' }> => n.kind === 'text' && !n.prefix).map((n) => `"${n.value}"`);
  return words.length ? { $text: { $search: words.join(' ') } } : null;
}

/** Indexes: filter fields, compound sort keys (Cosmos DB needs an index for every sort), token array, text index. */
export function indexSpecs(flavour: 'mongodb' | 'cosmos'): Array<{ key: Doc; name: string; weights?: Doc; default_language?: string }> {
  const specs: Array<{ key: Doc; name: string; weights?: Doc; default_language?: string }> = [
    { key: { '_s.words': 1 }, name: 's_words' },
    { key: { '_s.tags': 1 }, name: 's_tags' },
    { key: { '_s.categories': 1 }, name: 's_categories' },
    { key: { '_s.actions': 1 }, name: 's_actions' },
    { key: { '_s.path': 1 }, name: 's_path' },
    { key: { '_s.durationSec': 1 }, name: 's_duration_sec' },
    { key: { '_s.width': 1 }, name: 's_width' },
    { key: { '_s.height': 1 }, name: 's_height' },
    { key: { '_s.fps': 1 }, name: 's_fps' },
    { key: { '_s.scenes': 1 }, name: 's_scenes' },
    { key: { '_s.codec': 1 }, name: 's_codec' },
    { key: { '_s.sourceKind': 1 }, name: 's_source_kind' },
    { key: { '_s.resolution': 1 }, name: 's_resolution' },
    { key: { '_s.added': 1, _id: 1 }, name: 's_added' },
    { key: { '_s.created': 1, _id: 1 }, name: 's_created' },
    { key: { '_s.duration': 1, _id: 1 }, name: 's_duration' },
    { key: { '_s.name': 1, _id: 1 }, name: 's_name' },
    { key: { '_s.bytes': 1, _id: 1 }, name: 's_bytes' },
  ];
  if (flavour === 'mongodb') {
    specs.push({
      key: { '_s.t.title': 'text', '_s.t.tags': 'text', '_s.t.description': 'text', '_s.t.file': 'text' },
      name: 's_text',
      weights: { '_s.t.title': 10, '_s.t.tags': 5, '_s.t.description': 2, '_s.t.file': 1 },
      default_language: 'none',
    });
  }
  return specs;
}
