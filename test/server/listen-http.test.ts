import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeHttp, listenHttp, REQUEST_TIMEOUTS } from '../../src/server/index.js';

/** A server for a trivial handler on a free port of 127.0.0.1. */
async function listen(timeouts?: Parameters<typeof listenHttp>[4]) {
  let port = 0;
  const server = listenHttp(() => Response.json({ ok: true }), '127.0.0.1', 0, (p) => (port = p), timeouts);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { server, port };
}

describe('listenHttp: clients too slow to send their request', () => {
  it('a client trickling its headers gets a JSON 408 saying so and is cut off in its time, not held for Node\'s 60 to 90 s', async () => {
    const { server, port } = await listen({ headersMs: 400, requestMs: 1000, checkEveryMs: 100 });
    try {
      const started = Date.now();
      const socket = net.connect(port, '127.0.0.1');
      socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      // one more header line now and then, never the blank line that ends them (slowloris)
      const drip = setInterval(() => socket.writable && socket.write('x-drip: 1\r\n'), 100);
      const chunks: Buffer[] = [];
      try {
        for await (const c of socket) chunks.push(c as Buffer);
      } finally {
        clearInterval(drip);
      }
      const answer = Buffer.concat(chunks).toString('latin1');
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(answer).toContain('content-type: application/json');
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'the request did not arrive in time (its headers within 0.4 s, all of it within 1 s)' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await closeHttp(server, 100);
    }
  });

  it('by default gives a request 15 s for its headers and 30 s in all, checked every second', async () => {
    expect(REQUEST_TIMEOUTS).toEqual({ headersMs: 15_000, requestMs: 30_000, checkEveryMs: 1_000 });
    const { server } = await listen();
    try {
      expect([server.headersTimeout, server.requestTimeout]).toEqual([15_000, 30_000]);
    } finally {
      await closeHttp(server, 100);
    }
  });
});
