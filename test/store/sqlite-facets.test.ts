import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { facetCounts, FACET_SIZE, indexFields, matches, planQuery } from '../../src/store/query/index.js';
import type { Video } from '../../src/core/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

// The store keeps totals and facets per filter, and from the second faceted search counts them from an
// in-memory copy of every record's facet values. Every write path must show up in the next answer.
const t = tempDir();
afterAll(() => t.cleanup());

const tagged = (id: string, tags: string[], codec = 'h264'): Video =>
  makeRecord({ id, tags: tags.map((name) => ({ name, source: 'rule' as const })), metadata: { durationSec: 10, container: 'mp4', bitRate: 1, width: 1280, height: 720, fps: 30, rotation: 0, videoCodec: codec, audio: null, containerTags: {} } });

let n = 0;
async function open(): Promise<{ store: SqliteStore; file: string }> {
  const file = path.join(t.dir, `f${n++}.db`);
  const store = new SqliteStore(file);
  await store.migrate();
  return { store, file };
}

/** Facets the reference evaluator computes over these records for this query. */
function expected(records: Video[], text: string): { total: number; tags: Record<string, number>; codecs: Record<string, number> } {
  const plan = planQuery({ text });
  const match = records.map(indexFields).filter((f) => matches(f, plan.where));
  return { total: match.length, tags: facetCounts(match.flatMap((f) => f.tags), FACET_SIZE), codecs: facetCounts(match.map((f) => f.codec), FACET_SIZE) };
}

async function check(store: SqliteStore, records: Video[], text: string): Promise<void> {
  const r = await store.search({ text });
  const e = expected(records, text);
  expect({ total: r.total, tags: r.facets.tags, codecs: r.facets.codecs }, text).toEqual(e);
}

describe('SQLite facet counts and their cache', () => {
  let store: SqliteStore;
  let file: string;
  let records: Map<string, Video>;
  const all = () => [...records.values()];
  beforeEach(async () => {
    ({ store, file } = await open());
    records = new Map(
      [tagged('a', ['beach', 'sun']), tagged('b', ['beach'], 'hevc'), tagged('c', ['night']), tagged('d', ['beach', 'night'], 'vp9')].map((v) => [v.id, v]),
    );
    await store.upsertMany(all());
    // Two faceted searches: the second builds the in-memory copy, so later checks exercise it.
    await check(store, all(), '');
    await check(store, all(), 'tag:beach');
    return async () => store.close();
  });

  it('follows re-tagging through updateTags (the retag write path)', async () => {
    const before = records.get('a')!;
    const after: Video = { ...before, tags: [{ name: 'night', source: 'rule' }, { name: 'snow', source: 'rule' }], updatedAt: new Date().toISOString() };
    records.set('a', after);
    await store.updateTags([{ before, after }]);
    await check(store, all(), '');
    await check(store, all(), 'tag:beach');
    await check(store, all(), 'tag:night');
  });

  it('follows an upsert that changes labels and columns (cached filter and the whole library)', async () => {
    const changed = tagged('a', ['night', 'rain'], 'av1');
    records.set('a', changed);
    await store.upsert(changed);
    await check(store, all(), 'tag:beach');
    await check(store, all(), '');
    await check(store, all(), 'tag:night');
  });

  it('follows new records, deletes and batches', async () => {
    await store.upsertMany([tagged('e', ['beach', 'snow'])]);
    records.set('e', tagged('e', ['beach', 'snow']));
    await check(store, all(), 'tag:beach');
    await store.delete('b');
    records.delete('b');
    await check(store, all(), 'tag:beach');
    await check(store, all(), '');
  });

  it('ignores a batch that failed and rolled back', async () => {
    const bad = { ...tagged('f', ['beach']), file: null } as unknown as Video; // indexFields throws mid-batch
    await expect(store.upsertMany([tagged('a', ['gone']), bad])).rejects.toThrow();
    await check(store, all(), 'tag:beach');
    await check(store, all(), 'tag:gone');
    await check(store, all(), '');
  });

  it('follows writes made by another connection', async () => {
    const other = new SqliteStore(file);
    try {
      const changed = tagged('c', ['beach'], 'hevc');
      records.set('c', changed);
      await other.upsert(changed);
      await check(store, all(), 'tag:beach');
      await check(store, all(), '');
      await other.delete('d');
      records.delete('d');
      await check(store, all(), 'tag:beach');
    } finally {
      await other.close();
    }
  });

  it('returns copies: changing one answer does not change the next', async () => {
    const r = await store.search({ text: 'tag:beach' });
    r.facets.tags.beach = 999;
    await check(store, all(), 'tag:beach');
  });
});
