/**
 * The VideoStore contract: one suite, run against every adapter through a factory. Answers are checked
 * against the reference evaluator (src/store/query/evaluate.ts), so every backend gives the same answers.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError, type Video } from '../../src/core/index.js';
import { INPUTS_PAGE, selectedRecords, type SearchQuery, type SortKey, type VideoStore } from '../../src/store/index.js';
import { compareBySort, facetCounts, indexFields, matches, parseQuery, planQuery, FACET_SIZE } from '../../src/store/query/index.js';
import { MAX_NAME_CHARS } from '../../src/store/query/index-fields.js';
import { CONTRACT_QUERIES, fixtureVideos, makeVideo } from './fixtures.js';

export interface StoreHandle {
  store: VideoStore;
  /** Drops what the store made (schema, file, collection). */
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** Closes the underlying connection behind the store's back, to test recovery; optional. */
  breakConnection?: (store: VideoStore) => Promise<unknown>;
}

function oracle(videos: Video[], q: SearchQuery): Video[] {
  const plan = planQuery(q);
  return videos.filter((v) => matches(indexFields(v), plan.where));
}

async function allIds(store: VideoStore, q: SearchQuery): Promise<string[]> {
  const r = await store.search({ ...q, limit: 1000, facets: false });
  return r.hits.map((h) => h.id);
}

export function runStoreContract(name: string, factory: () => Promise<StoreHandle>, options: ContractOptions = {}): void {
  describe(`VideoStore contract: ${name}`, () => {
    let h: StoreHandle;
    let store: VideoStore;
    const videos = fixtureVideos();

    beforeAll(async () => {
      h = await factory();
      store = h.store;
      await store.migrate();
      await store.migrate(); // idempotent
      for (const v of videos) await store.upsert(v);
    });
    afterAll(async () => {
      await h?.cleanup();
    });

    it('has one library identity, kept across calls, another for another database, and no secret in where', async () => {
      const a = await store.library();
      expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await store.library()).toEqual(a);
      expect(a.where).not.toMatch(/\/\/[^/@]*:(?!\*\*\*@)[^/@]+@/);
      const other = await factory();
      try {
        await other.store.migrate();
        expect((await other.store.library()).id).not.toBe(a.id);
      } finally {
        await other.cleanup();
      }
    });

    it('gets records back whole, and null for unknown ids', async () => {
      for (const v of videos.slice(0, 8)) expect(await store.get(v.id)).toEqual(v);
      expect(await store.get('0000000000000000')).toBeNull();
      expect((await store.findByPath('/media/beach-dancing-raw.mov')).map((v) => v.id)).toEqual([videos[2]!.id]);
      expect(await store.count()).toBe(videos.length);
    });

    it.each(CONTRACT_QUERIES)('answers %j like the reference', async (text) => {
      const expected = oracle(videos, { text }).map((v) => v.id).sort();
      const got = await allIds(store, { text });
      expect([...got].sort()).toEqual(expected);
      expect(new Set(got).size).toBe(got.length);
      const r = await store.search({ text, limit: 3 });
      expect(r.total).toBe(expected.length);
      expect(r.hits.length).toBe(Math.min(3, expected.length));
      expect(await store.count({ text })).toBe(expected.length);
    });

    it('answers the flat query fields like the language', async () => {
      const q: SearchQuery = { tags: ['Outdoor'], notTags: ['people'], duration: { min: 5 }, hasAudio: true, sourceKind: 'http' };
      expect((await allIds(store, q)).sort()).toEqual(oracle(videos, q).map((v) => v.id).sort());
      const q2: SearchQuery = { anyTags: ['night', 'water'], categories: ['sports'] };
      expect((await allIds(store, q2)).sort()).toEqual(oracle(videos, q2).map((v) => v.id).sort());
    });

    it('computes facets over the whole match', async () => {
      for (const text of ['', 'tag:outdoor', 'beach OR river', 'codec:h264 -has:audio']) {
        const r = await store.search({ text, limit: 1 });
        const match = oracle(videos, { text }).map(indexFields);
        expect(r.facets.tags, text).toEqual(facetCounts(match.flatMap((f) => f.tags), FACET_SIZE));
        expect(r.facets.categories, text).toEqual(facetCounts(match.flatMap((f) => f.categories), FACET_SIZE));
        expect(r.facets.codecs, text).toEqual(facetCounts(match.map((f) => f.codec), FACET_SIZE));
        expect(r.facets.sourceKinds, text).toEqual(facetCounts(match.map((f) => f.sourceKind), FACET_SIZE));
        expect(r.facets.resolutions, text).toEqual(facetCounts(match.map((f) => f.resolution), FACET_SIZE));
      }
    });

    const sorts: SortKey[] = ['added-desc', 'added-asc', 'created-desc', 'created-asc', 'duration-desc', 'duration-asc', 'name-asc', 'name-desc', 'size-desc', 'size-asc'];
    it.each(sorts)('sorts by %s, ties by id', async (sort) => {
      for (const text of ['', 'tag:outdoor OR has:scenes']) {
        const expected = oracle(videos, { text })
          .map(indexFields)
          .sort((a, b) => compareBySort({ sort }, a, b))
          .map((f) => f.id);
        expect(await allIds(store, { text, sort })).toEqual(expected);
      }
    });

    it('selects what export, retag and remove act on: the sorted, limited part of the match a query asks for', async () => {
      for (const sort of ['duration-desc', 'name-asc'] as const) {
        const expected = oracle(videos, { text: 'has:metadata' })
          .map(indexFields)
          .sort((a, b) => compareBySort({ sort }, a, b))
          .map((f) => f.id);
        const got: string[] = [];
        for await (const v of selectedRecords(store, { text: 'has:metadata', sort, offset: 2, limit: 5 })) got.push(v.id);
        expect(got, sort).toEqual(expected.slice(2, 7));
      }
    });

    it('ranks by relevance with field weights (title > tags > description > file name) and highlights', async () => {
      const r = await store.search({ text: 'beach' });
      expect(r.hits[0]!.id).toBe(videos[0]!.id); // in the title
      expect(r.hits.map((x) => x.id)).toContain(videos[1]!.id); // description only
      expect(r.hits.findIndex((x) => x.id === videos[0]!.id)).toBeLessThan(r.hits.findIndex((x) => x.id === videos[1]!.id));
      for (let i = 1; i < r.hits.length; i++) expect(r.hits[i - 1]!.score).toBeGreaterThanOrEqual(r.hits[i]!.score);
      expect(r.hits[0]!.score).toBeGreaterThan(0);
      expect(r.hits.find((x) => x.id === videos[1]!.id)!.highlight).toContain('[beach]');
      const g = await store.search({ text: 'guitar' });
      expect(g.hits[0]!.id).toBe(videos[5]!.id);
      expect(g.hits[0]!.highlight).toMatch(/\[guitar\]/i);
      const u = await store.search({ text: 'creme' });
      expect(u.hits[0]!.highlight).toContain('[crème]');
    });

    it.each(['added-desc', 'duration-asc', 'name-asc', 'relevance'] as SortKey[])('pages stably with cursors (%s)', async (sort) => {
      const text = sort === 'relevance' ? 'river OR city OR night OR beach OR music' : 'has:metadata';
      const full = await allIds(store, { text, sort });
      expect(full.length).toBeGreaterThan(10);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const r = await store.search({ text, sort, limit: 7, ...(cursor ? { cursor } : {}), facets: false });
        seen.push(...r.hits.map((x) => x.id));
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
      expect(seen).toEqual(full);
      // offset paging agrees
      const second = await store.search({ text, sort, limit: 7, offset: 7, facets: false });
      expect(second.hits.map((x) => x.id)).toEqual(full.slice(7, 14));
    });

    it('pages with the cursor written in the language', async () => {
      const first = await store.search(parseQuery('has:metadata sort:name-asc limit:5'));
      expect(first.nextCursor).toBeTruthy();
      const next = await store.search({ text: `has:metadata sort:name-asc limit:5 cursor:${first.nextCursor}` });
      const all = await allIds(store, { text: 'has:metadata', sort: 'name-asc' });
      expect(next.hits.map((x) => x.id)).toEqual(all.slice(5, 10));
    });

    it('iterates every match in a stable order', async () => {
      const got: string[] = [];
      for await (const v of store.iterate({ text: 'has:audio' })) got.push(v.id);
      expect([...got].sort()).toEqual(oracle(videos, { text: 'has:audio' }).map((v) => v.id).sort());
      const all: string[] = [];
      for await (const v of store.iterate()) all.push(v.id);
      expect(all.length).toBe(videos.length);
    });

    it('tag: and category: match the record tags and categories, not the raw model answer; tag: as tag names are written', async () => {
      const base = makeVideo({ n: 9001, title: 'raw answer check', tags: ['slow-motion'], categories: ['sports'] });
      // the model said Dogs, Automobile and Vehicles; tagging dropped them (a rule, AiTags = false)
      const v: Video = { ...base, ai: { ...base.ai!, tags: ['Dogs', 'Automobile'], category: 'Vehicles' } };
      await store.upsert(v);
      try {
        const ids = async (text: string) => (await store.search({ text, limit: 1000, facets: false })).hits.map((h) => h.id);
        for (const q of ['tag:dogs', 'tag:dog', 'tag:automobile', 'category:vehicles']) expect(await ids(q), q).not.toContain(v.id);
        for (const q of ['tag:"slow motion"', 'tag:Slow-Motion', 'tag:slow-motion', 'category:sports']) expect(await ids(q), q).toContain(v.id);
        expect((await store.search({ tags: ['Slow Motion'], limit: 1000, facets: false })).hits.map((h) => h.id)).toContain(v.id);
        // action: the record's action categories (mapped answers, a list's label) and the model's own words
        const acted: Video = { ...v, ai: { ...v.ai!, actions: ['biking'] }, categories: [...v.categories, { name: 'riding a bike', source: 'ai', kind: 'action' }], updatedAt: '2025-06-01T00:00:00.000Z' };
        await store.upsert(acted);
        for (const q of ['action:"riding a bike"', 'action:biking']) expect(await ids(q), q).toContain(v.id);
        // re-tagging that drops the action category: action: follows (the model's words stay)
        if (store.updateTags) {
          const dropped: Video = { ...acted, categories: v.categories, updatedAt: '2025-06-02T00:00:00.000Z' };
          await store.updateTags([{ before: acted, after: dropped }]);
          expect(await ids('action:"riding a bike"')).not.toContain(v.id);
          expect(await ids('action:biking')).toContain(v.id);
          await store.updateTags([{ before: dropped, after: acted }]);
          expect(await ids('action:"riding a bike"')).toContain(v.id);
        }
      } finally {
        await store.delete(v.id);
      }
    });

    it('updates the index on upsert and removes it on delete', async () => {
      const v = makeVideo({ n: 900, title: 'Zebra crossing', tags: ['striped'], description: 'black and white' });
      await store.upsert(v);
      expect(await allIds(store, { text: 'zebra' })).toEqual([v.id]);
      expect(await allIds(store, { text: 'tag:striped' })).toEqual([v.id]);
      const changed: Video = { ...v, source: { ...v.source, title: 'Okapi walk' }, tags: [{ name: 'spotted', source: 'rule' }], updatedAt: new Date().toISOString() };
      await store.upsert(changed);
      expect(await store.get(v.id)).toEqual(changed);
      expect(await allIds(store, { text: 'zebra' })).toEqual([]);
      expect(await allIds(store, { text: 'tag:striped' })).toEqual([]);
      expect(await allIds(store, { text: 'okapi tag:spotted' })).toEqual([v.id]);
      expect(await store.delete(v.id)).toBe(true);
      expect(await store.delete(v.id)).toBe(false);
      expect(await store.get(v.id)).toBeNull();
      expect(await allIds(store, { text: 'okapi' })).toEqual([]);
      expect(await store.count()).toBe(videos.length);
    });

    it('updateTags writes re-tagged records and keeps the index as upsert would', async () => {
      expect(store.updateTags).toBeTypeOf('function');
      const a = makeVideo({ n: 910, title: 'Heron fishing', tags: ['striped', 'bird', 'grey'], categories: ['nature'], description: 'a grey heron' });
      const b = makeVideo({ n: 911, title: 'Kestrel hover', tags: ['bird'] });
      const gone = makeVideo({ n: 912, title: 'Gone owl', tags: ['bird'] });
      for (const v of [a, b, gone]) await store.upsert(v);
      await store.delete(gone.id);
      const at = new Date().toISOString();
      const tagEntry = { status: 'done' as const, version: '1', inputHash: 'new', at, ms: 0 };
      // a: labels change (tag and category text too; two tags go, two come, one stays); b: only stages, extra and
      // updatedAt change, and it fails
      const a2: Video = { ...a, tags: [{ name: 'bird', source: 'rule' }, { name: 'wader', source: 'rule', confidence: 0.9, rule: 'r1' }, { name: 'reed', source: 'rule' }], categories: [{ name: 'wildlife', source: 'rule' }], extra: { _tagging: { carried: [], produced: ['bird'] } }, stages: { ...a.stages, tag: tagEntry }, updatedAt: at };
      const b2: Video = { ...b, stages: { ...b.stages, tag: { ...tagEntry, status: 'failed', error: 'plugin threw' } }, extra: { note: 1 }, updatedAt: at };
      const gone2: Video = { ...gone, tags: [{ name: 'phantom', source: 'rule' }], updatedAt: at };
      await store.updateTags!([{ before: a, after: a2 }, { before: b, after: b2 }, { before: gone, after: gone2 }]);
      expect(await store.get(a.id)).toEqual(a2);
      expect(await store.get(b.id)).toEqual(b2);
      expect(await store.get(gone.id)).toBeNull();
      const now = [...videos, a2, b2];
      for (const text of ['tag:striped', 'tag:grey', 'tag:wader', 'tag:reed', 'tag:bird', 'tag:phantom', 'category:nature', 'category:wildlife', 'wader', 'wildlife', 'striped', 'heron', 'fishing', 'grey', 'kestrel', 'is:failed', 'is:ok tag:bird']) {
        expect([...(await allIds(store, { text }))].sort(), text).toEqual(oracle(now, { text }).map((v) => v.id).sort());
      }
      const facets = (await store.search({ text: 'tag:bird' })).facets;
      expect(facets.tags).toEqual(facetCounts(now.map(indexFields).filter((f) => f.tags.includes('bird')).flatMap((f) => f.tags), FACET_SIZE));
      // a second update from the updated state: labels back to the start
      await store.updateTags!([{ before: a2, after: { ...a, updatedAt: at } }]);
      expect(await allIds(store, { text: 'striped' })).toEqual([a.id]);
      expect(await allIds(store, { text: 'tag:grey' })).toEqual([a.id]);
      expect(await allIds(store, { text: 'wader' })).toEqual([]);
      expect(await allIds(store, { text: 'tag:reed' })).toEqual([]);
      await store.delete(a.id);
      await store.delete(b.id);
      expect(await store.count()).toBe(videos.length);
    });

    it('iterate with a shard: the parts never overlap and together are every match (stores that shard)', async () => {
      if (!store.shards) return;
      const ids = async (q: SearchQuery, shard?: { index: number; count: number }) => {
        const out: string[] = [];
        for await (const v of store.iterate(q, shard ? { shard } : {})) out.push(v.id);
        return out;
      };
      for (const q of [{}, { text: 'tag:bird' }] as SearchQuery[]) {
        const whole = await ids(q);
        const parts = [await ids(q, { index: 0, count: 3 }), await ids(q, { index: 1, count: 3 }), await ids(q, { index: 2, count: 3 })];
        expect(parts.flat().sort()).toEqual([...whole].sort());
        expect(new Set(parts.flat()).size).toBe(whole.length);
        expect(await ids(q, { index: 0, count: 1 })).toEqual(whole);
      }
      await expect(ids({}, { index: 3, count: 3 })).rejects.toThrow(/shard 3 of 3/);
    });

    it('updateTags with only new stages (a rule edit that changed nothing else) keeps the rest; a later upsert wins', async () => {
      const c = makeVideo({ n: 913, title: 'Egret wading', tags: ['bird'] });
      await store.upsert(c);
      const entry = (status: 'done' | 'failed', inputHash: string) => ({ status, version: '1', inputHash, at: c.updatedAt, ms: 0, ...(status === 'failed' ? { error: 'plugin threw' } : {}) });
      // the object retag passes: every field the one read except `stages`
      const c2: Video = { ...c, stages: { ...c.stages, tag: entry('done', 'rules-2') } };
      await store.updateTags!([{ before: c, after: c2 }]);
      expect(await store.get(c.id)).toEqual(c2);
      let seen: Video | undefined;
      for await (const v of store.iterate({ text: 'egret' })) seen = v;
      expect(seen).toEqual(c2);
      expect((await store.search({ text: 'egret' })).hits[0]?.video).toEqual(c2);
      expect(await allIds(store, { text: 'is:failed egret' })).toEqual([]);
      // a failed stage moves the failed flag even on this path
      const c3: Video = { ...c, stages: { ...c.stages, tag: entry('failed', 'rules-3') } };
      await store.updateTags!([{ before: c2, after: c3 }]);
      expect(await store.get(c.id)).toEqual(c3);
      expect(await allIds(store, { text: 'is:failed egret' })).toEqual([c.id]);
      // a full write afterwards is the record, stages included
      const c4: Video = { ...c, stages: { ...c.stages, probe: entry('done', 'probe-2') }, updatedAt: new Date().toISOString() };
      await store.upsert(c4);
      expect(await store.get(c.id)).toEqual(c4);
      expect(await allIds(store, { text: 'is:failed egret' })).toEqual([]);
      await store.delete(c.id);
      expect(await store.get(c.id)).toBeNull();
      // a record deleted since retag read it stays deleted, and leaves nothing a new record of its id would get
      await store.updateTags!([{ before: c, after: c2 }]);
      expect(await store.get(c.id)).toBeNull();
      await store.upsert(c);
      expect(await store.get(c.id)).toEqual(c);
      await store.delete(c.id);
    });

    it('hand tag edits: only updateUserTags changes them, over the record as stored; every other write keeps them', async () => {
      const v = makeVideo({ n: 920, title: 'Lark song', tags: ['bird'], description: 'a lark' });
      await store.upsert(v);
      // what `process` holds while the model answers, and what `tag` read: both copies from before the edit
      const held = (await store.get(v.id))!;
      const tagState = store.iterateTagStates ? 'checked' : undefined;
      await store.updateTags!([{ before: held, after: { ...held, stages: { ...held.stages, tag: { status: 'done', version: '1', inputHash: 'h', at: v.updatedAt, ms: 0 } } }, ...(tagState ? { tagState } : {}) }]);
      // another writer stores a stage result in between
      const described: Video = { ...(await store.get(v.id))!, ai: { ...held.ai!, description: 'a lark singing at dawn' }, stages: { ...held.stages, describe: { status: 'done', version: '2', inputHash: 'd', at: v.updatedAt, ms: 5 } } };
      await store.upsert(described);
      const edits = { add: ['favorite'], remove: ['bird'] };
      const at = new Date(Date.UTC(2026, 1, 2)).toISOString();
      const seen: Video[] = [];
      const edited = await store.updateUserTags(v.id, (stored) => (seen.push(stored), edits), at);
      expect(seen.at(-1)).toEqual(described);
      const want: Video = { ...described, extra: { ...described.extra, _userTags: edits }, updatedAt: at };
      expect(edited).toEqual(want);
      expect(await store.get(v.id)).toEqual(want);
      expect(await allIds(store, { text: 'dawn tag:bird' })).toEqual([v.id]);
      // the tag state retag judged the old edits with is gone: the next retag reads the record
      if (store.iterateTagStates) {
        for await (const row of store.iterateTagStates((r) => (r.id === v.id ? r.tagState : null))) if (row.id === v.id) expect(row.judged ?? null).toBeNull();
      }
      // the held copy written whole (the next stage's write): its fields, the stored edits
      const next: Video = { ...held, tags: [{ name: 'song', source: 'rule' }], stages: { ...held.stages, scenes: { status: 'done', version: '1', inputHash: 's', at, ms: 1 } }, updatedAt: at };
      await store.upsert(next);
      expect(await store.get(v.id)).toEqual({ ...next, extra: { ...next.extra, _userTags: edits } });
      // a copy with other edits does not bring them, one at a time or in bulk
      const other = { ...next, extra: { ...next.extra, _userTags: { add: ['stale'], remove: [] } } };
      await store.upsert(other);
      expect((await store.get(v.id))!.extra._userTags).toEqual(edits);
      await (store.upsertMany ? store.upsertMany([other]) : store.upsert(other));
      expect((await store.get(v.id))!.extra._userTags).toEqual(edits);
      // retag's write of a copy read before the edit is not made over it
      await store.updateTags!([{ before: held, after: { ...held, tags: [{ name: 'retagged', source: 'rule' }] } }]);
      expect((await store.get(v.id))!.extra._userTags).toEqual(edits);
      // edits forgotten (undefined): the key goes, and a copy that has some does not bring them back
      const cleared = await store.updateUserTags(v.id, () => undefined, at);
      expect(cleared!.extra).not.toHaveProperty('_userTags');
      await store.upsert(other);
      expect(await store.get(v.id)).toEqual(next);
      // a mirror of another library writes them as given
      await store.upsert(other, { mirror: true });
      expect(await store.get(v.id)).toEqual(other);
      await (store.upsertMany ? store.upsertMany([next], { mirror: true }) : store.upsert(next, { mirror: true }));
      expect(await store.get(v.id)).toEqual(next);
      // no record, nothing made
      await store.delete(v.id);
      expect(await store.updateUserTags(v.id, () => edits, at)).toBeNull();
      expect(await store.get(v.id)).toBeNull();
      // a new record is written as given
      await store.upsert(other);
      expect(await store.get(v.id)).toEqual(other);
      await store.delete(v.id);
    });

    it('keeps hand tag edits made while many full writes of old copies race with it', async () => {
      const v = makeVideo({ n: 921, title: 'Wren', tags: ['bird'] });
      await store.upsert(v);
      const edits = { add: ['tiny'], remove: [] };
      const copies = Array.from({ length: 8 }, (_, i) => ({ ...v, tags: [{ name: `w${i}`, source: 'rule' as const }] }));
      await Promise.all([...copies.slice(0, 4).map((c) => store.upsert(c)), store.updateUserTags(v.id, () => edits, v.updatedAt), ...copies.slice(4).map((c) => store.upsert(c))]);
      const got = (await store.get(v.id))!;
      expect(got.extra._userTags).toEqual(edits);
      expect(copies.some((c) => isDeepStrictEqual({ ...c, extra: { ...c.extra, _userTags: edits } }, got))).toBe(true);
      await store.delete(v.id);
    });

    it('keeps unicode text and a 1 MB description intact and searchable', async () => {
      const words = Array.from({ length: 185_000 }, (_, i) => ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'ünïcödé', '🎬'][i % 7]).join(' ');
      const big = `needle-start ${words} — 終わり`;
      expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
      const v = makeVideo({ n: 901, title: 'Ωmega 🎥 “quotes” \'single\' \\ back', description: big, tags: ['emoji 🎉'] });
      await store.upsert(v);
      const back = await store.get(v.id);
      expect(back?.ai?.description).toBe(big);
      expect(back).toEqual(v);
      expect(await allIds(store, { text: 'needle' })).toEqual([v.id]);
      expect(await allIds(store, { text: 'ωmega' })).toEqual([v.id]);
      expect(await allIds(store, { text: 'unicode' })).toEqual([v.id]);
      expect(await allIds(store, { text: 'tag:"emoji 🎉"' })).toEqual([v.id]);
      await store.delete(v.id);
    });

    it('stores a record whose title runs to pages; name: and sort:name see its first MAX_NAME_CHARS characters', async () => {
      // Random words, so the name does not compress below PostgreSQL's B-tree entry limit (about 2.7 kB): such a
      // record failed to store there, while SQLite kept it.
      let seed = 7;
      const word = () => ((seed = (seed * 48271) % 2147483647), `w${seed.toString(36)}`);
      const title = `Longtitle ${Array.from({ length: 2000 }, word).join(' ')} 終わり tailword`;
      expect(Buffer.byteLength(title)).toBeGreaterThan(8 * 1024);
      const v = makeVideo({ n: 905, title });
      await store.upsert(v);
      try {
        expect(await store.get(v.id)).toEqual(v);
        const name = indexFields(v).name;
        expect(Array.from(name)).toHaveLength(MAX_NAME_CHARS);
        expect(title.toLowerCase().startsWith(name)).toBe(true);
        expect(await allIds(store, { text: 'tailword' })).toEqual([v.id]);
        expect(await allIds(store, { text: `name:"${name.slice(-40)}"` })).toEqual([v.id]);
        expect(await allIds(store, { text: 'name:tailword' })).toEqual([]);
        for (const sort of ['name-asc', 'name-desc'] as const) {
          const expected = [...videos, v].map(indexFields).sort((a, b) => compareBySort({ sort }, a, b)).map((f) => f.id);
          expect(await allIds(store, { text: '', sort })).toEqual(expected);
        }
      } finally {
        await store.delete(v.id);
      }
    });

    it('takes LIKE, glob and regex characters in name: literally', async () => {
      const odd = [
        makeVideo({ n: 911, title: '50% off_sale \\ star*name ?q [a-z] ^$ (x|y).' }),
        makeVideo({ n: 912, title: '500 offxsale starxname xq a ^ x y' }),
      ];
      for (const v of odd) await store.upsert(v);
      try {
        for (const q of ['name:50%', 'name:"%"', 'name:f_s', 'name:"\\\\"', 'name:"r*n"', 'name:"?q"', 'name:"[a-z]"', 'name:"^$"', 'name:"(x|y)."']) {
          expect(await allIds(store, { text: q }), q).toEqual([odd[0]!.id]);
        }
        // the same questions answered by the reference evaluator over everything stored
        for (const q of ['name:_', 'name:.', 'name:%']) expect((await allIds(store, { text: q })).sort(), q).toEqual(oracle([...videos, ...odd], { text: q }).map((v) => v.id).sort());
      } finally {
        for (const v of odd) await store.delete(v.id);
      }
    });

    it('survives concurrent upserts of the same id: one whole record wins, the index agrees', async () => {
      const base = makeVideo({ n: 902, title: 'Race' });
      const versions = Array.from({ length: 12 }, (_, i) => ({ ...base, tags: [{ name: `race${i}`, source: 'rule' as const }], source: { ...base.source, title: `Race variant${i}` } }));
      await Promise.all(versions.map((v) => store.upsert(v)));
      const got = await store.get(base.id);
      const winner = versions.findIndex((v) => isDeepStrictEqual(v, got));
      expect(winner).toBeGreaterThanOrEqual(0);
      expect(await allIds(store, { text: `tag:race${winner}` })).toEqual([base.id]);
      expect(await allIds(store, { text: `variant${winner}` })).toEqual([base.id]);
      expect(await store.count({ text: 'race' })).toBe(1);
      const tagged = await store.search({ text: 'race' });
      expect(Object.keys(tagged.facets.tags)).toEqual([`race${winner}`]);
      await store.delete(base.id);
    });

    it('keeps the acquisition log', async () => {
      const row = { key: 'https://example.com/a.mp4', status: 'failed' as const, videoId: null, attempts: 2, bytes: null, error: 'HTTP 404', errorCode: 'E_HTTP', fileSize: null, fileMtimeMs: null, listFile: null, updatedAt: new Date().toISOString() };
      await store.putInput(row);
      expect(await store.getInput(row.key)).toEqual(row);
      await store.putInput({ ...row, status: 'done', videoId: videos[0]!.id, attempts: 3, error: null, errorCode: null, bytes: 10 });
      expect((await store.listInputs('done')).map((r) => r.key)).toContain(row.key);
      expect((await store.listInputs('failed')).map((r) => r.key)).not.toContain(row.key);
      expect(await store.getInput('nope')).toBeNull();
    });

    it('writes the acquisition log in bulk and reads it back a page at a time, in key order', async () => {
      if (!store.putInputs || !store.iterateInputs || !store.countInputs) throw new Error(`${name}: no bulk acquisition log`);
      const row = (i: number, attempts = 1) => ({ key: `log/${String(i).padStart(5, '0')}.mp4`, status: 'done' as const, videoId: null, attempts, bytes: i, error: null, errorCode: null, fileSize: null, fileMtimeMs: null, listFile: null, updatedAt: 'then' });
      const n = INPUTS_PAGE * 2 + 5;
      const before = await store.countInputs();
      // the same key twice in one write: the later row wins, as with putInput after putInput
      await store.putInputs([...Array.from({ length: n }, (_, i) => row(n - 1 - i)), row(7, 9)]);
      expect(await store.countInputs()).toBe(before + n);
      const seen: string[] = [];
      for await (const r of store.iterateInputs()) if (r.key.startsWith('log/')) seen.push(r.key);
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => row(i).key));
      expect((await store.getInput(row(7).key))?.attempts).toBe(9);
      const after: string[] = [];
      for await (const r of store.iterateInputs({ afterKey: row(n - 3).key })) after.push(r.key);
      expect(after.filter((k) => k.startsWith('log/'))).toEqual([row(n - 2).key, row(n - 1).key]);
    });

    it('rejects bad queries with QueryError, not a database error', async () => {
      await expect(store.search({ text: 'durtion:5' })).rejects.toMatchObject({ code: 'E_QUERY' });
      await expect(store.search({ cursor: 'bm9wZQ' })).rejects.toMatchObject({ code: 'E_QUERY' });
      // a sort from outside the text (HTTP, the library API) is checked as `sort:` is, never put into a query
      for (const sort of ['bogus', 'toString', 'constructor-asc', 'name-foo']) {
        await expect(store.search({ sort: sort as SortKey }), sort).rejects.toMatchObject({ code: 'E_QUERY' });
      }
      // pages no store can start at, from the library API or `--offset`: one QueryError everywhere, not a database's
      for (const page of [{ offset: 1e20 }, { offset: Infinity }, { offset: NaN }, { offset: 10_000_001 }, { limit: NaN }]) {
        await expect(store.search({ text: 'sort:name', ...page }), JSON.stringify(page)).rejects.toMatchObject({ code: 'E_QUERY' });
      }
      expect((await store.search({ offset: 10_000_000, facets: false })).hits).toEqual([]);
      const shorthand = await store.search({ sort: 'Longest' as SortKey, limit: 3, facets: false });
      expect(shorthand.hits.map((h) => h.id)).toEqual((await store.search({ sort: 'duration-desc', limit: 3, facets: false })).hits.map((h) => h.id));
    });

    if (options.breakConnection) {
      it('recovers from a dropped connection where it is safe to retry', async () => {
        await options.breakConnection!(store);
        expect((await store.get(videos[0]!.id))?.id).toBe(videos[0]!.id);
        expect((await store.search({ text: 'beach' })).total).toBeGreaterThan(0);
      });
    }

    it('fails with a clear StoreError once closed', async () => {
      await store.close();
      const err = await store.get(videos[0]!.id).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).message).toMatch(/closed/);
      await expect(store.upsert(videos[0]!)).rejects.toBeInstanceOf(StoreError);
      await expect(store.search({ text: 'beach' })).rejects.toBeInstanceOf(StoreError);
    });
  });
}
