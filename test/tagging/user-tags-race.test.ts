/**
 * Hand tag edits (`videodex tag`) racing with `process` on every store: an edit made while `process` waits on the
 * model is neither undone by that run's next write nor left out of its tags, and an edit made over a copy read
 * before another writer stored a stage result keeps that result. Real videos (ffmpeg), the fake model server held
 * at a gate, and two Apps over one library, as two commands run side by side.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { loadConfig, type Video } from '../../src/core/index.js';
import { SqliteStore, type VideoStore } from '../../src/store/index.js';
import { MongoStore } from '../../src/store/mongodb/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { userTagEdits } from '../../src/tagging/index.js';
import { FakeVlmServer, type RecordedRequest } from '../helpers/fake-vlm-server.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { mingoCollections } from '../store/mingo-collection.js';

/** One library, opened afresh by each App (each command opens its own connection). */
interface Library {
  open(): VideoStore;
  cleanup(): Promise<void>;
}

const pgUrl = process.env.VIDEODEX_TEST_PG_URL;

const libraries: Array<[string, (dir: string) => Library]> = [
  ['sqlite', (dir) => ({ open: () => new SqliteStore(path.join(dir, 'library.db')), cleanup: async () => undefined })],
  [
    'mongodb (mingo)',
    () => {
      const collections = mingoCollections();
      return { open: () => new MongoStore(collections, 'cosmos', 'mongodb mingo'), cleanup: async () => undefined };
    },
  ],
  ...(pgUrl
    ? ([
        [
          'postgres',
          () => {
            const schema = `vdx_test_${randomBytes(4).toString('hex')}`;
            return {
              open: () => new PostgresStore({ url: pgUrl, schema, poolSize: 2 }),
              cleanup: async () => {
                const admin = new PostgresStore({ url: pgUrl, schema });
                await admin.dropSchema();
                await admin.close();
              },
            };
          },
        ],
      ] as Array<[string, (dir: string) => Library]>)
    : []),
];

/** The model's answers, in order, each held until the test lets it go. */
class GatedModel {
  private waiting: Array<() => void> = [];
  private arrivals: Array<(req: RecordedRequest) => void> = [];
  held = false;
  answer = { description: 'a beach at sunset', tags: ['sand'], category: 'travel', actions: [] as string[] };
  readonly server = new FakeVlmServer({
    beforeAnswer: async (req) => {
      this.arrivals.shift()?.(req);
      if (this.held) await new Promise<void>((r) => this.waiting.push(r));
    },
    defaultReply: () => ({ kind: 'text', text: JSON.stringify(this.answer) }),
  });
  /** Resolves when the next request reaches the model. */
  nextRequest(): Promise<RecordedRequest> {
    return new Promise((r) => this.arrivals.push(r));
  }
  release(): void {
    this.held = false;
    for (const go of this.waiting.splice(0)) go();
  }
}

describe.each(libraries)('hand tag edits racing with process: %s', (_name, makeLibrary) => {
  let t: ReturnType<typeof tempDir>;
  let library: Library;
  const model = new GatedModel();
  const apps: App[] = [];
  let clips: string;

  /** An App over the library, as one command would be. */
  const app = (wrap: (store: VideoStore) => VideoStore = (s) => s): App => {
    const a = new App(
      loadConfig({
        env: {},
        overrides: {
          'Paths.DataDir': path.join(t.dir, 'data'),
          // the configured library's checks look here; the library under test is given below
          'Database.Path': path.join(t.dir, 'library.db'),
          'Tagging.RulesFile': path.join(t.dir, 'rules.yaml'),
          'QwenVL.PublicEndpoint': `${model.server.url}/v1`,
          'QwenVL.Retries': 0,
          'QwenVL.Template': 'tags-json',
        },
      }),
      { logToFile: false },
    );
    const store = library.open();
    // the library under test in place of the configured one
    (a as unknown as { storePromise: Promise<VideoStore> }).storePromise = store.migrate().then(() => wrap(store));
    apps.push(a);
    return a;
  };
  const stored = async (): Promise<Video> => {
    const a = app();
    const store = await a.library();
    const found = await store.findByPath(path.join(clips, 'beachSunset.mp4'));
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const names = (v: Video) => v.tags.map((x) => x.name);

  beforeAll(async () => {
    t = tempDir('videodex-user-tags-race-');
    library = makeLibrary(t.dir);
    // an empty file is a new SQLite library, and for the others what the configured library's checks find
    writeFileSync(path.join(t.dir, 'library.db'), '');
    await model.server.start();
    clips = path.join(t.dir, 'clips');
    mkdirSync(clips);
    await makeTestVideo(path.join(clips, 'beachSunset.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 });
    writeFileSync(path.join(t.dir, 'rules.yaml'), 'rules:\n  - name: fav\n    when: { tag: favorite }\n    add: [keeper]\n');
    const first = await app().process([clips]);
    expect(first.failures).toEqual([]);
    expect(names(await stored())).toEqual(expect.arrayContaining(['beach', 'sunset', 'sand']));
  }, 60_000);
  afterAll(async () => {
    model.release();
    for (const a of apps) await a.close();
    await model.server.stop();
    await library?.cleanup();
    t?.cleanup();
  });

  it('an edit made while process waits on the model is kept by its writes and is in the tags it computes', async () => {
    model.held = true;
    model.answer = { description: 'a beach at sunset with a surfboard', tags: ['surfboard'], category: 'travel', actions: [] };
    const arrived = model.nextRequest();
    const running = app().process([clips], { force: ['describe'] });
    await arrived;
    // `process` holds its copy of the record in the describe stage: the person edits meanwhile
    const editor = app();
    const { video: edited } = await editor.editTags(await stored(), { add: ['Favorite'], remove: ['beach'] });
    expect(names(edited)).toEqual(expect.arrayContaining(['favorite', 'keeper']));
    model.release();
    const summary = await running;
    expect(summary.failures).toEqual([]);

    const v = await stored();
    expect(userTagEdits(v)).toEqual({ add: ['favorite'], remove: ['beach'] });
    // the model's new answer, with the edit applied over it (and a rule fired on the added tag)
    expect(v.ai?.description).toBe('a beach at sunset with a surfboard');
    expect(names(v)).toEqual(expect.arrayContaining(['favorite', 'keeper', 'surfboard', 'sunset']));
    expect(names(v)).not.toContain('beach');
    const store = await app().library();
    expect((await store.search({ text: 'tag:favorite' })).hits.map((h) => h.id)).toEqual([v.id]);
    expect((await store.search({ text: 'tag:surfboard tag:keeper' })).hits.map((h) => h.id)).toEqual([v.id]);
    expect((await store.search({ text: 'tag:beach' })).total).toBe(0);
  }, 60_000);

  it('an edit made after process tagged, before its next write, is in the tags process leaves', async () => {
    const startedAt = new Date().toISOString();
    const editor = app();
    let edited = false;
    // the person's edit lands right after the write of this run's tag stage, before the classify stage's write
    const running = app((inner) => {
      const store = Object.create(inner) as VideoStore;
      store.upsert = async (v, options) => {
        await inner.upsert(v, options);
        if (edited || (v.stages.tag?.at ?? '') < startedAt) return;
        edited = true;
        await editor.editTags(await stored(), { add: ['pier'], remove: ['sunset'] });
      };
      return store;
    });
    model.answer = { description: 'gulls over a beach', tags: ['gull'], category: 'nature', actions: [] };
    const ends: Array<{ stage: string; repeat: boolean }> = [];
    const summary = await running.process([clips], { force: ['describe'], onEvent: (e) => e.type === 'stage-end' && ends.push({ stage: e.stage, repeat: e.repeat === true }) });
    expect(summary.failures).toEqual([]);
    expect(edited).toBe(true);
    // tag ran again with the edit: its second end says so (progress bars count the input once)
    expect(ends.filter((e) => e.stage === 'tag').map((e) => e.repeat)).toEqual([false, true]);
    expect(ends.filter((e) => e.stage === 'probe').map((e) => e.repeat)).toEqual([false]);
    const v = await stored();
    expect(userTagEdits(v)).toEqual({ add: ['favorite', 'pier'], remove: ['beach', 'sunset'] });
    expect(names(v)).toEqual(expect.arrayContaining(['gull', 'pier', 'favorite', 'keeper']));
    expect(names(v)).not.toContain('sunset');
    expect(names(v)).not.toContain('beach');
    // its stage entries say it was tagged with these edits: the next retag finds nothing to do
    const again = await app().retag({});
    expect(again.failed).toEqual([]);
    expect(again.changed).toBe(0);
    expect(names(await stored())).toEqual(names(v));
  }, 60_000);

  it('an edit made over a copy read before another process stored a model answer keeps that answer', async () => {
    // what `videodex tag` read, before the other process wrote
    const read = await stored();
    model.answer = { description: 'a heron wading at dusk', tags: ['heron'], category: 'nature', actions: [] };
    const other = await app().process([clips], { force: ['describe'] });
    expect(other.failures).toEqual([]);
    const described = await stored();
    expect(described.ai?.description).toBe('a heron wading at dusk');

    await app().editTags(read, { add: ['late'] });
    const v = await stored();
    expect(v.ai?.description).toBe('a heron wading at dusk');
    expect(v.stages.describe).toEqual(described.stages.describe);
    expect(userTagEdits(v)).toEqual({ add: ['favorite', 'pier', 'late'], remove: ['beach', 'sunset'] });
    expect(names(v)).toEqual(expect.arrayContaining(['heron', 'late', 'favorite']));
    expect(names(v)).not.toContain('gull');
    expect(names(v)).not.toContain('beach');
  }, 60_000);
});
