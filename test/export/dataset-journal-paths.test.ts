import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWith, findOnPath, type Video } from '../../src/core/index.js';
import { buildDataset, datasetOptions, readManifest } from '../../src/export/dataset/index.js';
import { tempDir, testFfmpeg } from '../helpers/media.js';
import { iterate, lifeScene, makeSceneVideo, sceneRecord } from '../helpers/scene-videos.js';

/**
 * The journal lists the clips a build made; a re-run deletes those no longer planned and moves the others. Its
 * paths were taken as they were: a journal edited in a shared folder to name `../notes.mp4`, or a path through a
 * folder that is a link to elsewhere, had the build delete that file.
 */
const t = tempDir('videodex-journal-paths-');
const deps = { ffmpeg: testFfmpeg(), ffprobe: findOnPath('ffprobe')! };
let record: Video;
afterAll(() => t.cleanup());
beforeAll(async () => {
  const file = path.join(t.dir, 'src.mp4');
  await makeSceneVideo(file, [lifeScene(20, 1), lifeScene(20, 2)], { width: 160, height: 120 });
  record = sceneRecord(file, [20, 20], { label: 'walk' });
});

const options = (out: string) => datasetOptions(configWith({ Dataset: { MinClipSec: 0.5 }, Concurrency: { Cpu: 1 } }), out, { labels: 'list', split: '1,0,0', shortSide: 64 });

describe('the dataset journal names only clips inside the dataset folder', () => {
  const cases: Array<[string, (out: string, elsewhere: string) => string, RegExp]> = [
    ['a path up and out of the folder', (_out, elsewhere) => path.relative(_out, path.join(elsewhere, 'victim.mp4')), /resolves outside/],
    ['an absolute path', (_out, elsewhere) => path.join(elsewhere, 'victim.mp4'), /is absolute/],
    [
      'a path through a folder that is a link to elsewhere',
      (out, elsewhere) => {
        symlinkSync(elsewhere, path.join(out, 'train', 'linked'));
        return 'train/linked/victim.mp4';
      },
      /goes through .*linked, a link to .*elsewhere/,
    ],
    ['a file of the build that is not a clip', () => 'dataset.json', /is not a clip \(\.mp4\)/],
  ];

  it.each(cases)('refuses %s, naming the journal and the path, and deletes nothing', async (what, place, why) => {
    const dir = path.join(t.dir, what.replace(/ /g, '-'));
    const out = path.join(dir, 'ds');
    const elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const victim = path.join(elsewhere, 'victim.mp4');
    writeFileSync(victim, 'not yours');
    const first = await buildDataset(iterate([record]), options(out), deps);
    expect(first.clips).toBe(2);

    const journal = path.join(out, '.videodex-dataset', 'journal.jsonl');
    const tampered = place(out, elsewhere);
    appendFileSync(journal, `${JSON.stringify({ id: 'gone', spec: 'x', path: tampered, bytes: 9, mode: 'encode', writtenStartSec: 0, durationSec: 1 })}\n`);
    const manifest = readFileSync(path.join(out, 'dataset.json'), 'utf8');

    const again = buildDataset(iterate([record]), options(out), deps);
    await again.catch(() => undefined);
    expect(readFileSync(victim, 'utf8')).toBe('not yours');
    await expect(again).rejects.toThrow(`dataset build: ${journal}: clip gone's path ${JSON.stringify(tampered)} `);
    await expect(again).rejects.toThrow(why);
    expect(readFileSync(path.join(out, 'dataset.json'), 'utf8')).toBe(manifest);
    expect(readManifest(out).clips.every((c) => existsSync(path.join(out, c.path)))).toBe(true);
  });
});

describe("the dataset manifest's list of files written", () => {
  it('deletes none through a folder that is a link to elsewhere (the rebuild removes files it no longer writes)', async () => {
    const dir = path.join(t.dir, 'manifest');
    const out = path.join(dir, 'ds');
    const elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const victim = path.join(elsewhere, 'victim.csv');
    writeFileSync(victim, 'not yours');
    await buildDataset(iterate([record]), options(out), deps);
    symlinkSync(elsewhere, path.join(out, 'linked'));
    const manifestFile = path.join(out, 'dataset.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    manifest.files.push('linked/victim.csv');
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const again = await buildDataset(iterate([record]), options(out), deps);
    expect(again.clips).toBe(2);
    expect(readFileSync(victim, 'utf8')).toBe('not yours');
  });
});

describe('removing the folders a rebuild emptied', () => {
  it('stops at the dataset folder: a sibling whose name begins with its name is not inside it', async () => {
    const { removeEmptyDirs } = await import('../../src/export/dataset/dataset-builder.js');
    const out = path.join(t.dir, 'ds');
    const sibling = path.join(t.dir, 'ds-old', 'train', 'run');
    const inside = path.join(out, 'train', 'run');
    mkdirSync(sibling, { recursive: true });
    mkdirSync(inside, { recursive: true });
    removeEmptyDirs(sibling, out);
    expect(existsSync(sibling)).toBe(true);
    removeEmptyDirs(inside, out);
    expect(existsSync(path.join(out, 'train'))).toBe(false);
    expect(existsSync(out)).toBe(true);
  });
});
