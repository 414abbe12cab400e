import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JSDOM, VirtualConsole } from 'jsdom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { runTool } from '../../src/core/index.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';
import { startServe } from '../helpers/serve.js';

/**
 * The web page's own script, run in jsdom against a real `videodex serve` on 127.0.0.1: what a person sees
 * after typing a query, clicking a facet, making a mistake, or opening a shared link.
 */
const t = tempDir();
const data = path.join(t.dir, 'data');
const HOSTILE = '<img src=x onerror=window.pwned=1>';
let stop: (() => void) | undefined;
let base = '';
let ids: Record<string, string> = {};

beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'surfing_beach.mp4'), { seconds: 2, width: 320, height: 240, audio: true });
  await makeTestVideo(path.join(t.dir, 'city-night.mp4'), { seconds: 1, width: 640, height: 360, source: 'smptebars' });
  await makeTestVideo(path.join(t.dir, `${HOSTILE}.mp4`), { seconds: 1, width: 320, height: 240 });
  const r = await runCli(['process', t.dir, '--json', '--data-dir', data]);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId);
  ids = Object.fromEntries(results.map((x) => [path.basename(x.input), x.videoId]));
  // labels of a list become categories, written as the list has them: brackets and quotes included
  const list = path.join(t.dir, 'labels.csv');
  writeFileSync(list, `path,label\n"${path.join(t.dir, 'city-night.mp4')}",night(s)\n"${path.join(t.dir, 'surfing_beach.mp4')}","say ""cheese"""\n`);
  await runCli(['process', '-i', list, '--data-dir', data]);
  ({ base, stop } = await startServe(data));
});
afterAll(() => {
  stop?.();
  t.cleanup();
});

/** The page at `query` (e.g. "?q=beach"), its script running, `fetch` going to the test server. */
async function openPage(query: string, delayMs: (url: string) => number = () => 0, at = base): Promise<{ window: JSDOM['window']; errors: string[] }> {
  const html = await (await fetch(`${at}/`)).text();
  const errors: string[] = [];
  const virtualConsole = new VirtualConsole();
  // jsdom cannot play media; everything else the script reports is a failure.
  virtualConsole.on('jsdomError', (e) => {
    if (!/Not implemented: HTMLMediaElement/.test(e.message)) errors.push(e.message);
  });
  virtualConsole.on('error', (e) => errors.push(String(e)));
  const dom = new JSDOM(html, {
    url: `${at}/${query}`,
    runScripts: 'dangerously',
    pretendToBeVisual: true,
    virtualConsole,
    beforeParse(window) {
      (window as unknown as { fetch: typeof fetch }).fetch = async (input, init) => {
        const wait = delayMs(String(input));
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        return fetch(new URL(String(input), at), init);
      };
    },
  });
  return { window: dom.window, errors };
}

async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = (w: JSDOM['window'], id: string) => w.document.getElementById(id)!.textContent ?? '';

describe('the web page (its script in jsdom, against videodex serve)', () => {
  it('lists every video with its facets, and shows hostile names as text, never as markup', async () => {
    const { window, errors } = await openPage('');
    await until('the first results', () => text(window, 'status') === '3 videos');
    const cards = [...window.document.querySelectorAll('#results .card')];
    expect(cards).toHaveLength(3);
    const names = cards.map((c) => c.querySelector('.name')!.textContent);
    expect(names).toEqual(expect.arrayContaining(['surfing_beach.mp4', 'city-night.mp4', `${HOSTILE}.mp4`]));
    // The hostile name is text: no element came out of it and its handler never ran.
    expect(window.document.querySelector('img[onerror]')).toBeNull();
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
    // Cards with keyframes show them as thumbnails from the API.
    expect(cards.some((c) => /^\/api\/videos\/[0-9a-f]+\/keyframes\/\d+$/.test(c.querySelector('img')?.getAttribute('src') ?? ''))).toBe(true);
    const facetText = text(window, 'facets');
    expect(facetText).toContain('Codecs');
    expect(facetText).toContain('h264 (3)');
    expect(errors).toEqual([]);
  });

  it('marks the words a search matched in the snippet, as marks around text, the hostile name still text', async () => {
    const { window, errors } = await openPage('?q=img%20onerror');
    await until('the result', () => text(window, 'status') === '1 video');
    const hl = window.document.querySelector('#results .card .hl')!;
    expect([...hl.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['img', 'onerror']);
    expect(hl.textContent).toBe(`${HOSTILE}.mp4`.replace(/\s+/g, ' '));
    expect(window.document.querySelector('img[onerror]')).toBeNull();
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
    // the API gives the pieces beside the bracketed string
    const api = (await (await fetch(`${base}/api/search?q=beach`)).json()) as { hits: Array<{ highlight: string; snippet: Array<{ text: string; match: boolean }> }> };
    expect(api.hits[0]!.highlight).toBe('surfing_[beach].mp4');
    expect(api.hits[0]!.snippet).toEqual([{ text: 'surfing_', match: false }, { text: 'beach', match: true }, { text: '.mp4', match: false }]);
    expect(errors).toEqual([]);
  });

  it('a click on a facet adds it to the query and narrows the results; the address keeps the query', async () => {
    const { window, errors } = await openPage('');
    await until('the first results', () => text(window, 'status') === '3 videos');
    const beach = await until('the beach tag facet', () => [...window.document.querySelectorAll('#facets button')].find((b) => b.textContent === 'beach (1)'));
    (beach as unknown as { click: () => void }).click();
    await until('the narrowed results', () => text(window, 'status') === '1 video');
    expect((window.document.getElementById('q') as unknown as { value: string }).value).toBe('tag:beach');
    expect(window.document.querySelector('#results .card .name')!.textContent).toBe('surfing_beach.mp4');
    expect(new URL(window.location.href).searchParams.get('q')).toBe('tag:beach');
    expect(errors).toEqual([]);
  });

  it('a click on a facet whose name has brackets or quotes finds its videos (it searched for other words, or a name without its quotes)', async () => {
    const { window, errors } = await openPage('');
    await until('the first results', () => text(window, 'status') === '3 videos');
    for (const [name, file] of [['night(s)', 'city-night.mp4'], ['say "cheese"', 'surfing_beach.mp4']]) {
      const facet = await until(`the ${name} facet`, () => [...window.document.querySelectorAll('#facets button')].find((b) => b.textContent === `${name} (1)`));
      (facet as unknown as { click: () => void }).click();
      await until(`the videos of ${name}`, () => text(window, 'status') !== '3 videos' && text(window, 'status'));
      expect([text(window, 'status'), text(window, 'error')], name).toEqual(['1 video', '']);
      expect(window.document.querySelector('#results .card .name')!.textContent).toBe(file);
      // back to the whole library for the next one
      (window.document.getElementById('q') as unknown as { value: string }).value = '';
      window.document.getElementById('search')!.dispatchEvent(new window.Event('submit', { cancelable: true }));
      await until('the whole library again', () => text(window, 'status') === '3 videos');
    }
    expect(errors).toEqual([]);
  });

  it('a facet narrows the query its counts were made for: an OR query is put in parentheses first', async () => {
    const { window, errors } = await openPage(`?q=${encodeURIComponent('surfing OR city')}`);
    await until('the first results', () => text(window, 'status') === '2 videos');
    // typed but not searched: the facets still count 'surfing OR city'
    (window.document.getElementById('q') as unknown as { value: string }).value = 'something else';
    const night = await until('the night tag facet', () => [...window.document.querySelectorAll('#facets button')].find((b) => b.textContent === 'night (1)'));
    (night as unknown as { click: () => void }).click();
    await until('the narrowed results', () => text(window, 'status') === '1 video');
    expect((window.document.getElementById('q') as unknown as { value: string }).value).toBe('(surfing OR city) tag:night');
    expect(window.document.querySelector('#results .card .name')!.textContent).toBe('city-night.mp4');
    expect(errors).toEqual([]);
  });

  it('a query with a mistake shows the error with a caret under its column, and no stale results', async () => {
    const { window, errors } = await openPage('?q=surfing');
    await until('the first results', () => text(window, 'status') === '1 video');
    (window.document.getElementById('q') as unknown as { value: string }).value = 'surfing durtion:5';
    const form = window.document.getElementById('search')!;
    form.dispatchEvent(new window.Event('submit', { cancelable: true }));
    const error = await until('the error', () => text(window, 'error'));
    expect(error).toMatch(/unknown field 'durtion'/);
    const lines = error.split('\n');
    expect(lines[1]).toBe('surfing durtion:5');
    expect(lines[2]).toBe(' '.repeat(8) + '^');
    expect(window.document.querySelectorAll('#results .card')).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  it('a shared link (?v=id) opens the video with its scenes; closing it drops v from the address', async () => {
    const id = ids['surfing_beach.mp4']!;
    expect(id).toMatch(/^[0-9a-f]+$/);
    const { window, errors } = await openPage(`?q=beach&v=${id}`);
    const detail = window.document.getElementById('detail')!;
    await until('the detail panel', () => detail.style.display === 'flex');
    expect(text(window, 'd-title')).toBe('surfing_beach.mp4');
    expect(text(window, 'd-meta')).toMatch(/320×240 · 25 fps · h264 · aac/);
    expect(window.document.getElementById('player')!.getAttribute('src')).toBe(`/api/videos/${id}/file`);
    const scenes = window.document.querySelectorAll('#scenes .scene');
    expect(scenes.length).toBeGreaterThanOrEqual(1);
    expect(scenes[0]!.querySelector('img')!.getAttribute('src')).toBe(`/api/videos/${id}/keyframes/0`);
    // The video and keyframe the page points at are really served.
    expect((await fetch(`${base}/api/videos/${id}/keyframes/0`)).headers.get('content-type')).toMatch(/image\/jpeg/);
    expect((await fetch(`${base}/api/videos/${id}/file`, { headers: { range: 'bytes=0-99' } })).status).toBe(206);
    (detail.querySelector('.close') as unknown as { click: () => void }).click();
    expect(detail.style.display).toBe('none');
    // the closed panel's player lets go of its video (a paused player holds its download open)
    expect(window.document.getElementById('player')!.hasAttribute('src')).toBe(false);
    const url = new URL(window.location.href);
    expect(url.searchParams.get('v')).toBeNull();
    expect(url.searchParams.get('q')).toBe('beach');
    expect(errors).toEqual([]);
  });

  it('play from a scene of a video whose picture starts after its file (audio first) seeks the file to the scene, not the lead earlier', async () => {
    // red then blue, 2 s each; the picture starts 1.5 s into the file, after a sine that plays from 0
    const dir = path.join(t.dir, 'late');
    const lateData = path.join(t.dir, 'late-data');
    const colours = path.join(t.dir, 'late-src', 'colours.mp4');
    mkdirSync(path.dirname(colours), { recursive: true });
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=160x120:r=25:d=2', '-f', 'lavfi', '-i', 'color=c=blue:s=160x120:r=25:d=2', '-filter_complex', '[0:v][1:v]concat=n=2:v=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', colours]);
    mkdirSync(dir, { recursive: true });
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-itsoffset', '1.5', '-i', colours, '-f', 'lavfi', '-i', 'sine=d=5.5', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', path.join(dir, 'late.mp4')]);
    const r = await runCli(['process', dir, '--json', '--data-dir', lateData]);
    const id = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.type === 'result' && x.videoId)!.videoId as string;
    const served = await startServe(lateData);
    try {
      const record = (await (await fetch(`${served.base}/api/videos/${id}`)).json()) as { metadata: { videoStartSec?: number }; scenes: Array<{ startSec: number }> };
      expect(record.metadata.videoStartSec).toBeCloseTo(1.5, 1);
      expect(record.scenes.map((s) => s.startSec)).toEqual([0, 2]);
      const html = await (await fetch(`${served.base}/`)).text();
      const dom = new JSDOM(html, {
        url: `${served.base}/?v=${id}`,
        runScripts: 'dangerously',
        pretendToBeVisual: true,
        virtualConsole: new VirtualConsole(),
        beforeParse(window) {
          (window as unknown as { fetch: typeof fetch }).fetch = (input, init) => fetch(new URL(String(input), served.base), init);
          // jsdom cannot play media
          (window.HTMLMediaElement.prototype as unknown as { play: () => Promise<void> }).play = () => Promise.resolve();
        },
      });
      const scenes = await until('the scenes', () => { const all = dom.window.document.querySelectorAll('#scenes .scene'); return all.length === 2 && all; });
      const player = dom.window.document.getElementById('player') as unknown as { currentTime: number };
      (scenes[1] as unknown as { click: () => void }).click();
      expect(player.currentTime).toBeCloseTo(2 + record.metadata.videoStartSec!, 3);
      (scenes[0] as unknown as { click: () => void }).click();
      expect(player.currentTime).toBeCloseTo(record.metadata.videoStartSec!, 3);
      // the list shows the times the player's clock will show (3.5 s to 5.5 s)
      expect(scenes[1]!.textContent).toMatch(/^#1 0:03–0:05/);
    } finally {
      served.stop();
    }
  });

  it('a video opened from a failed record says which stage failed and why; one whose file is gone says so instead of a black player', async () => {
    const dir = path.join(t.dir, 'failing');
    const failData = path.join(t.dir, 'failing-data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'broken.mp4'), Buffer.alloc(5000, 0x17));
    await makeTestVideo(path.join(dir, 'gone.mp4'), { seconds: 1, width: 160, height: 120 });
    const r = await runCli(['process', dir, '--json', '--data-dir', failData]);
    const made = Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId).map((x) => [path.basename(x.input), x.videoId as string]));
    const served = await startServe(failData);
    try {
      const show = async (id: string) => {
        const html = await (await fetch(`${served.base}/`)).text();
        const errors: string[] = [];
        const virtualConsole = new VirtualConsole();
        virtualConsole.on('jsdomError', (e) => {
          if (!/Not implemented: HTMLMediaElement/.test(e.message)) errors.push(e.message);
        });
        const dom = new JSDOM(html, {
          url: `${served.base}/?v=${id}`,
          runScripts: 'dangerously',
          pretendToBeVisual: true,
          virtualConsole,
          beforeParse(window) {
            (window as unknown as { fetch: typeof fetch }).fetch = (input, init) => fetch(new URL(String(input), served.base), init);
          },
        });
        await until('the detail panel', () => dom.window.document.getElementById('detail')!.style.display === 'flex');
        return { window: dom.window, errors };
      };
      const broken = await show(made['broken.mp4']!);
      expect(text(broken.window, 'd-title')).toBe('broken.mp4');
      expect(text(broken.window, 'd-failed')).toMatch(/^probe failed: not a readable video: .+$/);
      expect(broken.errors).toEqual([]);

      const good = await show(made['gone.mp4']!);
      expect(text(good.window, 'd-failed')).toBe('');
      rmSync(path.join(dir, 'gone.mp4'));
      // what a browser's player does when the server answers its request with an error
      good.window.document.getElementById('player')!.dispatchEvent(new good.window.Event('error'));
      expect(await until('the reason', () => text(good.window, 'd-failed'))).toBe('the video cannot be played: the file is no longer on disk');
      expect(good.errors).toEqual([]);
    } finally {
      served.stop();
    }
  });

  it('shows the video clicked last, and keeps a closed panel closed, whatever order the answers come in', async () => {
    const slow = ids['surfing_beach.mp4']!;
    const { window, errors } = await openPage('', (url) => (url === `/api/videos/${slow}` ? 600 : 0));
    await until('the first results', () => text(window, 'status') === '3 videos');
    const card = (name: string) => [...window.document.querySelectorAll('#results .card')].find((c) => c.querySelector('.name')!.textContent === name) as unknown as { click: () => void };
    const detail = window.document.getElementById('detail')!;
    card('surfing_beach.mp4').click();
    card('city-night.mp4').click();
    await until('the second video', () => detail.style.display === 'flex' && text(window, 'd-title') === 'city-night.mp4');
    // the first video's answer comes after the second's: it must not replace it
    await new Promise((r) => setTimeout(r, 1000));
    expect(text(window, 'd-title')).toBe('city-night.mp4');
    expect(window.document.getElementById('player')!.getAttribute('src')).toBe(`/api/videos/${ids['city-night.mp4']}/file`);
    (detail.querySelector('.close') as unknown as { click: () => void }).click();
    // clicked, then closed before its answer came
    card('surfing_beach.mp4').click();
    (detail.querySelector('.close') as unknown as { click: () => void }).click();
    await new Promise((r) => setTimeout(r, 1000));
    expect(detail.style.display).toBe('none');
    expect(new URL(window.location.href).searchParams.get('v')).toBeNull();
    expect(errors).toEqual([]);
  });

  it('the video panel closes as a dialog does: Escape, or a click on the page around it, not a click inside it', async () => {
    const id = ids['city-night.mp4']!;
    const { window, errors } = await openPage(`?v=${id}`);
    const detail = window.document.getElementById('detail')!;
    const shown = () => detail.style.display === 'flex';
    await until('the panel', shown);
    window.document.dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(shown()).toBe(false);
    expect(new URL(window.location.href).searchParams.get('v')).toBeNull();
    const card = await until('a card', () => window.document.querySelector('#results .card'));
    (card as unknown as { click: () => void }).click();
    await until('the panel again', shown);
    (window.document.getElementById('d-title') as unknown as { click: () => void }).click();
    expect(shown()).toBe(true);
    (detail as unknown as { click: () => void }).click();
    expect(shown()).toBe(false);
    expect(window.document.getElementById('player')!.hasAttribute('src')).toBe(false);
    expect(errors).toEqual([]);
  });

  it('an empty library says how to fill it; a search that finds nothing still says 0 videos', async () => {
    const emptyData = path.join(t.dir, 'empty-data');
    expect((await runCli(['db', 'migrate', '--data-dir', emptyData])).code).toBe(0);
    const served = await startServe(emptyData);
    try {
      const html = await (await fetch(`${served.base}/`)).text();
      const dom = new JSDOM(html, {
        url: `${served.base}/`,
        runScripts: 'dangerously',
        pretendToBeVisual: true,
        virtualConsole: new VirtualConsole(),
        beforeParse(window) {
          (window as unknown as { fetch: typeof fetch }).fetch = (input, init) => fetch(new URL(String(input), served.base), init);
        },
      });
      expect(await until('the status', () => text(dom.window, 'status'))).toBe('No videos in the library yet: add some with videodex process <folder, file or URL>');
      (dom.window.document.getElementById('q') as unknown as { value: string }).value = 'beach';
      dom.window.document.getElementById('search')!.dispatchEvent(new dom.window.Event('submit', { cancelable: true }));
      await until('the answer to beach', () => text(dom.window, 'status') === '0 videos');
      expect(text(dom.window, 'error')).toBe('');
    } finally {
      served.stop();
    }
  });

  it('Back returns to the search before, Forward to the one after (each search replaced the one before in the history)', async () => {
    const { window, errors } = await openPage('?q=surfing');
    const names = () => [...window.document.querySelectorAll('#results .card .name')].map((c) => c.textContent).join(',');
    const box = window.document.getElementById('q') as unknown as { value: string };
    await until('the first results', () => names() === 'surfing_beach.mp4');
    const length = window.history.length;
    box.value = 'city';
    window.document.getElementById('search')!.dispatchEvent(new window.Event('submit', { cancelable: true }));
    await until('the city results', () => names() === 'city-night.mp4');
    expect(new URL(window.location.href).searchParams.get('q')).toBe('city');
    expect(window.history.length).toBe(length + 1);
    window.history.back();
    await until('the surfing results again', () => names() === 'surfing_beach.mp4' && box.value === 'surfing');
    expect(new URL(window.location.href).searchParams.get('q')).toBe('surfing');
    window.history.forward();
    await until('the city results again', () => names() === 'city-night.mp4' && box.value === 'city');
    // the same search again is no new entry
    window.document.getElementById('search')!.dispatchEvent(new window.Event('submit', { cancelable: true }));
    await new Promise((r) => setTimeout(r, 300));
    expect(window.history.length).toBe(length + 1);
    expect(errors).toEqual([]);
  });

  it('a keyframe serve refuses (its file gone) leaves a grey box on the card and in the scenes, not a broken image', async () => {
    const id = ids['city-night.mp4']!;
    const { window, errors } = await openPage(`?q=city&v=${id}`);
    const detail = window.document.getElementById('detail')!;
    await until('the panel', () => detail.style.display === 'flex' && window.document.querySelector('#scenes .scene img'));
    const thumb = await until('the card', () => window.document.querySelector('#results .card img'));
    // what a browser does when the keyframe's answer is a 404 (jsdom loads no images)
    thumb.dispatchEvent(new window.Event('error'));
    window.document.querySelector('#scenes .scene img')!.dispatchEvent(new window.Event('error'));
    expect(window.document.querySelector('#results .card img')).toBeNull();
    expect(window.document.querySelector('#results .card > .noimg')).not.toBeNull();
    expect(window.document.querySelector('#scenes .scene img')).toBeNull();
    expect(window.document.querySelector('#scenes .scene > .noframe')).not.toBeNull();
    expect(errors).toEqual([]);
  });

  it('opens a video and plays from a scene from the keyboard: cards and scenes are buttons (Tab, then Enter or Space)', async () => {
    const { window, errors } = await openPage('?q=surfing');
    (window.HTMLMediaElement.prototype as unknown as { play: () => Promise<void> }).play = () => Promise.resolve();
    const card = await until('the card', () => window.document.querySelector('#results .card'));
    expect([card.getAttribute('tabindex'), card.getAttribute('role')]).toEqual(['0', 'button']);
    const detail = window.document.getElementById('detail')!;
    card.dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    await until('the panel', () => detail.style.display === 'flex' && window.document.querySelector('#scenes .scene'));
    expect(text(window, 'd-title')).toBe('surfing_beach.mp4');
    const scene = window.document.querySelector('#scenes .scene')!;
    expect([scene.getAttribute('tabindex'), scene.getAttribute('role')]).toEqual(['0', 'button']);
    const player = window.document.getElementById('player') as unknown as { currentTime: number };
    player.currentTime = 1.5;
    const space = new window.KeyboardEvent('keydown', { key: ' ', bubbles: true, cancelable: true });
    scene.dispatchEvent(space);
    expect(player.currentTime).toBe(0);
    // the page does not scroll on Space as well
    expect(space.defaultPrevented).toBe(true);
    expect(errors).toEqual([]);
  });

  it('a link to a video that is not in the library says so', async () => {
    const { window } = await openPage('?v=ffffffffffffffff');
    const error = await until('the error', () => text(window, 'error'));
    expect(error).toMatch(/^video ffffffffffffffff: /);
    expect(window.document.getElementById('detail')!.style.display).not.toBe('flex');
  });

  it('a limit: in the box sets the page size; More continues the query on screen, not what the box holds now', async () => {
    const { window, errors } = await openPage('?q=limit:1');
    await until('the first page', () => text(window, 'status') === '3 videos');
    const cards = () => [...window.document.querySelectorAll('#results .card .name')].map((c) => c.textContent);
    expect(cards()).toHaveLength(1);
    const more = window.document.getElementById('more') as unknown as { hidden: boolean; click: () => void };
    expect(more.hidden).toBe(false);
    // typed but not searched: More must not send this text with the other query's cursor
    (window.document.getElementById('q') as unknown as { value: string }).value = 'surfing';
    more.click();
    await until('the second page', () => cards().length === 2);
    more.click();
    await until('the third page', () => cards().length === 3);
    expect(new Set(cards()).size).toBe(3);
    expect(more.hidden).toBe(true);
    expect(text(window, 'error')).toBe('');
    expect(errors).toEqual([]);
  });

  it('says what the server answered to a query too long for a request line (431, a JSON error since serve answers those too)', async () => {
    const { window, errors } = await openPage('');
    await until('the first results', () => text(window, 'status') === '3 videos');
    (window.document.getElementById('q') as unknown as { value: string }).value = '日'.repeat(2000);
    window.document.getElementById('search')!.dispatchEvent(new window.Event('submit', { cancelable: true }));
    expect(await until('the error', () => text(window, 'error'))).toBe('the request line and headers are over 16 kB');
    expect(window.document.querySelectorAll('#results .card')).toHaveLength(0);
    expect(errors).toEqual([]);
  });
});

describe('the web page: editing a video\'s tags in its panel', () => {
  // a library of its own: the edits must not change the tags and facets the tests above count
  const editData = path.join(t.dir, 'edit-data');
  let editBase = '';
  let stopEdits: (() => void) | undefined;
  let id = '';
  let brokenId = '';
  beforeAll(async () => {
    const dir = path.join(t.dir, 'edit-src');
    mkdirSync(dir, { recursive: true });
    await makeTestVideo(path.join(dir, 'surfing_beach.mp4'), { seconds: 1, width: 320, height: 240 });
    writeFileSync(path.join(dir, 'broken.mp4'), Buffer.alloc(5000, 0x17));
    const r = await runCli(['process', dir, '--json', '--data-dir', editData]);
    const made = Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId).map((x) => [path.basename(x.input), x.videoId as string]));
    id = made['surfing_beach.mp4']!;
    brokenId = made['broken.mp4']!;
    ({ base: editBase, stop: stopEdits } = await startServe(editData));
  });
  afterAll(() => stopEdits?.());

  type Win = JSDOM['window'];
  const chips = (w: Win) => [...w.document.querySelectorAll('#d-tags .tag')];
  const chip = (w: Win, name: string) => chips(w).find((c) => c.firstElementChild?.textContent === name);
  const record = async (at = editBase) => (await (await fetch(`${at}/api/videos/${id}`)).json()) as { tags: Array<{ name: string; source: string }> };
  const addTags = (w: Win, value: string) => {
    (w.document.getElementById('d-newtag') as unknown as { value: string }).value = value;
    w.document.getElementById('d-tagform')!.dispatchEvent(new w.Event('submit', { cancelable: true }));
  };

  it('removes a tag with its button, adds tags from the box (comma-separated), marks them as the person\'s, and updates the card', async () => {
    const { window, errors } = await openPage(`?q=surfing&v=${id}`, () => 0, editBase);
    await until('the panel', () => window.document.getElementById('detail')!.style.display === 'flex' && chip(window, 'beach'));
    await until('the card', () => window.document.querySelector('#results .card .tags'));
    expect((window.document.getElementById('d-tagform') as unknown as { hidden: boolean }).hidden).toBe(false);
    // a button each, reached by Tab and pressed by Enter or Space as any button is
    const remove = chip(window, 'beach')!.querySelector('button')!;
    expect([remove.tagName, remove.getAttribute('type'), remove.getAttribute('aria-label'), remove.getAttribute('tabindex')]).toEqual(['BUTTON', 'button', 'Remove tag beach', null]);
    expect(chips(window).every((c) => c.querySelector('button.remove'))).toBe(true);
    expect(chip(window, 'beach')!.classList.contains('mine')).toBe(false);

    const at = chips(window).indexOf(chip(window, 'beach')!);
    remove.focus();
    remove.click();
    await until('beach gone', () => !chip(window, 'beach'));
    // the focus stays in the tags, on the remove button now at that place
    expect(window.document.activeElement).toBe(chips(window)[at]!.querySelector('button.remove'));
    expect(text(window, 'd-removed')).toBe('removed by you: beach');
    expect((await record()).tags.map((x) => x.name)).not.toContain('beach');
    // the facets count the tags as they are now: they counted beach before the edit
    const facetNames = () => [...window.document.querySelectorAll('#facets button')].map((b) => b.textContent);
    await until('the beach facet gone', () => !facetNames().includes('beach (1)') && facetNames().length > 0);

    addTags(window, ' Golden Hour , dogs,, ');
    await until('the added tags', () => chip(window, 'golden-hour') && chip(window, 'dogs'));
    for (const name of ['golden-hour', 'dogs']) {
      expect(chip(window, name)!.classList.contains('mine'), name).toBe(true);
      expect(chip(window, name)!.textContent, name).toBe(`${name}yours×`);
    }
    expect((window.document.getElementById('d-newtag') as unknown as { value: string }).value).toBe('');
    expect((await record()).tags.filter((x) => x.source === 'user').map((x) => x.name)).toEqual(['golden-hour', 'dogs']);
    await until('the added tags\' facets', () => facetNames().includes('golden-hour (1)') && facetNames().includes('dogs (1)'));
    expect(text(window, 'status')).toBe('1 video');
    // the card lists the first tags as they are now: beach gone from it
    expect(window.document.querySelector('#results .card .tags')!.textContent).toBe((await record()).tags.slice(0, 8).map((x) => x.name).join(', '));
    expect(window.document.querySelector('#results .card .tags')!.textContent).not.toMatch(/beach/);

    // the person's own tag taken away again
    chip(window, 'dogs')!.querySelector('button')!.click();
    await until('dogs gone', () => !chip(window, 'dogs'));
    expect(text(window, 'd-tagerror')).toBe('');
    expect(errors).toEqual([]);
  });

  it('shows what the server says when it refuses an edit in the panel, and keeps what was typed', async () => {
    const { window, errors } = await openPage(`?v=${id}`, () => 0, editBase);
    await until('the panel', () => window.document.getElementById('detail')!.style.display === 'flex' && chips(window).length);
    const before = chips(window).map((c) => c.textContent);
    addTags(window, 'sunset, !!!');
    expect(await until('the error', () => text(window, 'd-tagerror'))).toBe('tags not changed: "!!!" is no tag name: it needs a letter or a digit');
    expect((window.document.getElementById('d-newtag') as unknown as { value: string }).value).toBe('sunset, !!!');
    expect(chips(window).map((c) => c.textContent)).toEqual(before);
    expect(errors).toEqual([]);
  });

  it('says the edits of a video whose probe failed are kept for when it is processed (nothing seemed to happen)', async () => {
    expect(brokenId).toMatch(/^[0-9a-f]+$/);
    const { window, errors } = await openPage(`?v=${brokenId}`, () => 0, editBase);
    await until('the panel', () => window.document.getElementById('detail')!.style.display === 'flex');
    addTags(window, 'keep-me');
    expect(await until('the note', () => text(window, 'd-tagerror'))).toBe('edits kept: its probe failed, so it is not tagged; they apply once it is processed');
    expect(errors).toEqual([]);
  });

  it('shows the tags without controls when the server refuses edits (listening beyond loopback)', async () => {
    const open = await startServe(editData, ['--host', '0.0.0.0']);
    try {
      const at = `http://127.0.0.1:${new URL(open.base).port}`;
      const { window, errors } = await openPage(`?v=${id}`, () => 0, at);
      await until('the panel', () => window.document.getElementById('detail')!.style.display === 'flex' && chips(window).length);
      expect(chips(window).length).toBe((await record(at)).tags.length);
      expect(window.document.querySelector('#d-tags button')).toBeNull();
      expect((window.document.getElementById('d-tagform') as unknown as { hidden: boolean }).hidden).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      open.stop();
      await open.exited;
    }
  });
});
