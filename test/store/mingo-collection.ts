/**
 * An in-memory stand-in for a MongoDB collection that evaluates the adapter's generated filters and
 * pipelines with mingo: what the MongoStore sends is exactly what a server would run.
 */
import { Aggregator, Query } from 'mingo';
import type { MongoCollectionLike, MongoCollections } from '../../src/store/mongodb/index.js';

type Doc = Record<string, unknown>;

export class MingoCollection implements MongoCollectionLike {
  readonly docs = new Map<string, Doc>();
  readonly pipelines: Doc[][] = [];
  indexes: Array<{ key: Doc; name: string }> = [];
  closed = false;

  private check(): void {
    if (this.closed) throw Object.assign(new Error('Topology is closed'), { name: 'MongoTopologyClosedError' });
  }

  async createIndexes(specs: Array<{ key: Doc; name: string }>): Promise<string[]> {
    this.check();
    for (const s of specs) if (!this.indexes.some((i) => i.name === s.name)) this.indexes.push(s);
    return specs.map((s) => s.name);
  }

  /** By the whole filter (the store's writes name the write version they read), as a server does. */
  async replaceOne(filter: Doc, doc: Doc, options: { upsert: boolean }): Promise<{ matchedCount: number; upsertedCount: number }> {
    this.check();
    const id = String(filter._id);
    const found = this.docs.get(id);
    const matched = found !== undefined && new Query(filter).test(found);
    if (!matched && (found !== undefined || !options.upsert)) return { matchedCount: 0, upsertedCount: 0 };
    // Simulate the network: a write lands after a tick, whole.
    await Promise.resolve();
    this.docs.set(id, structuredClone({ ...doc, _id: id }));
    return matched ? { matchedCount: 1, upsertedCount: 0 } : { matchedCount: 0, upsertedCount: 1 };
  }

  async bulkWrite(ops: Doc[]): Promise<{ ok: 1; matchedCount: number; upsertedCount: number }> {
    this.check();
    let matchedCount = 0;
    let upsertedCount = 0;
    for (const op of ops) {
      if (op.updateOne) {
        if (await this.updateOne(op.updateOne as { filter: Doc; update: { $set?: Doc; $unset?: Doc; $setOnInsert?: Doc }; upsert?: boolean })) matchedCount++;
        continue;
      }
      const r = op.replaceOne as { filter: Doc; replacement: Doc; upsert: boolean };
      const done = await this.replaceOne(r.filter, r.replacement, { upsert: r.upsert });
      matchedCount += done.matchedCount;
      upsertedCount += done.upsertedCount;
    }
    return { ok: 1, matchedCount, upsertedCount };
  }

  /**
   * `$set` (and `$unset`) by a filter on `_id` (and other fields: the write version; dotted paths allowed): what the
   * store's updates send; or an upsert of `$setOnInsert` alone (plain fields), what the library id is made with.
   * Whether a document matched.
   */
  private async updateOne(u: { filter: Doc; update: { $set?: Doc; $unset?: Doc; $setOnInsert?: Doc }; upsert?: boolean }): Promise<boolean> {
    const keys = Object.keys(u.update);
    if (keys.length === 1 && keys[0] === '$setOnInsert' && u.upsert) {
      await Promise.resolve();
      const id = String(u.filter._id);
      if (!this.docs.has(id)) this.docs.set(id, structuredClone({ ...u.update.$setOnInsert, _id: id }));
      return true;
    }
    if (keys.some((k) => k !== '$set' && k !== '$unset') || u.upsert || !u.update.$set) throw new Error(`mingo stand-in: unsupported update ${JSON.stringify(keys)}`);
    await Promise.resolve();
    const doc = this.docs.get(String(u.filter._id));
    if (!doc || !new Query(u.filter).test(doc)) return false;
    const at = (path: string): [Doc, string] => {
      const parts = path.split('.');
      let node = doc;
      for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Doc;
      return [node, parts.at(-1)!];
    };
    for (const [path, value] of Object.entries(structuredClone(u.update.$set))) {
      const [node, key] = at(path);
      node[key] = value;
    }
    for (const path of Object.keys(u.update.$unset ?? {})) {
      const [node, key] = at(path);
      delete node[key];
    }
    return true;
  }

  async deleteOne(filter: Doc): Promise<{ deletedCount: number }> {
    this.check();
    return { deletedCount: this.docs.delete(String(filter._id)) ? 1 : 0 };
  }

  async findOne(filter: Doc, options: Doc = {}): Promise<Doc | null> {
    this.check();
    const q = new Query(filter);
    for (const d of this.docs.values()) {
      if (q.test(d)) {
        const out = structuredClone(d);
        const projection = (options.projection ?? {}) as Doc;
        for (const [k, v] of Object.entries(projection)) if (v === 0) delete out[k];
        return out;
      }
    }
    return null;
  }

  aggregate(pipeline: Doc[]): { toArray(): Promise<Doc[]> } {
    this.pipelines.push(pipeline);
    return {
      toArray: async () => {
        this.check();
        const input = [...this.docs.values()].map((d) => structuredClone(d));
        return new Aggregator(pipeline).run(input) as Doc[];
      },
    };
  }
}

export function mingoCollections(): MongoCollections & { videos: MingoCollection; inputs: MingoCollection; meta: MingoCollection; close(): void } {
  const videos = new MingoCollection();
  const inputs = new MingoCollection();
  const meta = new MingoCollection();
  return {
    videos,
    inputs,
    meta,
    close() {
      videos.closed = inputs.closed = meta.closed = true;
    },
  };
}
