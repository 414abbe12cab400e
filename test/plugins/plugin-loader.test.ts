import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configWith, createLogger } from '../../src/core/index.js';
import { loadPlugins, PLUGIN_API_VERSION, PluginError, validatePlugin } from '../../src/plugins/index.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { testApp, writePlugin } from './plugin-helpers.js';

const logger = createLogger({ file: null, level: 'silent', secrets: [] });
const config = configWith();

const GOOD = `
export default {
  name: 'frame-parity',
  version: '1.2.3',
  apiVersion: 1,
  stages: [{
    name: 'parity',
    version: '1',
    needs: ['probe'],
    resource: 'cpu',
    inputHash: (video) => video.file.sha256,
    async run(video) {
      if (video.file.path.includes('explode')) throw new Error('cannot count frames');
      const even = Math.round(video.metadata.fps * video.metadata.durationSec) % 2 === 0;
      return { extra: { ...video.extra, 'frame-parity': { even } }, tags: [even ? 'even-frames' : 'odd-frames'] };
    },
  }],
  taggers: [{
    name: 'size',
    tag(video) {
      if (video.file.path.includes('grumpy')) throw new TypeError('size tagger is grumpy');
      return [{ name: video.file.bytes > 1000 ? 'big-file' : 'small-file', confidence: 0.9 }];
    },
  }],
};
`;

describe('plugin loader', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir('videodex-plugins-')));
  afterAll(() => cleanup());

  it('loads a local ES module and an ESM-only npm package from node_modules', async () => {
    const file = writePlugin(path.join(dir, 'local'), 'good', GOOD);
    const pkg = path.join(dir, 'node_modules', '@acme', 'videodex-esm');
    mkdirSync(path.join(pkg, 'lib'), { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@acme/videodex-esm', type: 'module', exports: { '.': { import: './lib/main.js' } } }));
    writeFileSync(
      path.join(pkg, 'lib', 'main.js'),
      `export default async ({ apiVersion }) => ({ name: '@acme/videodex-esm', version: '0.1.0', apiVersion, exporters: [{ name: 'names', async write(records, out) { let n = 0; for await (const r of records) { out.write(r.id + '\\n'); n++; } return n; } }] });\n`,
    );
    const loaded = await loadPlugins(['./local/good.mjs', '@acme/videodex-esm'], { config, logger, cwd: dir });
    expect(loaded.map((l) => [l.plugin.name, l.plugin.version])).toEqual([
      ['frame-parity', '1.2.3'],
      ['@acme/videodex-esm', '0.1.0'],
    ]);
    expect(loaded[0]!.file).toBe(file);
    expect(loaded[1]!.plugin.apiVersion).toBe(PLUGIN_API_VERSION);
  });

  it('loads a plugin named by a file: URL, its escapes decoded (a folder with a space was "not found at .../my%20plugins/...")', async () => {
    const file = writePlugin(path.join(dir, 'my plugins'), 'good', GOOD);
    const loaded = await loadPlugins([pathToFileURL(file).href], { config, logger, cwd: dir });
    expect(pathToFileURL(file).href).toContain('my%20plugins');
    expect(loaded.map((l) => [l.plugin.name, l.file])).toEqual([['frame-parity', file]]);
  });

  it('refuses bad plugins before any work, naming them', async () => {
    const cases: Array<[string, RegExp]> = [
      [`export default { name: 'x', stages: [] }`, /plugin x: not a valid videodex plugin: version: a version \(semver string, e.g. 1.0.0\) is required/],
      [`export default { name: 'x', version: '1.0.0', apiVersion: ${PLUGIN_API_VERSION + 1} }`, /plugin x@1.0.0 needs plugin API 2, this videodex speaks 1: upgrade videodex/],
      [`export default { name: 'x', version: '1.0.0', apiVersion: 0 }`, /apiVersion/],
      [`export default { name: 'tag', version: '1.0.0' }`, /plugin tag: the name is reserved/],
      [`export default { name: 'x', version: '1.0.0', stages: [{ name: 'probe', version: '1', needs: [], resource: 'cpu', inputHash() {}, run() {} }] }`, /stage name probe is a videodex stage/],
      [`export default { name: 'x', version: '1.0.0', stages: [{ name: 's', version: '1', needs: [], resource: 'gpu', inputHash() {}, run() {} }] }`, /stages\[0\]\.resource/],
      [`export default { name: 'x', version: '1.0.0', taggers: [{ name: 't' }] }`, /taggers\[0\]\.tag: must be a function/],
      [`export const name = 'Bad Name'; export const version = '1.0.0';`, /a plugin name is lower-case/],
      [`throw new Error('boom at import')`, /\[Plugins\] Modules: .*cannot import .*boom at import/],
    ];
    let i = 0;
    for (const [body, re] of cases) {
      writePlugin(path.join(dir, 'bad'), `bad${i}`, body);
      await expect(loadPlugins([`./bad/bad${i}.mjs`], { config, logger, cwd: dir })).rejects.toThrow(re);
      await expect(loadPlugins([`./bad/bad${i}.mjs`], { config, logger, cwd: dir })).rejects.toBeInstanceOf(ConfigError);
      i++;
    }
    await expect(loadPlugins(['./nowhere.mjs'], { config, logger, cwd: dir })).rejects.toThrow(/\[Plugins\] Modules: \.\/nowhere\.mjs: not found at/);
    await expect(loadPlugins(['videodex-plugin-missing'], { config, logger, cwd: dir })).rejects.toThrow(/npm install videodex-plugin-missing/);
    writePlugin(path.join(dir, 'bad'), 'factory', `export default () => { throw new Error('no GPU'); }`);
    const err = await loadPlugins(['./bad/factory.mjs'], { config, logger, cwd: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe('plugin ./bad/factory.mjs: setup failed: no GPU');
    // --format picks one exporter by name: a built-in's name was never reached, a second of one name replaced the first
    const exporting = (name: string, ...exporters: string[]) => `export default { name: '${name}', version: '1.0.0', exporters: [${exporters.map((e) => `{ name: '${e}', write: async () => 0 }`).join(', ')}] };\n`;
    writePlugin(path.join(dir, 'bad'), 'csvx', exporting('csvx', 'csv'));
    await expect(loadPlugins(['./bad/csvx.mjs'], { config, logger, cwd: dir })).rejects.toThrow('plugin csvx: exporter name csv is a built-in export format; rename it');
    writePlugin(path.join(dir, 'bad'), 'ids-a', exporting('ids-a', 'ids'));
    writePlugin(path.join(dir, 'bad'), 'ids-b', exporting('ids-b', 'coco', 'ids'));
    await expect(loadPlugins(['./bad/ids-a.mjs', './bad/ids-b.mjs'], { config, logger, cwd: dir })).rejects.toThrow('plugin ids-b: exporter ids is also defined by plugin ids-a');
    writePlugin(path.join(dir, 'bad'), 'twice', exporting('twice', 'ids', 'ids'));
    await expect(loadPlugins(['./bad/twice.mjs'], { config, logger, cwd: dir })).rejects.toBeInstanceOf(ConfigError);
    writePlugin(path.join(dir, 'bad'), 'dup', GOOD);
    await expect(loadPlugins(['./local/good.mjs', './bad/dup.mjs'], { config, logger, cwd: dir })).rejects.toThrow(/a plugin named frame-parity is already loaded/);
  });

  it('validates a plugin object directly', () => {
    expect(() => validatePlugin(null, 'x')).toThrow(ConfigError);
    expect(validatePlugin({ name: 'ok', version: '1.0.0-beta.1' }, 'x').name).toBe('ok');
  });
});

describe('plugins in the pipeline', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir('videodex-plugin-run-')));
  afterAll(() => cleanup());

  it('adds a stage and a tagger; a throwing plugin fails only its stage for that video, naming the plugin', async () => {
    writePlugin(path.join(dir, 'plugins'), 'good', GOOD);
    const videos = path.join(dir, 'videos');
    mkdirSync(videos);
    await makeTestVideo(path.join(videos, 'fine.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 });
    await makeTestVideo(path.join(videos, 'explode.mp4'), { seconds: 1, width: 160, height: 120, fps: 10, source: 'testsrc' });
    await makeTestVideo(path.join(videos, 'grumpy.mp4'), { seconds: 1, width: 160, height: 120, fps: 10, source: 'smptebars' });
    const app = testApp(dir, { 'Plugins.Modules': './plugins/good.mjs' });
    try {
      await app.loadPlugins();
      expect(app.stages().map((s) => s.name)).toEqual(['probe', 'scenes', 'keyframes', 'describe', 'parity', 'tag', 'classify', 'index']);
      const summary = await app.process([videos]);
      expect(summary.inputs).toBe(3);
      const store = await app.store();
      const byName = new Map<string, import('../../src/core/index.js').Video>();
      for await (const v of store.iterate()) byName.set(path.basename(v.file.path), v);

      const fine = byName.get('fine.mp4')!;
      expect(fine.stages.parity).toMatchObject({ status: 'done', version: '1+frame-parity@1.2.3' });
      expect(fine.extra['frame-parity']).toMatchObject({ even: true, tags: [{ name: 'even-frames', source: 'plugin', rule: 'frame-parity' }] });
      expect(fine.tags).toEqual(expect.arrayContaining([
        { name: 'even-frames', source: 'plugin', rule: 'frame-parity' },
        { name: 'big-file', source: 'plugin', rule: 'frame-parity/size', confidence: 0.9 },
        expect.objectContaining({ name: 'fine', source: 'filename' }),
      ]));
      expect(fine.stages.tag!.status).toBe('done');

      const exploded = byName.get('explode.mp4')!;
      expect(exploded.stages.parity).toMatchObject({ status: 'failed', error: 'plugin frame-parity: stage parity: cannot count frames', errorCode: 'E_PLUGIN' });
      expect(exploded.stages.tag!.status).toBe('done');
      expect(exploded.stages.index!.status).toBe('done');

      const grumpy = byName.get('grumpy.mp4')!;
      expect(grumpy.stages.parity!.status).toBe('done');
      expect(grumpy.stages.tag).toMatchObject({ status: 'failed', error: 'plugin frame-parity: tagger size: size tagger is grumpy' });
      expect(summary.failures.map((f) => `${path.basename(f.input)}:${f.stage}`).sort()).toEqual(['explode.mp4:parity', 'grumpy.mp4:tag']);
    } finally {
      await app.close();
    }
  });

  it('a plugin stage run again replaces its tags (none left behind); its tag wins over a weaker one of the same name', async () => {
    writePlugin(
      path.join(dir, 'plugins'),
      'flip',
      `export default {
  name: 'flip', version: '1.0.0', apiVersion: 1,
  stages: [{
    name: 'flip', version: '1', needs: ['probe'], resource: 'cpu',
    inputHash: () => String(globalThis.__flip),
    async run(video) { return { tags: [{ name: globalThis.__flip, confidence: 0.9 }, 'Named Tag!', '  ', 'Dogs', 'dogs'] }; },
  }],
};
`,
    );
    const videos = path.join(dir, 'flips');
    mkdirSync(videos);
    // the file name gives the tag dark too, at a lower confidence
    await makeTestVideo(path.join(videos, 'dark_clip.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 });
    const app = testApp(dir, { 'Plugins.Modules': './plugins/flip.mjs', 'Paths.DataDir': path.join(dir, 'flip-data') });
    const g = globalThis as { __flip?: string };
    try {
      const seen: string[][] = [];
      for (const tag of ['red', 'blue', 'red', 'dark']) {
        g.__flip = tag;
        const summary = await app.process([videos]);
        expect(summary.failures).toEqual([]);
        const [video] = await (await app.store()).findByPath(path.join(videos, 'dark_clip.mp4'));
        seen.push(video!.tags.filter((t) => t.source === 'plugin').map((t) => t.name).sort());
        if (tag === 'dark') {
          expect(video!.tags.filter((t) => t.name === 'dark')).toEqual([{ name: 'dark', source: 'plugin', rule: 'flip', confidence: 0.9 }]);
          expect((video!.extra.flip as { tags: unknown[] }).tags).toHaveLength(3);
        }
      }
      expect(seen).toEqual([
        ['dogs', 'named-tag', 'red'],
        ['blue', 'dogs', 'named-tag'],
        ['dogs', 'named-tag', 'red'],
        ['dark', 'dogs', 'named-tag'],
      ]);
    } finally {
      delete g.__flip;
      await app.close();
    }
  });
});
