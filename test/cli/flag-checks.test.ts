import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { runCliInProcess as cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

/** Flags that used to be dropped or cut without a word, on a small library. */
const t = tempDir('videodex-flags-');
const data = path.join(t.dir, 'data');
const meta = (width: number) => ({ durationSec: 5, container: 'mp4', bitRate: 1, width, height: 720, fps: 25, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} });

beforeAll(async () => {
  const store = new SqliteStore(path.join(data, 'videodex.db'));
  await store.migrate();
  await store.upsertMany([
    makeRecord({ id: 'ab12000000000001', metadata: meta(640) }),
    makeRecord({ id: 'ab12000000000002', metadata: meta(1280) }),
    makeRecord({ id: 'cd34000000000003', metadata: meta(1920) }),
    // clips cut from list rows: their files are in the media folder, their source is the original
    ...[1, 2].map((row) => {
      const v = makeRecord({ id: `ee5600000000000${row}`, metadata: meta(640) });
      return { ...v, source: { ...v.source, url: '/footage/match.mp4', list: { file: '/lists/k.csv', label: 'kick', row } }, file: { ...v.file, path: `${data}/media/clip-${row}.mp4` } };
    }),
    (() => {
      const v = makeRecord({ id: 'ff78000000000009', metadata: meta(640) });
      return { ...v, source: { ...v.source, url: 'https://example.com/one.mp4' }, file: { ...v.file, path: `${data}/media/one.mp4` } };
    })(),
  ]);
  await store.close();
});
afterAll(() => t.cleanup());

const ids = (stdout: string) => (JSON.parse(stdout).hits as Array<{ id: string }>).map((h) => h.id).sort();

describe('search flags', () => {
  it('--min-width narrows a --width range instead of replacing its minimum; above its maximum is an error', async () => {
    const r = await cli('search', '--width', '1000..2000', '--min-width', '100', '--json', '--data-dir', data);
    expect(ids(r.stdout)).toEqual(['ab12000000000002', 'cd34000000000003']);
    expect(ids((await cli('search', '--width', '..1300', '--min-width', '1000', '--json', '--data-dir', data)).stdout)).toEqual(['ab12000000000002']);
    const bad = await cli('search', '--width', '..300', '--min-width', '500', '--data-dir', data);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toBe("videodex: --min-width 500 is above the --width range's maximum 300: nothing could match\n");
  });

  it('--cursor with --offset is an error, not an offset dropped', async () => {
    const first = JSON.parse((await cli('search', '--limit', '1', '--json', '--data-dir', data)).stdout);
    const r = await cli('search', '--limit', '1', '--cursor', first.nextCursor, '--offset', '1', '--data-dir', data);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--cursor and --offset: give one/);
  });

  it('--limit above a page of 1000 is an error, as limit: is, not 1000 results', async () => {
    const r = await cli('search', '--limit', '1100', '--data-dir', data);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--limit 1100: a search page holds at most 1000/);
    expect(r.stdout).toBe('');
  });
});

describe('show', () => {
  it('a prefix shared by several ids is an error listing them; a unique one shows the video', async () => {
    const r = await cli('show', 'ab12', '--data-dir', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('videodex: ab12: 2 videos have ids starting so (ab12000000000001, ab12000000000002): give more of the id\n');
    expect(r.stdout).toBe('');
    const one = await cli('show', 'cd34', '--data-dir', data);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).id).toBe('cd34000000000003');
    // a prefix under 4 characters is not looked up: it said only "no such video", as for a wrong id
    const short = await cli('show', 'cd3', '--data-dir', data);
    expect(short.code).toBe(1);
    expect(short.stderr).toBe('videodex: cd3: no such video in the library (an id prefix needs 4 characters or more)\n');
  });

  it('finds a video by the file or URL it came from; several clips of one file are an error listing them', async () => {
    const url = await cli('show', 'https://example.com/one.mp4', '--data-dir', data);
    expect(url.code).toBe(0);
    expect(JSON.parse(url.stdout).id).toBe('ff78000000000009');
    const r = await cli('show', '/footage/match.mp4', '--data-dir', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('videodex: /footage/match.mp4: 2 videos came from it (ee56000000000001 (row 1), ee56000000000002 (row 2)): give one id\n');
    const none = await cli('show', '/footage/other.mp4', '--data-dir', data);
    expect(none.stderr).toBe('videodex: /footage/other.mp4: no such video in the library\n');
  });
});

describe('enqueue --force', () => {
  it('names an unknown stage before anything is queued, as process does', async () => {
    const r = await cli('enqueue', t.dir, '--force', 'probe, bogus', '--redis', 'redis://127.0.0.1:1', '--data-dir', data);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^videodex: --force bogus: no such stage; stages: all, acquire, probe/);
  });
});

describe('a flag value outside its key\'s range', () => {
  it('is said as the flag was typed, with the key it sets (it said "flag: [Section] Key = ..."), exit 3', async () => {
    const cases: Array<[string[], string]> = [
      [['process', t.dir, '--scene-threshold', '300'], '--scene-threshold "300" is not allowed: expected a number from 0 to 255, as for [SceneDetection] Threshold'],
      [['scenes', path.join(t.dir, 'x.mp4'), '--threshold', '300'], '--threshold "300" is not allowed: expected a number from 0 to 255, as for [SceneDetection] Threshold'],
      [['review', '--below', '2'], '--below "2" is not allowed: expected a number from 0 to 1, as for [Tagging] ReviewBelow'],
      [['serve', '--port', '99999'], '--port "99999" is not allowed: expected an integer from 0 to 65535, as for [Server] Port'],
      [['dataset', 'build', '-o', path.join(t.dir, 'ds'), '--concurrency', '300'], '--concurrency "300" is not allowed: expected an integer from 1 to 256, as for [Concurrency] Cpu'],
    ];
    for (const [args, line] of cases) {
      const r = await cli(...args, '--data-dir', data);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toBe(`videodex: ${line}\n`);
    }
  });
});
