import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configWith, createLogger, type Video } from '../../src/core/index.js';
import { SqliteStore, type TagUpdate, type VideoStore } from '../../src/store/index.js';
import { carriedTags, createTaggingSetup, type TaggingSetup } from '../../src/tagging/index.js';
import { createClassifyStage, createTagStage, retagRecords } from '../../src/workflow/index.js';
import { sameItems } from '../../src/workflow/retag.js';
import { mergeTagged } from '../../src/workflow/record-merge.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const config = configWith();
const logger = createLogger({ file: null, level: 'silent', secrets: [] });
const rulesText = (min: number) => `rules:\n  - name: long\n    when: "duration > ${min}"\n    add: [long]\n    categories: [feature]\n`;

function records(): Video[] {
  return [5, 30, 90, 200].map((d, i) =>
    makeRecord({ id: `r${i}`, metadata: { durationSec: d, container: 'mp4', bitRate: 1, width: 1280, height: 720, fps: 30, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} } }),
  );
}

/** The store, counting what retag writes through each method. */
function counting(store: SqliteStore, withUpdateTags = true): VideoStore & { updated: number; upserted: number } {
  const c = {
    updated: 0,
    upserted: 0,
    kind: store.kind,
    library: () => store.library(),
    migrate: () => store.migrate(),
    upsert: (v: Video) => ((c.upserted += 1), store.upsert(v)),
    upsertMany: (vs: readonly Video[]) => ((c.upserted += vs.length), store.upsertMany(vs)),
    updateUserTags: store.updateUserTags.bind(store),
    get: (id: string) => store.get(id),
    findByPath: (p: string) => store.findByPath(p),
    search: store.search.bind(store),
    iterate: store.iterate.bind(store),
    count: store.count.bind(store),
    delete: (id: string) => store.delete(id),
    getInput: (k: string) => store.getInput(k),
    putInput: store.putInput.bind(store),
    listInputs: store.listInputs.bind(store),
    close: () => store.close(),
    ...(withUpdateTags ? { updateTags: (cs: readonly TagUpdate[]) => ((c.updated += cs.length), store.updateTags(cs)) } : {}),
  };
  return c;
}

describe('retagRecords', () => {
  let t: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  beforeEach(async () => {
    t = tempDir('videodex-retag-records-');
    store = new SqliteStore(path.join(t.dir, 'v.db'));
    await store.migrate();
    await store.upsertMany(records());
  });
  afterEach(async () => {
    await store.close();
    t.cleanup();
  });

  const retag = (s: VideoStore, setup: TaggingSetup, extra: { dryRun?: boolean; force?: boolean } = {}) =>
    retagRecords({ store: s, config, logger, setup, tagStage: createTagStage(setup), classifyStage: createClassifyStage(setup), ...extra });

  it.each([true, false])('writes changed records only, through updateTags when the store has it (%s)', async (withUpdateTags) => {
    const s = counting(store, withUpdateTags);
    const setup = createTaggingSetup({ rulesText: rulesText(60) });
    const first = await retag(s, setup);
    expect(first.changed).toBe(4);
    expect([s.updated, s.upserted]).toEqual(withUpdateTags ? [4, 0] : [0, 4]);
    expect((await store.search({ text: 'tag:long' })).hits.map((h) => h.id).sort()).toEqual(['r2', 'r3']);
    expect((await store.search({ text: 'category:feature' })).total).toBe(2);

    const again = await retag(s, setup);
    expect(again).toMatchObject({ seen: 4, upToDate: 4, changed: 0 });
    expect(s.updated + s.upserted).toBe(4); // nothing written the second time

    // an edited rule: every record is re-evaluated and gets new stage hashes; one changes its tags
    const edited = createTaggingSetup({ rulesText: rulesText(20) });
    const r0Before = (await store.get('r0'))!;
    const third = await retag(s, edited);
    // a record whose tags came out the same gets the new stage hashes and keeps its content and updatedAt
    const r0 = (await store.get('r0'))!;
    expect(r0.stages.tag?.inputHash).not.toBe(r0Before.stages.tag?.inputHash);
    expect({ ...r0, stages: r0Before.stages }).toEqual(r0Before);
    expect(third).toMatchObject({ seen: 4, upToDate: 0, changed: 1, same: 3, tagsAdded: 1 });
    expect((await store.search({ text: 'tag:long' })).hits.map((h) => h.id).sort()).toEqual(['r1', 'r2', 'r3']);
    expect((await store.search({ text: 'long' })).total).toBe(3);
    const r1 = (await store.get('r1'))!;
    expect(r1.stages.tag?.status).toBe('done');
    expect(r1.categories.map((c) => c.name)).toContain('feature');
    expect((await retag(s, edited)).upToDate).toBe(4);
  });

  it('keeps a tag others added after tagging (carried), and only that', async () => {
    const setup = createTaggingSetup({ rulesText: rulesText(60) });
    await retag(store, setup);
    const r3 = (await store.get('r3'))!;
    expect(carriedTags(r3)).toEqual([]);
    await store.upsert({ ...r3, tags: [...r3.tags, { name: 'from-ytdlp', source: 'metadata', confidence: 0.7 }] });
    expect(carriedTags((await store.get('r3'))!).map((x) => x.name)).toEqual(['from-ytdlp']);
    await retag(store, createTaggingSetup({ rulesText: rulesText(500) }));
    const after = (await store.get('r3'))!;
    expect(after.tags.map((x) => x.name)).toContain('from-ytdlp');
    expect(after.tags.map((x) => x.name)).not.toContain('long');
    expect(carriedTags(after).map((x) => x.name)).toEqual(['from-ytdlp']);
    expect((await store.search({ text: 'tag:from-ytdlp' })).hits.map((h) => h.id)).toEqual(['r3']);
  });

  it('names the tags acquisition gave as tagging names tags, and keeps them as given in the carry state', async () => {
    const v = (await store.get('r3'))!;
    await store.upsert({ ...v, tags: [{ name: 'Beach Volleyball', source: 'metadata' }, { name: 'Dogs', source: 'metadata' }] }); // as yt-dlp gives them
    const setup = createTaggingSetup({ rulesText: 'rules:\n  - { name: sand, when: { tag: beach-volleyball }, add: [sand] }\n' });
    await retag(store, setup);
    const after = (await store.get('r3'))!;
    expect(after.tags.map((t) => t.name)).toEqual(expect.arrayContaining(['beach-volleyball', 'dogs', 'sand']));
    expect(after.tags.map((t) => t.name)).not.toContain('Beach Volleyball');
    expect(carriedTags(after).map((t) => t.name)).toEqual(['Beach Volleyball', 'Dogs']);
    expect((await store.search({ text: 'tag:beach-volleyball' })).hits.map((h) => h.id)).toEqual(['r3']);
    expect(await retag(store, setup)).toMatchObject({ upToDate: 4 });
    // acquired again (process --force acquire): the site's tags are the ones the record has, not new ones
    const again = mergeTagged(after, [{ name: 'Beach Volleyball', source: 'metadata' }], [{ name: 'entertainment', source: 'metadata' }]);
    expect(again.tags).toEqual(after.tags);
  });

  it('lets rules see and remove a category acquisition gave, and gives it back when the rule goes', async () => {
    const v = (await store.get('r3'))!;
    await store.upsert({ ...v, categories: [{ name: 'Entertainment', source: 'metadata' }] }); // yt-dlp's category
    const rules = (drop: boolean) =>
      createTaggingSetup({
        rulesText: `rules:\n  - { name: fun, when: { category: entertainment }, categories: [fun], add: [fun] }\n${drop ? '  - { name: drop, when: "duration > 0", removeCategories: [entertainment] }\n' : ''}`,
      });
    const cats = async () => (await store.get('r3'))!.categories.map((c) => `${c.name}/${c.source}`);
    await retag(store, rules(true));
    expect(await cats()).toEqual(['fun/rule']);
    expect((await store.get('r3'))!.tags.map((t) => t.name)).toContain('fun');
    expect(await retag(store, rules(true))).toMatchObject({ upToDate: 4 });
    await retag(store, rules(false));
    expect(await cats()).toEqual(['fun/rule', 'Entertainment/metadata']);
    expect(await retag(store, rules(false))).toMatchObject({ upToDate: 4 });
    await retag(store, rules(true), { force: true });
    expect(await cats()).toEqual(['fun/rule']);
  });

  it('reads tagging state written with NUL-joined keys, and as PostgreSQL kept them (NULs dropped)', async () => {
    await retag(store, createTaggingSetup({ rulesText: rulesText(60) }));
    const r3 = (await store.get('r3'))!;
    const state = r3.extra._tagging as { carried: unknown[]; produced: string[] };
    expect(state.produced.length).toBeGreaterThan(0);
    // PostgreSQL cannot store U+0000, so keys must not hold it
    expect(JSON.stringify(r3.extra)).not.toContain('\\u0000');
    const others = { name: 'from-ytdlp', source: 'metadata' as const, confidence: 0.7 };
    for (const form of [(k: string) => k.replace(/\u001f/g, '\u0000'), (k: string) => k.replace(/\u001f/g, '')]) {
      const old: Video = { ...r3, extra: { ...r3.extra, _tagging: { ...state, produced: state.produced.map(form) } } };
      // the tags as tagging left them: none are someone else's
      expect(carriedTags(old)).toEqual([]);
      // one added since by someone else: only that one is
      expect(carriedTags({ ...old, tags: [...old.tags, others] })).toEqual([others]);
    }
  });

  it('repairs the carry state PostgreSQL runs left when keys lost their separators: a rule edit removes tags again', async () => {
    await retag(store, createTaggingSetup({ rulesText: rulesText(60) }));
    const r3 = (await store.get('r3'))!;
    const state = r3.extra._tagging as { carried: Array<Record<string, unknown>>; produced: string[] };
    expect(r3.tags.map((x) => x.name)).toContain('long');
    const others = { name: 'from-ytdlp', source: 'metadata' as const };
    // what such a run stored: every tag carried (tagging's own among them), keys without separators
    const polluted: Video = { ...r3, tags: [...r3.tags, others], extra: { ...r3.extra, _tagging: { carried: [...r3.tags, others], produced: [...state.produced, 'from-ytdlpmetadata'].map((k) => k.replace(/\u001f/g, '')) } } };
    expect(carriedTags(polluted)).toEqual([others]);
    await store.upsert(polluted);
    await retag(store, createTaggingSetup({ rulesText: rulesText(500) }));
    const after = (await store.get('r3'))!;
    expect(after.tags.map((x) => x.name)).not.toContain('long');
    expect(after.tags.map((x) => x.name)).toContain('from-ytdlp');
    expect(carriedTags(after)).toEqual([others]);
  });

  it('writes nothing on a dry run', async () => {
    const s = counting(store);
    const summary = await retag(s, createTaggingSetup({ rulesText: rulesText(60) }), { dryRun: true });
    expect(summary.changed).toBe(4);
    expect(s.updated + s.upserted).toBe(0);
    expect((await store.search({ text: 'tag:long' })).total).toBe(0);
  });
});

describe('sameItems', () => {
  it('compares own fields whatever their order, ignoring undefined ones', () => {
    expect(sameItems([{ name: 'a', source: 'rule', confidence: 1 }], [{ source: 'rule', name: 'a', confidence: 1 }])).toBe(true);
    expect(sameItems([{ name: 'a', source: 'rule', rule: undefined }], [{ name: 'a', source: 'rule' }])).toBe(true);
    expect(sameItems([{ name: 'a', source: 'rule' }], [{ name: 'a', source: 'rule', confidence: 0.5 }])).toBe(false);
    expect(sameItems([{ name: 'a' }, { name: 'b' }], [{ name: 'b' }, { name: 'a' }])).toBe(false);
    expect(sameItems([{ name: 'a', x: { y: 1 } }], [{ name: 'a', x: { y: 1 } }])).toBe(true);
    expect(sameItems([{ name: 'a', x: { y: 1 } }], [{ name: 'a', x: { y: 2 } }])).toBe(false);
  });
});
