/**
 * MongoDB / Azure Cosmos DB (API for MongoDB) adapter. Documents are the records (`_id` = id) with the
 * shared search fields under `_s`; filters and facets are translated by mongo-query.ts. The `mongodb` driver
 * is loaded only when this store connects.
 */
import { randomUUID } from 'node:crypto';
import { maskSecret, StoreError, USER_TAGS_KEY, withUserTagsOf, type Logger, type Video } from '../../core/index.js';
import type { Facets, SearchQuery, SearchResult } from '../search-query.js';
import { emptyFacets } from '../search-query.js';
import { INPUTS_PAGE, type InputRecord, type IterateOptions, type LibraryIdentity, type TagUpdate, type VideoStore, type WriteOptions } from '../video-store.js';
import { rewriteAll } from '../rewrite-all.js';
import { refuseNewerLibrary } from '../newer-library.js';
import { FACET_SIZE, hasFailedStage, highlight, INDEX_VERSION, indexFields, labelsMoved, nextCursor, planQuery, topFacet, type QueryPlan } from '../query/index.js';
import { countPipeline, facetPipeline, fromMongoDoc, indexSpecs, searchDoc, searchPipeline, textPrefilter, toMongoDoc, writeVersion, type Doc, type SearchDoc } from './mongo-query.js';

/** The part of a driver Collection this store uses (the real driver's Collection satisfies it; tests use mingo). */
export interface MongoCollectionLike {
  createIndexes(specs: Array<{ key: Doc; name: string }>): Promise<unknown>;
  replaceOne(filter: Doc, doc: Doc, options: { upsert: boolean }): Promise<{ matchedCount?: number; upsertedCount?: number }>;
  bulkWrite(ops: Doc[], options?: { ordered?: boolean }): Promise<{ matchedCount?: number; upsertedCount?: number }>;
  deleteOne(filter: Doc): Promise<{ deletedCount?: number }>;
  findOne(filter: Doc, options?: Doc): Promise<Doc | null>;
  aggregate(pipeline: Doc[], options?: Doc): { toArray(): Promise<Doc[]> };
}

export interface MongoCollections {
  videos: MongoCollectionLike;
  inputs: MongoCollectionLike;
  meta: MongoCollectionLike;
}

export type MongoFlavour = 'mongodb' | 'cosmos';

export interface MongoStoreOptions {
  url: string;
  /** Database when the URL names none (default videodex). */
  database?: string;
  poolSize?: number;
  compat?: 'auto' | MongoFlavour;
  logger?: Logger;
}

/** Cosmos DB for MongoDB hosts: `*.mongo.cosmos.azure.com`, `*.mongocluster.cosmos.azure.com`. */
export function flavourOf(url: string, compat: 'auto' | MongoFlavour = 'auto'): MongoFlavour {
  if (compat !== 'auto') return compat;
  return /\.cosmos\.azure\.com|\.documents\.azure\.com/i.test(url) ? 'cosmos' : 'mongodb';
}

const RETRYABLE = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|topology.*(closed|destroyed)|connection.*(closed|pool cleared)|not primary|node is recovering|server selection/i;

function isRetryableMongo(err: unknown): boolean {
  const e = err as { code?: number; errorLabels?: string[]; hasErrorLabel?: (l: string) => boolean; message?: string };
  if (e?.hasErrorLabel?.('RetryableWriteError') || e?.hasErrorLabel?.('TransientTransactionError')) return true;
  if (e?.code === 16500 || e?.code === 11600 || e?.code === 11602 || e?.code === 91 || e?.code === 189) return true; // 16500: Cosmos rate limited
  return RETRYABLE.test(String(e?.message ?? ''));
}

export class MongoStore implements VideoStore {
  readonly kind: string;
  private closed = false;

  constructor(
    private readonly c: MongoCollections,
    private readonly flavour: MongoFlavour,
    private readonly where: string,
    private readonly onClose: () => Promise<void> = async () => undefined,
    private readonly logger?: Logger,
  ) {
    this.kind = flavour === 'cosmos' ? 'mongodb (cosmos)' : 'mongodb';
  }

  /** Connects with the official driver (imported here, on demand). Does not create indexes: call migrate. */
  static async connect(o: MongoStoreOptions): Promise<MongoStore> {
    const where = `mongodb ${maskSecret(o.url)}`;
    const flavour = flavourOf(o.url, o.compat);
    let mongodb: typeof import('mongodb');
    try {
      mongodb = await import('mongodb');
    } catch (err) {
      throw new StoreError(`${where}: the mongodb driver is not installed (npm install mongodb)`, { cause: err });
    }
    const client = new mongodb.MongoClient(o.url, {
      maxPoolSize: o.poolSize ?? 10,
      serverSelectionTimeoutMS: 10_000,
      // Cosmos DB does not support retryable writes.
      ...(flavour === 'cosmos' ? { retryWrites: false } : {}),
    });
    try {
      await client.connect();
    } catch (err) {
      throw new StoreError(`${where}: cannot connect: ${(err as Error).message.replaceAll(o.url, maskSecret(o.url))}`, { cause: err, retryable: true });
    }
    const db = client.db(new URL(o.url.replace(/^mongodb\+srv:/, 'mongodb:')).pathname.replace(/^\//, '') || o.database || 'videodex');
    const col = (name: string) => db.collection(name) as unknown as MongoCollectionLike;
    return new MongoStore({ videos: col('videos'), inputs: col('inputs'), meta: col('videodex_meta') }, flavour, where, () => client.close(), o.logger);
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new StoreError(`${this.where}: store is closed (${op})`);
      try {
        return await fn();
      } catch (err) {
        if (err instanceof StoreError) throw err;
        if (this.closed) throw new StoreError(`${this.where}: store is closed (${op})`, { cause: err });
        const retryable = isRetryableMongo(err);
        // Every operation here is idempotent (whole-record replace, reads), so one more try is safe.
        if (retryable && attempt < 2) {
          this.logger?.warn({ op, err: (err as Error).message }, 'mongodb: retrying');
          continue;
        }
        throw new StoreError(`${this.where}: ${op} failed: ${String((err as Error).message ?? err).split('\n')[0]}`, { cause: err, retryable });
      }
    }
  }

  async migrate(): Promise<void> {
    // read first: a library from a newer videodex is refused before this one changes its indexes or documents
    const meta = await this.run('migrate', () => this.c.meta.findOne({ _id: 'index_version' }));
    refuseNewerLibrary(this.where, 'index format', meta?.value as number | string | undefined, INDEX_VERSION);
    await this.run('migrate', async () => {
      await this.c.videos.createIndexes(indexSpecs(this.flavour));
      await this.c.inputs.createIndexes([{ key: { status: 1 }, name: 'status' }]);
    });
    if (meta?.value === INDEX_VERSION) return;
    if (meta) {
      this.logger?.info({ from: meta.value, to: INDEX_VERSION }, 'mongodb: rebuilding search fields');
      await rewriteAll(this);
    }
    await this.run('migrate', () => this.c.meta.replaceOne({ _id: 'index_version' }, { _id: 'index_version', value: INDEX_VERSION }, { upsert: true }));
  }

  async upsert(video: Video, options: WriteOptions = {}): Promise<void> {
    if (options.mirror) return this.replace(video, { _id: video.id }, true);
    // Over the version read: a replace cannot take a field from the document it replaces, so the stored hand
    // edits are read first and the write stands only while that document is still there (another write since:
    // read again). Only `updateUserTags` changes the edits.
    for (;;) {
      const stored = await this.run(`upsert ${video.id}`, () => this.c.videos.findOne({ _id: video.id }, { projection: { _s: 0 } }));
      if (!stored) return this.replace(video, { _id: video.id }, true);
      if (await this.replace(withUserTagsOf(video, fromMongoDoc(stored)), { _id: video.id, _w: stored._w ?? null }, false)) return;
    }
  }

  /** Replaces the document `filter` finds (or inserts it, with `upsert`); whether one was written. */
  private async replace(video: Video, filter: Doc, upsert: true): Promise<void>;
  private async replace(video: Video, filter: Doc, upsert: false): Promise<boolean>;
  private async replace(video: Video, filter: Doc, upsert: boolean): Promise<boolean | void> {
    const doc = toMongoDoc(video, indexFields(video));
    return this.run(`upsert ${video.id}`, async () => {
      try {
        const r = await this.c.videos.replaceOne(filter, doc, { upsert });
        return upsert ? undefined : (r.matchedCount ?? 0) > 0;
      } catch (err) {
        // Two upserts of a new id can race to insert; the loser replaces instead.
        if (upsert && (err as { code?: number }).code === 11000) await this.c.videos.replaceOne({ _id: video.id }, doc, { upsert: true });
        else throw err;
        return undefined;
      }
    });
  }

  async upsertMany(videos: readonly Video[], options: WriteOptions = {}): Promise<void> {
    for (let i = 0; i < videos.length; i += 500) {
      const chunk = videos.slice(i, i + 500);
      if (options.mirror) {
        const ops = chunk.map((v) => ({ replaceOne: { filter: { _id: v.id }, replacement: toMongoDoc(v, indexFields(v)), upsert: true } }));
        await this.run(`upsert ${ops.length} records`, () => this.c.videos.bulkWrite(ops, { ordered: false }));
        continue;
      }
      // the stored hand edits kept, as `upsert` keeps them: the chunk's stored versions read in one query
      const ids = [...new Set(chunk.map((v) => v.id))];
      const found = await this.run(`upsert ${chunk.length} records`, () => this.c.videos.aggregate([{ $match: { _id: { $in: ids } } }, { $project: { _w: 1, [`extra.${USER_TAGS_KEY}`]: 1 } }]).toArray());
      const stored = new Map(found.map((d) => [String(d._id), d]));
      // an id twice in a chunk: the second write's version is not the one read, so those go one by one
      const twice = chunk.length !== ids.length;
      const ops = (twice ? [] : chunk).map((v) => {
        const d = stored.get(v.id);
        if (!d) return { replaceOne: { filter: { _id: v.id }, replacement: toMongoDoc(v, indexFields(v)), upsert: true } };
        const kept = withUserTagsOf(v, { extra: (d.extra as Video['extra'] | undefined) ?? {} });
        return { replaceOne: { filter: { _id: v.id, _w: d._w ?? null }, replacement: toMongoDoc(kept, indexFields(kept)), upsert: false } };
      });
      const r = ops.length ? await this.run(`upsert ${ops.length} records`, () => this.c.videos.bulkWrite(ops, { ordered: false })) : null;
      // written by another meanwhile (which the counts cannot name): the stored ones' writes again, one by one
      if (twice || (r?.matchedCount ?? 0) + (r?.upsertedCount ?? 0) < ops.length) for (const v of chunk) if (twice || stored.has(v.id)) await this.upsert(v);
    }
  }

  /**
   * Only the edit changes a person's tag edits (see `VideoStore.updateUserTags`): `$set` (or `$unset`) of them over
   * the write version read, read again when another write came between, rather than a whole copy read earlier
   * written over a stage result.
   */
  async updateUserTags(id: string, edit: (stored: Video) => unknown, updatedAt: string): Promise<Video | null> {
    for (;;) {
      const d = await this.run(`edit the hand tags of ${id}`, () => this.c.videos.findOne({ _id: id }, { projection: { _s: 0 } }));
      if (!d) return null;
      const stored = fromMongoDoc(d);
      const next = edit(stored);
      const w = writeVersion();
      const path = `extra.${USER_TAGS_KEY}`;
      const update: Doc = next === undefined ? { $set: { updatedAt, _w: w }, $unset: { [path]: '' } } : { $set: { [path]: next, updatedAt, _w: w } };
      const r = await this.run(`edit the hand tags of ${id}`, () => this.c.videos.bulkWrite([{ updateOne: { filter: { _id: id, _w: d._w ?? null }, update, upsert: false } }]));
      if ((r.matchedCount ?? 0) === 0) continue;
      const { [USER_TAGS_KEY]: _was, ...others } = stored.extra ?? {};
      const video: Video = { ...stored, extra: next === undefined ? others : { ...others, [USER_TAGS_KEY]: next }, updatedAt };
      this.handedOut.set(video, w);
      return video;
    }
  }

  /**
   * Re-tagging's write: `$set` of the fields re-tagging changes and the failed flag, plus the search fields
   * only for records whose labels changed, in unordered bulk writes of 500 (no upsert: a deleted record stays
   * deleted). Sends and re-indexes far less than replacing whole documents.
   */
  async updateTags(changes: readonly TagUpdate[]): Promise<void> {
    for (let i = 0; i < changes.length; i += 500) {
      const ops = changes.slice(i, i + 500).map(({ before, after }) => {
        const moved = labelsMoved(before, after);
        const set: Doc = { tags: after.tags, categories: after.categories, extra: after.extra, stages: after.stages, updatedAt: after.updatedAt, _w: writeVersion() };
        if (moved) set._s = searchDoc(after, indexFields(after));
        else set['_s.failed'] = hasFailedStage(after);
        // Only over the version read, when this store handed the record out: written since (by `process`, another
        // retag), this copy, re-tagged from the old document, would bring back its stage entries and search fields
        // (a new duration searched as the old one) and replace labels made from the newer inputs. The next retag
        // reads the newer document.
        const read = this.handedOut.get(before);
        return { updateOne: { filter: read === undefined ? { _id: after.id } : { _id: after.id, _w: read }, update: { $set: set }, upsert: false } };
      });
      await this.run(`update tags of ${ops.length} records`, () => this.c.videos.bulkWrite(ops, { ordered: false }));
    }
  }

  async get(id: string): Promise<Video | null> {
    const d = await this.run(`get ${id}`, () => this.c.videos.findOne({ _id: id }, { projection: { _s: 0 } }));
    return d ? this.handOut(d) : null;
  }

  /** The write version of each record `get` and `iterate` handed out, by the object they gave (null: none yet). */
  private readonly handedOut = new WeakMap<Video, string | null>();

  private handOut(d: Doc): Video {
    const video = fromMongoDoc(d);
    this.handedOut.set(video, typeof d._w === 'string' ? d._w : null);
    return video;
  }

  async findByPath(path: string): Promise<Video[]> {
    const rows = await this.run('find by path', () => this.c.videos.aggregate([{ $match: { '_s.path': path } }, { $sort: { _id: 1 } }, { $project: { _s: 0 } }]).toArray());
    return rows.map(fromMongoDoc);
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.run(`delete ${id}`, () => this.c.videos.deleteOne({ _id: id }));
    return (r.deletedCount ?? 0) > 0;
  }

  private prefilter(plan: QueryPlan): Doc | null {
    return this.flavour === 'mongodb' ? textPrefilter(plan) : null;
  }

  async hasLibrary(): Promise<boolean> {
    // migrate writes the index version last; a read makes no collection
    return (await this.run('open', () => this.c.meta.findOne({ _id: 'index_version' }))) != null;
  }

  async library(): Promise<LibraryIdentity> {
    const made = { _id: 'library_id', value: randomUUID() };
    const id = await this.run('library', async () => {
      // made on first use; two processes racing both read the one that was inserted first
      try {
        await this.c.meta.bulkWrite([{ updateOne: { filter: { _id: 'library_id' }, update: { $setOnInsert: { value: made.value } }, upsert: true } }]);
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      return (await this.c.meta.findOne({ _id: 'library_id' }))?.value;
    });
    if (typeof id !== 'string') throw new StoreError(`${this.where}: the library has no id (videodex_meta.library_id)`);
    return { id, where: this.where };
  }

  async count(query: SearchQuery = {}): Promise<number> {
    const plan = planQuery({ ...query, facets: false });
    const rows = await this.run('count', () => this.c.videos.aggregate(countPipeline(plan, this.prefilter(plan))).toArray());
    return Number(rows[0]?.n ?? 0);
  }

  async search(query: SearchQuery): Promise<SearchResult> {
    const plan = planQuery(query);
    const pre = this.prefilter(plan);
    const [rows, countRows, facets] = await Promise.all([
      this.run('search', () => this.c.videos.aggregate(searchPipeline(plan, pre), { allowDiskUse: true }).toArray()),
      this.run('count', () => this.c.videos.aggregate(countPipeline(plan, pre)).toArray()),
      plan.facets ? this.facets(plan, pre) : Promise.resolve(emptyFacets()),
    ]);
    const hasMore = rows.length > plan.limit;
    const page = rows.slice(0, plan.limit);
    const last = page.at(-1);
    const s = last?._s as Partial<SearchDoc> | undefined;
    return {
      hits: page.map((d) => {
        const video = fromMongoDoc(d);
        const hl = highlight(video, plan.terms);
        return { id: video.id, score: Number(d._score ?? 0), ...(hl ? { highlight: hl } : {}), video };
      }),
      total: Number(countRows[0]?.n ?? 0),
      facets,
      nextCursor: nextCursor(plan, hasMore, page.length, last && s ? { id: String(last._id), name: s.name!, duration: s.duration!, created: s.created!, added: s.added!, bytes: s.bytes! } : undefined),
    };
  }

  private async facets(plan: QueryPlan, pre: Doc | null): Promise<Facets> {
    const [row] = await this.run('facets', () => this.c.videos.aggregate(facetPipeline(plan, FACET_SIZE, pre), { allowDiskUse: true }).toArray());
    const pick = (k: string): Record<string, number> =>
      topFacet(((row?.[k] as Array<{ _id: string; n: number }>) ?? []).map((e) => [String(e._id), Number(e.n)]), FACET_SIZE);
    return { tags: pick('tags'), categories: pick('categories'), codecs: pick('codecs'), sourceKinds: pick('sourceKinds'), resolutions: pick('resolutions') };
  }

  async *iterate(query: SearchQuery = {}, options: IterateOptions = {}): AsyncIterable<Video> {
    // no `shards`: callers split work only over stores that say they can
    if (options.shard) throw new StoreError('MongoDB: iterate cannot take a shard');
    const plan = planQuery({ ...query, facets: false });
    const base = countPipeline(plan, this.prefilter(plan))[0]!.$match as Doc;
    let after: string | null = null;
    for (;;) {
      const match: Doc = after === null ? base : { $and: [base, { _id: { $gt: after } }] };
      const rows: Doc[] = await this.run('iterate', () => this.c.videos.aggregate([{ $match: match }, { $sort: { _id: 1 } }, { $limit: 200 }, { $project: { _s: 0 } }]).toArray());
      for (const d of rows) yield this.handOut(d);
      if (rows.length < 200) return;
      after = String(rows.at(-1)!._id);
    }
  }

  async getInput(key: string): Promise<InputRecord | null> {
    const d = await this.run('get input', () => this.c.inputs.findOne({ _id: key }));
    return d ? (d.row as InputRecord) : null;
  }

  async putInput(row: InputRecord): Promise<void> {
    await this.run('put input', () => this.c.inputs.replaceOne({ _id: row.key }, { _id: row.key, status: row.status, row }, { upsert: true }));
  }

  async putInputs(rows: readonly InputRecord[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) {
      const ops = rows.slice(i, i + 500).map((row) => ({ replaceOne: { filter: { _id: row.key }, replacement: { _id: row.key, status: row.status, row }, upsert: true } }));
      // ordered: the last row of a key written twice wins, as with putInput one after another
      await this.run(`put ${ops.length} inputs`, () => this.c.inputs.bulkWrite(ops, { ordered: true }));
    }
  }

  async *iterateInputs(options: { afterKey?: string } = {}): AsyncIterable<InputRecord> {
    let after = options.afterKey ?? null;
    for (;;) {
      const match = after === null ? {} : { _id: { $gt: after } };
      const rows = await this.run('iterate inputs', () => this.c.inputs.aggregate([{ $match: match }, { $sort: { _id: 1 } }, { $limit: INPUTS_PAGE }]).toArray());
      for (const d of rows) yield d.row as InputRecord;
      if (rows.length < INPUTS_PAGE) return;
      after = String(rows.at(-1)!._id);
    }
  }

  async countInputs(): Promise<number> {
    const rows = await this.run('count inputs', () => this.c.inputs.aggregate([{ $count: 'n' }]).toArray());
    return Number(rows[0]?.n ?? 0);
  }

  async listInputs(status?: InputRecord['status']): Promise<InputRecord[]> {
    const rows = await this.run('list inputs', () => this.c.inputs.aggregate([{ $match: status ? { status } : {} }, { $sort: { _id: 1 } }]).toArray());
    return rows.map((d) => d.row as InputRecord);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.onClose();
  }
}
