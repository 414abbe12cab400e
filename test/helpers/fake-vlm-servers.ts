import { afterEach } from 'vitest';
import { FakeVlmServer, type FakeVlmOptions } from './fake-vlm-server.js';

// Apart from fake-vlm-server.ts, which must not import vitest: bench/describe.ts runs the fake server outside vitest.
/** A `fake(options)` that starts a FakeVlmServer and stops every one it started after each test. */
export function fakeVlmServers(): (options?: FakeVlmOptions) => Promise<FakeVlmServer> {
  const servers: FakeVlmServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  return async (options = {}) => {
    const s = await new FakeVlmServer(options).start();
    servers.push(s);
    return s;
  };
}
