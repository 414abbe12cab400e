import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { SqliteStore, type TagStateRow, type VideoStore } from '../../src/store/index.js';
import { compileCondition, createTaggingSetup, originalPath, RuleSubject, RULE_FIELDS, ruleSubjectView } from '../../src/tagging/index.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from './records.js';
import { retagWith } from './retag-helpers.js';

const rules = (durationOver: number) =>
  createTaggingSetup({
    rulesText: `rules:\n  - { name: long, when: "duration > ${durationOver}", add: [long] }\n  - { name: beachy, when: { filename: "*beach*" }, add: [beachy], categories: [seaside] }\n`,
  });

function library(n: number): Video[] {
  return Array.from({ length: n }, (_, i) =>
    makeRecord({ id: `r${String(i).padStart(4, '0')}`, path: `/v/${i % 2 ? 'beach' : 'city'}_${i}.mp4`, metadata: { durationSec: i * 10 }, ...(i % 3 ? { ai: { description: 'waves on a beach' } } : {}) }),
  );
}

/** The store, counting the records its tag-state walk had to read. */
function counting(store: SqliteStore): { store: VideoStore; read: () => number } {
  let read = 0;
  const wrapped = Object.create(store) as SqliteStore;
  wrapped.iterateTagStates = async function* <T>(judge: (row: TagStateRow) => T | null, options?: Parameters<SqliteStore['iterateTagStates']>[1]) {
    for await (const visit of store.iterateTagStates(judge, options)) {
      if (visit.video) read++;
      yield visit;
    }
  };
  return { store: wrapped, read: () => read };
}

describe('retag by tag state (SQLite)', () => {
  let t: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  beforeEach(async () => {
    t = tempDir('tagstate-');
    store = new SqliteStore(path.join(t.dir, 'lib.db'));
    await store.migrate();
    await store.upsertMany(library(40));
  });
  afterEach(async () => {
    await store.close();
    t.cleanup();
  });

  it('reads no document of a record it checked before, and reads again one that anything else wrote since', async () => {
    const s0 = rules(100);
    const first = counting(store);
    expect(await retagWith(first.store, s0)).toMatchObject({ seen: 40, changed: 40 });
    expect(first.read()).toBe(40); // written by upsert: read, recomputed, and its tag state kept
    const again = counting(store);
    expect(await retagWith(again.store, s0)).toMatchObject({ seen: 40, upToDate: 40, changed: 0 });
    expect(again.read()).toBe(0);

    // a record re-pointed at another file by a full write (as `remove --missing` does): its tag state is gone
    const v = (await store.get('r0002'))!;
    expect(v.tags.map((x) => x.name)).not.toContain('beachy');
    await store.upsert({ ...v, source: { ...v.source, url: '/v/beach_2.mp4' }, file: { ...v.file, path: '/v/beach_2.mp4' } });
    const third = counting(store);
    expect(await retagWith(third.store, s0)).toMatchObject({ seen: 40, upToDate: 39, changed: 1 });
    expect(third.read()).toBe(1);
    expect((await store.get('r0002'))!.tags.map((x) => x.name)).toContain('beachy');
  });

  it('after a rule edit, reads only the records the edit may change', async () => {
    const s0 = rules(100);
    const s1 = rules(200); // changes records of 110..200 s: r0011..r0020
    await retagWith(store, s0);
    const edit = counting(store);
    const summary = await retagWith(edit.store, s1, [s0]);
    expect(summary).toMatchObject({ seen: 40, changed: 10, unaffected: 30 });
    expect(edit.read()).toBe(10);
    expect((await store.get('r0015'))!.tags.map((x) => x.name)).not.toContain('long');
    expect((await store.get('r0025'))!.tags.map((x) => x.name)).toContain('long');
    // the moved records are up to date with the edit, unread
    const after = counting(store);
    expect(await retagWith(after.store, s1)).toMatchObject({ upToDate: 40 });
    expect(after.read()).toBe(0);
  });

  /** The stages of each record as stored, by a walk that reads no document. */
  async function storedStages(): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for await (const _ of store.iterateTagStates((row) => (out.set(row.id, row.storedStages), 'seen'))) void _;
    return out;
  }

  it('moves stages only while they are as judged: not after a full write of the record, nor after another stage write', async () => {
    await retagWith(store, rules(100));
    const was = await storedStages();
    const v1 = (await store.get('r0001'))!;
    const v3 = (await store.get('r0003'))!;
    const v5 = (await store.get('r0005'))!;
    await store.upsert(v3); // a full write: the row and its tag state go
    const other = { ...v5.stages, tag: { ...v5.stages.tag!, at: 'later' } };
    await store.updateTags([], [{ id: 'r0005', stages: other, was: was.get('r0005')! }]); // the stages move once...
    const moved = (v: Video) => ({ ...v.stages, tag: { ...v.stages.tag!, inputHash: 'moved' } });
    await store.updateTags([], [
      { id: 'r0001', stages: moved(v1), was: was.get('r0001')! },
      { id: 'r0003', stages: moved(v3), was: was.get('r0003')! },
      { id: 'r0005', stages: moved(v5), was: was.get('r0005')! }, // ...so this move, judged on the first version, does not apply
    ]);
    expect((await store.get('r0001'))!.stages.tag!.inputHash).toBe('moved');
    expect((await store.get('r0003'))!.stages.tag!.inputHash).toBe(v3.stages.tag!.inputHash);
    expect((await store.get('r0005'))!.stages.tag!).toMatchObject({ inputHash: v5.stages.tag!.inputHash, at: 'later' });
  });

  it('a record written by another process while retag re-tagged it keeps that write, and is read again by the next retag', async () => {
    const s0 = rules(100);
    await retagWith(store, s0);
    const before = (await store.get('r0012'))!;
    await store.upsert({ ...before, metadata: { ...before.metadata!, durationSec: 50 } }); // no tag state: the next pass reads it
    const other = new SqliteStore(path.join(t.dir, 'lib.db'));
    // the other process writes the record after this retag read it, before its batch is written
    const racing = Object.create(store) as SqliteStore;
    racing.iterateTagStates = async function* <T>(judge: (row: TagStateRow) => T | null, options?: Parameters<SqliteStore['iterateTagStates']>[1]) {
      for await (const visit of store.iterateTagStates(judge, options)) {
        if (visit.video?.id === 'r0012') await other.upsert({ ...visit.video, ai: { ...visit.video.ai!, description: 'a cat on a sofa' }, metadata: { ...visit.video.metadata!, durationSec: 5 } });
        yield visit;
      }
    };
    expect(await retagWith(racing, s0)).toMatchObject({ changed: 1 });
    await other.close();
    const after = (await store.get('r0012'))!;
    expect(after.ai!.description).toBe('a cat on a sofa'); // the other write stands, whole
    expect(after.metadata!.durationSec).toBe(5);
    const next = counting(store);
    expect(await retagWith(next.store, s0)).toMatchObject({ changed: 1 }); // 5 s: no longer long
    expect(next.read()).toBe(1);
    expect((await store.get('r0012'))!.tags.map((x) => x.name)).not.toContain('long');
  });

  it('a record whose labels were changed by a full write is recomputed by the next rule edit, and its tag state comes back', async () => {
    const s0 = rules(100);
    await retagWith(store, s0);
    const v = (await store.get('r0001'))!;
    expect(v.categories.map((c) => c.name)).toEqual(['seaside']);
    await store.upsert({ ...v, categories: [] }); // labels changed outside tagging
    await store.upsert(await store.get('r0002').then((x) => x!)); // an unchanged record written whole
    const plain = counting(store);
    expect(await retagWith(plain.store, s0)).toMatchObject({ upToDate: 40 });
    expect(plain.read()).toBe(2);
    const again = counting(store);
    await retagWith(again.store, s0);
    expect(again.read()).toBe(1); // r0002 has its tag state back; r0001 keeps none: its labels are not tagging's
    const edit = counting(store);
    expect(await retagWith(edit.store, rules(200), [s0])).toMatchObject({ changed: 11 });
    expect((await store.get('r0001'))!.categories.map((c) => c.name)).toEqual(['seaside']);
  });

  it('does not wait for the write lock when asked not to: nothing is written and it says so', async () => {
    await retagWith(store, rules(100));
    const was = (await storedStages()).get('r0001')!;
    const v = (await store.get('r0001'))!;
    const other = new Database(path.join(t.dir, 'lib.db'));
    other.exec('BEGIN IMMEDIATE');
    const stages = { ...v.stages, tag: { ...v.stages.tag!, inputHash: 'later' } };
    try {
      expect(await store.updateTags([], [{ id: 'r0001', stages, was }], { wait: false })).toBe(false);
      expect((await store.get('r0001'))!.stages.tag!.inputHash).toBe(v.stages.tag!.inputHash);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await store.updateTags([], [{ id: 'r0001', stages, was }], { wait: false })).toBe(true);
    expect((await store.get('r0001'))!.stages.tag!.inputHash).toBe('later');
  });
});

describe('ruleSubjectView: what a rule edit is evaluated on without the record', () => {
  const records: Video[] = [
    makeRecord({ path: '/media/trips/Beach Day_2021-05-03.MP4', title: 'Summer', kind: 'ytdlp', url: 'https://example.com/watch?v=1', label: 'surfing', scenes: 3, ai: { description: 'Surfers ride the waves', category: 'sports', model: 'qwen' } }),
    makeRecord({ path: '/v/plain.webm', metadata: { durationSec: 3725, width: 3840, height: 2160, fps: 59.94, bitRate: 9e6, rotation: 90, frameCount: 223000, bitDepth: 10, pixelFormat: 'yuv420p10le', videoCodec: 'vp9', container: 'webm', audio: { codec: 'opus', channels: 6, sampleRate: 48000 } } }),
    makeRecord({ path: 'https://cdn.example.com/a/b/clip%20one.mp4', kind: 'http', metadata: null, ai: null }),
    { ...makeRecord({ path: '/v/x.mp4', scenes: 4 }), source: { url: '/v/x.mp4', kind: 'local', fetchedAt: 'now', uploader: 'me', list: { file: 'k.csv', label: 'riding bike', split: 'train', start: 1, end: 3 } } },
  ];
  for (const [i, v] of records.entries()) if (v.scenes.length > 1) v.scenes[1] = { ...v.scenes[1]!, description: `a scene with a dog ${i}` };

  it('gives every field the value the whole record gives', () => {
    for (const v of records) {
      const view = JSON.parse(JSON.stringify(ruleSubjectView(v))) as Video;
      for (const [name, spec] of Object.entries(RULE_FIELDS)) {
        if (name === 'tagCount') continue; // reads the tagging state: an edit of such a rule is never planned
        expect(spec.get(view, originalPath(view)), `${name} of ${v.file.path}`).toEqual(spec.get(v, originalPath(v)));
      }
    }
  });

  it('gives every condition that reads the record the answer the whole record gives', () => {
    const conditions: unknown[] = [
      { filename: '*beach*' }, { filename: { regex: '\\d{4}-\\d{2}' } }, { path: '**/trips/**' }, { path: { glob: 'https://**' } },
      { description: { any: ['wave', 'dog'] } }, { description: { regex: 'surf' } }, { source: 'ytdlp' }, { source: 'local' }, { label: 'surf*' }, { label: 'riding bike' },
      'scenes >= 3', 'title ~ summ', 'uploader == me', 'split == train', 'hasAi == true', 'aiCategory == sports', 'model == qwen', 'extension == webm',
    ];
    for (const c of conditions) {
      const p = compileCondition(c);
      for (const v of records) {
        const view = JSON.parse(JSON.stringify(ruleSubjectView(v))) as Video;
        expect(p(new RuleSubject(view, [], [])), `${JSON.stringify(c)} on ${v.file.path}`).toBe(p(new RuleSubject(v, [], [])));
      }
    }
  });
});
