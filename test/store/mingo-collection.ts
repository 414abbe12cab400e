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

  async replaceOne(filter: Doc, doc: Doc, options: { upsert: boolean }): Promise<unknown> {
    this.check();
    const id = String(filter._id);
    if (!this.docs.has(id) && !options.upsert) return { matchedCount: 0 };
    // Simulate the network: a write lands after a tick, whole.
    await Promise.resolve();
    this.docs.set(id, structuredClone({ ...doc, _id: id }));
    return { matchedCount: 1 };
  }

  async bulkWrite(ops: Doc[]): Promise<unknown> {
    this.check();
    for (const op of ops) {
      if (op.updateOne) {
        await this.updateOne(op.updateOne as { filter: Doc; update: { $set?: Doc; $setOnInsert?: Doc }; upsert?: boolean });
        continue;
      }
      const r = op.replaceOne as { filter: Doc; replacement: Doc; upsert: boolean };
      await this.replaceOne(r.filter, r.replacement, { upsert: r.upsert });
    }
    return { ok: 1 };
  }

  /**
   * `$set` by a filter on `_id` (and other fields: the write version; dotted paths allowed): what the store's bulk updates send; or an upsert of `$setOnInsert`
   * alone (plain fields), what the library id is made with.
   */
  private async updateOne(u: { filter: Doc; update: { $set?: Doc; $setOnInsert?: Doc }; upsert?: boolean }): Promise<void> {
    const keys = Object.keys(u.update);
    if (keys.length === 1 && keys[0] === '$setOnInsert' && u.upsert) {
      await Promise.resolve();
      const id = String(u.filter._id);
      if (!this.docs.has(id)) this.docs.set(id, structuredClone({ ...u.update.$setOnInsert, _id: id }));
      return;
    }
    if (keys.length !== 1 || keys[0] !== '$set' || u.upsert || !u.update.$set) throw new Error(`mingo stand-in: unsupported update ${JSON.stringify(keys)}`);
    await Promise.resolve();
    const doc = this.docs.get(String(u.filter._id));
    if (!doc || !new Query(u.filter).test(doc)) return;
    for (const [path, value] of Object.entries(structuredClone(u.update.$set))) {
      const parts = path.split('.');
      let at = doc;
      for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Doc;
      at[parts.at(-1)!] = value;
    }
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
