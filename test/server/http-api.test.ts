import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createHttpApi, isLoopback } from '../../src/server/index.js';
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
