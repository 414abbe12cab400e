import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { startServe } from '../helpers/serve.js';
import { editsAllowed, sameOrigin } from '../../src/server/index.js';

/** `POST /api/videos/:id/tags` against a real `videodex serve` on a real SQLite library. */
const t = tempDir();
const data = path.join(t.dir, 'data');
let stop: (() => void) | undefined;
let base = '';
let ids: Record<string, string> = {};

interface Record_ {
  id: string;
  tags: Array<{ name: string; source: string }>;
  extra?: { _userTags?: { add: string[]; remove: string[] } };
}

beforeAll(async () => {
  await makeTestVideo(path.join(t.dir, 'surfing_beach.mp4'), { seconds: 1, width: 320, height: 240 });
  await makeTestVideo(path.join(t.dir, 'city-night.mp4'), { seconds: 1, width: 320, height: 240, source: 'smptebars' });
  const r = await runCli(['process', t.dir, '--json', '--data-dir', data]);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'result' && x.videoId);
  ids = Object.fromEntries(results.map((x) => [path.basename(x.input), x.videoId]));
  ({ base, stop } = await startServe(data));
});
afterAll(() => {
  stop?.();
  t.cleanup();
});

const post = (at: string, id: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${at}/api/videos/${id}/tags`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const get = async (id: string) => (await (await fetch(`${base}/api/videos/${id}`)).json()) as Record_;
const names = (v: Record_) => v.tags.map((x) => x.name);
const found = async (q: string) => ((await (await fetch(`${base}/api/search?q=${encodeURIComponent(q)}`)).json()).hits as Array<{ id: string; tags: string[] }>).map((h) => h.id);

describe('serve: editing a video\'s tags (POST /api/videos/:id/tags)', () => {
  it('adds, removes and clears; answers the record as GET /api/videos/:id does, and search finds the tags as edited', async () => {
    const id = ids['surfing_beach.mp4']!;
    expect(names(await get(id))).toContain('beach');
    expect(await found('tag:beach')).toEqual([id]);

    const res = await post(base, id, { add: ['Sunset Walk', 'dogs'], remove: ['beach'] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const edited = (await res.json()) as Record_;
    expect(edited).toEqual(await get(id));
    expect(names(edited)).not.toContain('beach');
    expect(edited.tags.filter((x) => x.source === 'user').map((x) => x.name)).toEqual(['sunset-walk', 'dogs']);
    expect(edited.extra?._userTags).toEqual({ add: ['sunset-walk', 'dogs'], remove: ['beach'] });
    expect(await found('tag:sunset-walk')).toEqual([id]);
    expect(await found('tag:beach')).toEqual([]);

    // an edit on top of the earlier ones: a removed name added back is the person's, no longer removed
    const again = (await (await post(base, id, { add: ['beach'], remove: ['dogs'] })).json()) as Record_;
    expect(again.extra?._userTags).toEqual({ add: ['sunset-walk', 'beach'], remove: ['dogs'] });
    expect(again.tags.find((x) => x.name === 'beach')?.source).toBe('user');
    expect(await found('tag:dogs')).toEqual([]);

    // clear forgets every hand edit: what tagging computes comes back
    const cleared = (await (await post(base, id, { clear: true })).json()) as Record_;
    expect(cleared.extra?._userTags).toBeUndefined();
    expect(cleared.tags.find((x) => x.name === 'beach')?.source).toBe('filename');
    expect(names(cleared)).not.toContain('sunset-walk');
    expect(await found('tag:beach')).toEqual([id]);
    expect(await found('tag:sunset-walk')).toEqual([]);
  });

  it('answers an unknown id 404 and a bad body 400 naming the field, as JSON in one line, and changes nothing', async () => {
    const id = ids['surfing_beach.mp4']!;
    const before = await get(id);
    const unknown = await post(base, '0123456789abcdef', { add: ['x'] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'no such video' });
    const cases: Array<[unknown, RegExp]> = [
      ['{"add": [', /^the body is not valid JSON \(/],
      [['beach'], /^the body must be a JSON object/],
      [{ add: ['x'], tags: ['y'] }, /^unknown field 'tags': the body takes add, remove and clear$/],
      [{ add: 'beach' }, /^add must be a list of tag names/],
      [{ remove: [1] }, /^remove must be a list of tag names/],
      [{ clear: 'yes' }, /^clear must be true or false$/],
      [{}, /^nothing to edit: give add, remove/],
      [{ add: [] }, /^nothing to edit/],
      // editTags' own messages, as `videodex tag` says them
      [{ add: ['!!!'] }, /^"!!!" is no tag name: it needs a letter or a digit$/],
      [{ add: ['Dogs'], remove: ['dogs'] }, /^dogs: both added and removed$/],
    ];
    for (const [body, error] of cases) {
      const res = await post(base, id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const answer = (await res.json()) as { error: string };
      expect(answer.error, JSON.stringify(body)).toMatch(error);
      expect(answer.error).not.toContain('\n');
    }
    expect(await get(id)).toEqual(before);
  });

  it('takes only JSON (a form or text/plain POST from another site is refused: 415) and answers GET with 405 Allow: POST', async () => {
    const id = ids['surfing_beach.mp4']!;
    const before = await get(id);
    for (const [type, body] of [['text/plain', '{"add":["pwned"]}'], ['application/x-www-form-urlencoded', 'add=pwned'], ['multipart/form-data; boundary=x', '--x--']] as const) {
      const res = await post(base, id, body, { 'content-type': type });
      expect(res.status, type).toBe(415);
      expect((await res.json()).error).toBe(`the body must be JSON sent as Content-Type: application/json, not ${type.split(';')[0]}`);
    }
    // no type at all: raw, since fetch gives a string body text/plain
    const untyped = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/api/videos/${id}/tags`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"add":["pwned"]}');
    });
    expect(untyped).toBe(415);
    // refused unread, a big body does not break the next request on the same connection
    const huge = await post(base, id, { add: Array.from({ length: 20_000 }, (_, i) => `tag${i}`) });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error).toBe('the body is over 64 kB: a tag edit is a few names');
    expect((await post(base, id, 'x'.repeat(300_000), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(base, id, 'x'.repeat(300_000), { 'content-type': 'application/json', origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(base, id, { add: ['charset'] }, { 'content-type': 'Application/JSON; charset=utf-8' })).status).toBe(200);
    await post(base, id, { clear: true });
    expect(names(await get(id))).toEqual(names(before));
    const getIt = await fetch(`${base}/api/videos/${id}/tags`);
    expect(getIt.status).toBe(405);
    expect(getIt.headers.get('allow')).toBe('POST');
  });

  it('refuses a request whose Origin is not this server (403); its own page\'s origin is taken', async () => {
    const id = ids['surfing_beach.mp4']!;
    const { port } = new URL(base);
    for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null', `http://127.0.0.1:${Number(port) + 1}`, `https://localhost:${port}`]) {
      const res = await post(base, id, { add: ['pwned'] }, { 'content-type': 'application/json', origin });
      expect(res.status, origin).toBe(403);
      expect((await res.json()).error, origin).toBe(`tag edits are taken only from this server's own page, not from ${origin}`);
    }
    expect(names(await get(id))).not.toContain('pwned');
    const own = await post(base, id, { add: ['mine'] }, { 'content-type': 'application/json', origin: base });
    expect(own.status).toBe(200);
    expect(names((await own.json()) as Record_)).toContain('mine');
    await post(base, id, { clear: true });
  });
});

describe('serve: tag edits beyond loopback', () => {
  it('are refused by default (403 saying how to allow them, health says so) and taken with [Server] AllowEdits = true', async () => {
    const id = ids['city-night.mp4']!;
    const closed = await startServe(data, ['--host', '0.0.0.0']);
    try {
      const at = `http://127.0.0.1:${new URL(closed.base).port}`;
      expect(await (await fetch(`${at}/api/health`)).json()).toMatchObject({ ok: true, tagEdits: false });
      const res = await post(at, id, { add: ['pwned'] });
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatch(/^tag edits are refused: this server listens beyond this machine.*set \[Server\] Token \(a password for the whole server\) or \[Server\] AllowEdits = true to allow it/);
      expect(names(await get(id))).not.toContain('pwned');
    } finally {
      closed.stop();
      await closed.exited;
    }
    const ini = path.join(t.dir, 'allow-edits.ini');
    writeFileSync(ini, '[Server]\nAllowEdits = true\n');
    const open = await startServe(data, ['--host', '0.0.0.0', '--config', ini]);
    try {
      expect(open.stderr()).toMatch(/warning: listening on 0\.0\.0\.0, beyond this machine: anyone who can reach port \d+ can search the library, change its tags and download its videos/);
      const at = `http://127.0.0.1:${new URL(open.base).port}`;
      expect(await (await fetch(`${at}/api/health`)).json()).toMatchObject({ tagEdits: true });
      const res = await post(at, id, { add: ['shared'] });
      expect(res.status).toBe(200);
      expect(names(await get(id))).toContain('shared');
      await post(at, id, { clear: true });
    } finally {
      open.stop();
      await open.exited;
    }
    // the loopback server answers its health with edits on
    expect(await (await fetch(`${base}/api/health`)).json()).toMatchObject({ tagEdits: true });
  });

  it('the policy: loopback listen addresses (IPv4-mapped too) take edits, any other only with AllowEdits', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']) expect(editsAllowed(host, false), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.20', '::ffff:192.168.1.20']) {
      expect(editsAllowed(host, false), host).toBe(false);
      expect(editsAllowed(host, true), host).toBe(true);
    }
  });

  it('an Origin is this server only when its host and port are the Host header\'s', () => {
    expect(sameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
    expect(sameOrigin('http://LOCALHOST:8080', 'localhost:8080')).toBe(true);
    expect(sameOrigin('https://videos.home.lan', 'videos.home.lan')).toBe(true);
    expect(sameOrigin('http://videos.home.lan', 'videos.home.lan:80')).toBe(true);
    expect(sameOrigin('http://[::1]:8080', '[::1]:8080')).toBe(true);
    for (const [origin, host] of [
      ['http://evil.example', '127.0.0.1:8080'],
      ['http://127.0.0.1:8081', '127.0.0.1:8080'],
      ['http://127.0.0.1', '127.0.0.1:8080'],
      ['null', '127.0.0.1:8080'],
      ['file://', 'localhost'],
      ['http://127.0.0.1:8080', undefined],
      ['http://a@127.0.0.1:8080', '127.0.0.1:8080'],
      ['http://127.0.0.1:8080', 'evil.example@127.0.0.1:8080'],
    ] as const) {
      expect(sameOrigin(origin, host), `${origin} ${host}`).toBe(false);
    }
  });
});
