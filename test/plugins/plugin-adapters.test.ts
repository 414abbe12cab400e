import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { configWith, createLogger } from '../../src/core/index.js';
import { adaptPluginExporter, adaptPluginStage, adaptPluginTagger, PluginError, type VideodexPlugin } from '../../src/plugins/index.js';
import type { Stage, StageContext } from '../../src/workflow/index.js';
import { makeRecord } from '../tagging/records.js';

const plugin: VideodexPlugin = { name: 'demo', version: '2.0.0' };
const config = configWith();
const ctx = { config, logger: createLogger({ file: null, level: 'silent', secrets: [] }) } as unknown as StageContext;

/** A scene as videodex's own, at 25 fps. */
const scene = (index: number, startSec: number, endSec: number) => ({ index, startSec, endSec, startFrame: Math.round(startSec * 25), endFrame: Math.round(endSec * 25), transition: index ? 'cut' : 'start', score: 1 });

describe('plugin adapters', () => {
  it('credits returned tags to the plugin and remembers them in extra', async () => {
    const stage: Stage = { name: 's', version: '3', needs: ['probe'], resource: 'cpu', inputHash: () => 'h', run: async (v) => ({ extra: { ...v.extra, demo: { score: 1 } }, tags: ['shiny', { name: 'blurry', confidence: 0.4 }, { name: 'hd', confidence: 1 }] }) as never };
    const adapted = adaptPluginStage(plugin, stage);
    expect(adapted.version).toBe('3+demo@2.0.0');
    const v = makeRecord();
    v.tags = [{ name: 'hd', source: 'metadata', confidence: 1 }];
    const patch = await adapted.run(v, ctx);
    // a name another tagger gave is credited too: the tag stage keeps the strongest evidence
    const mine = [{ name: 'shiny', source: 'plugin', rule: 'demo' }, { name: 'blurry', source: 'plugin', rule: 'demo', confidence: 0.4 }, { name: 'hd', source: 'plugin', rule: 'demo', confidence: 1 }];
    expect(patch.tags).toEqual([{ name: 'hd', source: 'metadata', confidence: 1 }, ...mine]);
    expect(patch.extra!.demo).toEqual({ score: 1, tags: mine });
  });

  it('a stage run again replaces the tags it gave, on the record and in what tagging carries; names are tag names', async () => {
    let say: unknown[] = ['red'];
    const stage: Stage = { name: 's', version: '1', needs: [], resource: 'cpu', inputHash: () => 'h', run: async () => ({ tags: say }) as never };
    const adapted = adaptPluginStage(plugin, stage);
    const v = makeRecord();
    v.tags = [{ name: 'hd', source: 'metadata', confidence: 1 }];
    const first = { ...v, ...(await adapted.run(v, ctx)) } as typeof v;
    // the tag stage has since carried the plugin's tag over (as it carries what others give)
    first.extra = { ...first.extra, _tagging: { carried: [{ name: 'red', source: 'plugin', rule: 'demo' }, { name: 'vlog', source: 'metadata' }], produced: [] } };
    say = ['Blue Sky', '  ', 'RED!', { name: 'x', confidence: 7 }];
    const second = await adapted.run(first, ctx);
    expect(second.tags).toEqual([{ name: 'hd', source: 'metadata', confidence: 1 }, { name: 'blue-sky', source: 'plugin', rule: 'demo' }, { name: 'red', source: 'plugin', rule: 'demo' }, { name: 'x', source: 'plugin', rule: 'demo' }]);
    say = ['blue sky'];
    const third = await adapted.run({ ...first, ...second } as typeof v, ctx);
    expect(third.tags).toEqual([{ name: 'hd', source: 'metadata', confidence: 1 }, { name: 'blue-sky', source: 'plugin', rule: 'demo' }]);
    expect((third.extra!._tagging as { carried: unknown[] }).carried).toEqual([{ name: 'vlog', source: 'metadata' }]);
    say = ['a'.repeat(3000)];
    await expect(adapted.run(v, ctx)).rejects.toThrow(/plugin demo: stage: a tag name of 3000 characters \(at most 100\)/);
  });

  it('fails its stage for the video, naming the plugin and the field, on a patch the record cannot take (it was applied as given)', async () => {
    const returning = (patch: unknown) => adaptPluginStage(plugin, { name: 's', version: '1', needs: [], resource: 'cpu', inputHash: () => 'h', run: async () => patch as never });
    const v = makeRecord();
    const cases: Array<[unknown, RegExp]> = [
      [{ id: 'someone-else' }, /^plugin demo: stage s: returned a patch with "id", which videodex keeps and a stage may not change$/],
      [{ stages: {} }, /with "stages", which videodex keeps/],
      [{ updatedAt: 'x' }, /with "updatedAt", which videodex keeps/],
      [{ brightness: 0.2 }, /with "brightness", which is not a field of the record \(keep findings in extra\.<plugin name>\)/],
      [{ extra: 'dark' }, /whose "extra" is string, not what the record holds there/],
      [{ extra: null }, /whose "extra" is null/],
      [{ scenes: 3 }, /whose "scenes" is number/],
      [{ metadata: [] }, /whose "metadata" is a list/],
      [{ file: { bytes: 1 } }, /whose "file" is object/],
      [[{ tags: ['x'] }], /returned a list, not a patch object/],
      // scenes of another shape broke every later reader (scenes-csv export: "Cannot read properties of undefined")
      [{ scenes: [{ start: 0, end: 1.5 }] }, /whose scenes\[0\] has no index \(a whole number from 0\) \(a scene is \{ index, startSec/],
      [{ scenes: [scene(0, 0, 1), { ...scene(1, 1, 2), endSec: Number.NaN }] }, /whose scenes\[1\] has no endSec/],
      [{ scenes: [scene(0, 2, 1)] }, /whose scenes\[0\] ends before it starts/],
      [{ scenes: [{ ...scene(0, 0, 1), transition: undefined }] }, /scenes\[0\] has no transition/],
      [{ scenes: ['cut'] }, /scenes\[0\] is not an object/],
      [{ categories: [{ name: 'ok', source: 'plugin' }, 'sport'] }, /whose categories\[1\] has no name/],
    ];
    for (const [patch, message] of cases) {
      const err = await returning(patch).run(v, ctx).then(() => null, (e: unknown) => e);
      expect(err, JSON.stringify(patch)).toBeInstanceOf(PluginError);
      expect((err as Error).message, JSON.stringify(patch)).toMatch(message);
    }
    // what the record holds is taken: null metadata and ai, a field set to undefined (left as it is)
    await expect(returning({ metadata: null, ai: null, scenes: [], categories: [], contactSheet: undefined, extra: { demo: {} } }).run(v, ctx)).resolves.toBeTruthy();
    await expect(returning({ scenes: [scene(0, 0, 1.5), { ...scene(1, 1.5, 3), keyframe: '/k.jpg', description: 'sea' }], categories: [{ name: 'sport', source: 'plugin' }] }).run(v, ctx)).resolves.toBeTruthy();
  });

  it('turns a throw from inputHash or skipReason into a failure of run, not of the whole run', async () => {
    const stage: Stage = {
      name: 's', version: '1', needs: [], resource: 'cpu',
      inputHash: () => { throw new Error('hash broke'); },
      skipReason: () => null,
      run: async () => ({}),
    };
    const adapted = adaptPluginStage(plugin, stage);
    const v = makeRecord();
    expect(adapted.inputHash(v, config)).toBe('plugin-error');
    const err = await adapted.run(v, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe('plugin demo: stage s: inputHash: hash broke');
    await expect(adapted.run(v, ctx)).resolves.toEqual({});
  });

  it('checks tagger output and names the plugin when it throws', async () => {
    const good = adaptPluginTagger(plugin, { name: 't', tag: () => ['a', { name: 'b', confidence: 7 }] });
    expect(await good.tag(makeRecord(), ctx)).toEqual([
      { name: 'a', source: 'plugin', rule: 'demo/t' },
      { name: 'b', source: 'plugin', rule: 'demo/t' },
    ]);
    const bad = adaptPluginTagger(plugin, { name: 't', tag: () => 'nope' as never });
    await expect(bad.tag(makeRecord(), ctx)).rejects.toThrow('plugin demo: tagger t: returned string, not a list of tags');
    const throwing = adaptPluginTagger(plugin, { name: 't', tag: async () => { throw new Error('GPU gone'); } });
    await expect(throwing.tag(makeRecord(), ctx)).rejects.toThrow('plugin demo: tagger t: GPU gone');
  });
});

describe('plugin exporters', () => {
  async function* records(n: number) {
    for (let i = 0; i < n; i++) yield makeRecord();
  }
  const sink = () => new PassThrough().resume();

  it('count the records they took when they return no count (the CLI said "exported undefined record(s)")', async () => {
    const forgetful = adaptPluginExporter(plugin, { name: 'ids', write: (async (rs: AsyncIterable<unknown>) => { for await (const _ of rs) void _; }) as never });
    expect(await forgetful.write(records(3), sink(), ctx)).toBe(3);
    const early = adaptPluginExporter(plugin, { name: 'first', write: (async (rs: AsyncIterable<unknown>) => { for await (const _ of rs) return 'one'; }) as never });
    expect(await early.write(records(3), sink(), ctx)).toBe(1);
    const counted = adaptPluginExporter(plugin, { name: 'own', write: async () => 7 });
    expect(await counted.write(records(3), sink(), ctx)).toBe(7);
  });
});
