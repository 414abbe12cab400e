import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createHttpApi } from '../../src/server/index.js';
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
