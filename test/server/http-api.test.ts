import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createHttpApi, isLoopback, type TagEditing } from '../../src/server/index.js';
import type { Video } from '../../src/core/index.js';
import type { VideoStore } from '../../src/store/index.js';

describe('the HTTP API: a request that fails', () => {
  it('answers one line without a stack, and logs the error with its stack and the request (nothing recorded what went wrong)', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
    const store = { kind: 'sqlite', search: async () => { throw new Error('database disk image is malformed'); } } as unknown as VideoStore;
    const api = createHttpApi(store, { logger });
    const res = await api.request('/api/search?q=beach');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'database disk image is malformed' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'request failed', method: 'GET', path: '/api/search' });
    const err = lines[0]!.err as { message: string; stack: string };
    expect(err.message).toBe('database disk image is malformed');
    expect(err.stack).toMatch(/\n\s+at /);
    // a mistake in the query is the asker's, answered and not logged
    expect((await api.request('/api/search?limit=0')).status).toBe(400);
    expect(lines).toHaveLength(1);
  });
});

describe('isLoopback', () => {
  it('takes IPv4-mapped loopback addresses and every spelling of ::1 as loopback, and nothing beyond this machine', () => {
    for (const a of ['localhost', 'LOCALHOST', '127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '[::ffff:127.0.0.1]', '::ffff:7f00:1', '[::FFFF:7F00:1]']) {
      expect(isLoopback(a), a).toBe(true);
    }
    for (const a of ['0.0.0.0', '::', '[::]', '192.168.1.20', '::ffff:192.168.1.20', '::ffff:0.0.0.0', '128.0.0.1', '127.999.0.1', 'localhost.evil.example', 'fe80::1', '']) {
      expect(isLoopback(a), a).toBe(false);
    }
  });

  it('answers a request addressed to an IPv4-mapped loopback address when only loopback names are answered', async () => {
    const store = { kind: 'sqlite', count: async () => 0 } as unknown as VideoStore;
    const api = createHttpApi(store, { loopbackOnly: true });
    for (const host of ['[::ffff:127.0.0.1]:8080', '[::ffff:7f00:1]:8080']) expect((await api.request('/api/health', { headers: { host } })).status, host).toBe(200);
    expect((await api.request('/api/health', { headers: { host: '[::ffff:192.168.1.20]:8080' } })).status).toBe(403);
  });
});

describe('the HTTP API: tag edits', () => {
  it('makes edits sent at once one after the other, each on the record the one before saved (the second saved dropped the first)', async () => {
    const id = '0123456789abcdef';
    let saved = { id, tags: [] as Array<{ name: string }> } as unknown as Video;
    const store = { kind: 'sqlite', get: async (want: string) => (want === id ? structuredClone(saved) : null) } as unknown as VideoStore;
    const tagEditing: TagEditing = {
      allowed: true,
      // as App.editTags: the record as read, edited, then saved after a re-tag that takes a while
      edit: async (video, edit) => {
        const next: Video = { ...video, tags: [...video.tags, ...(edit.add ?? []).map((name) => ({ name, source: 'user' as const, confidence: 1 }))] };
        await new Promise((r) => setTimeout(r, 20));
        saved = next;
        return next;
      },
    };
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
    const api = createHttpApi(store, { tagEditing, logger });
    const post = (name: string) => api.request(`/api/videos/${id}/tags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ add: [name] }) });
    const answers = await Promise.all(['alpha', 'bravo', 'charlie'].map(post));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(saved.tags.map((t) => t.name).sort()).toEqual(['alpha', 'bravo', 'charlie']);
    // each edit is in the server's log: the only record of a change made over HTTP
    expect(lines.filter((l) => l.msg === 'tags edited').map((l) => [l.videoId, (l.edit as { add: string[] }).add[0]]).sort()).toEqual([[id, 'alpha'], [id, 'bravo'], [id, 'charlie']]);
    // a failed edit does not stop the ones after it
    tagEditing.edit = async () => { throw new Error('database is locked'); };
    expect((await post('delta')).status).toBe(500);
    tagEditing.edit = async (video) => video;
    expect((await post('echo')).status).toBe(200);
  });

  it('refuses edits when the server was given no way to make them, and says so in its health', async () => {
    const store = { kind: 'sqlite', count: async () => 1, get: async () => ({ id: '0123456789abcdef', tags: [] }) } as unknown as VideoStore;
    const api = createHttpApi(store);
    const res = await api.request('/api/videos/0123456789abcdef/tags', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"add":["x"]}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'tag edits are refused: this server does not edit tags' });
    expect(await (await api.request('/api/health')).json()).toMatchObject({ tagEdits: false });
  });
});
