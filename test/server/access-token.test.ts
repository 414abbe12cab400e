import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { startServe } from '../helpers/serve.js';

/**
 * `[Server] Token`: a real `videodex serve` beyond loopback with a token from the environment, over a real library.
 * Without it the API had no password: whoever reached the port read the library and downloaded its videos.
 */
const t = tempDir('videodex-token-');
const data = path.join(t.dir, 'data');
const TOKEN = 'correct-horse-battery-staple-42';
let serve: Awaited<ReturnType<typeof startServe>>;
let base = '';
let id = '';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

beforeAll(async () => {
  mkdirSync(path.join(t.dir, 'clips'));
  await makeTestVideo(path.join(t.dir, 'clips', 'harbour_boats.mp4'), { seconds: 1, width: 160, height: 120 });
  const r = await runCli(['process', path.join(t.dir, 'clips'), '--json', '--data-dir', data]);
  id = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.type === 'result' && x.videoId).videoId;
  serve = await startServe(data, ['--host', '0.0.0.0'], { ...process.env, VIDEODEX_SERVER_TOKEN: TOKEN });
  base = `http://127.0.0.1:${new URL(serve.base).port}`;
}, 60_000);
afterAll(async () => {
  serve?.stop();
  await serve?.exited;
  t.cleanup();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('videodex serve with [Server] Token', () => {
  it('says on start that requests need the token, without the no-password warning and without the token', () => {
    expect(serve.stderr()).toMatch(/listening on 0\.0\.0\.0, beyond this machine: requests must carry \[Server\] Token/);
    expect(serve.stderr()).not.toMatch(/warning/);
    expect(serve.stderr()).not.toContain(TOKEN);
  });

  it('answers the API only with the token: 401 without it or with a wrong one, the answer with it', async () => {
    const none = await fetch(`${base}/api/health`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await none.json()).error).toMatch(/asks for its token \(\[Server\] Token\)/);
    for (const wrong of ['nope', `${TOKEN}x`, TOKEN.slice(0, -1)]) expect((await fetch(`${base}/api/health`, { headers: bearer(wrong) })).status).toBe(401);
    const ok = await fetch(`${base}/api/health`, { headers: bearer(TOKEN) });
    expect(ok.status).toBe(200);
    // beyond loopback, the token is the edits' password too
    expect(await ok.json()).toMatchObject({ ok: true, videos: 1, tagEdits: true });
    expect((await fetch(`${base}/api/videos/${id}`)).status).toBe(401);
    expect((await fetch(`${base}/api/videos/${id}/file`)).status).toBe(401);
    expect((await fetch(`${base}/api/search?q=harbour`, { headers: bearer(TOKEN) })).status).toBe(200);
  });

  it('checks the host name first: a rebinding site gets 403 even with the token', async () => {
    const { default: http } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.get(`${base}/api/health`, { headers: { host: 'evil.example', ...bearer(TOKEN) } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('gives a browser a sign-in page; the right token sets a session cookie that the page, its videos and its edits carry', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(401);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).not.toContain(TOKEN);

    const login = (token: string) => fetch(`${base}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }) });
    const wrong = await login('guess');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That is not the token.');

    const right = await login(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/');
    const cookie = right.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^videodex_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict/);
    // the browser keeps the token's digest, not the token
    expect(cookie).not.toContain(TOKEN);
    const session = { cookie: cookie.split(';')[0]! };

    const signedIn = await fetch(`${base}/`, { headers: session });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.text()).toContain('<title>videodex</title>');
    const video = await fetch(`${base}/api/videos/${id}/file`, { headers: session });
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    await video.arrayBuffer();
    const edit = await fetch(`${base}/api/videos/${id}/tags`, { method: 'POST', headers: { ...session, 'content-type': 'application/json', origin: base }, body: JSON.stringify({ add: ['harbour-trip'] }) });
    expect(edit.status).toBe(200);
    expect(((await edit.json()) as { tags: Array<{ name: string }> }).tags.map((x) => x.name)).toContain('harbour-trip');
    // a cookie that is not the session is no way in
    expect((await fetch(`${base}/api/health`, { headers: { cookie: 'videodex_session=00' } })).status).toBe(401);
  });

  it('without a token, /login says there is none to sign in with', async () => {
    const { createHttpApi } = await import('../../src/server/index.js');
    const { SqliteStore } = await import('../../src/store/index.js');
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const api = createHttpApi(store);
    const res = await api.fetch(new Request('http://127.0.0.1/login', { method: 'POST', body: new URLSearchParams({ token: 'x' }) }));
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/asks for no token/);
    expect((await api.fetch(new Request('http://127.0.0.1/api/health'))).status).toBe(200);
    await store.close();
  });

  it('answers an address that sent ten wrong tokens in a minute 429, whatever it sends, until the minute is over; others are not held', async () => {
    const { createHttpApi } = await import('../../src/server/index.js');
    const { MAX_WRONG_PER_MINUTE } = await import('../../src/server/access-token.js');
    const { SqliteStore } = await import('../../src/store/index.js');
    const store = new SqliteStore(':memory:');
    await store.migrate();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const api = createHttpApi(store, { token: TOKEN });
      // the socket a request came from, as the node adapter gives it
      const from = (address: string) => ({ incoming: { socket: { remoteAddress: address, remotePort: 50000, remoteFamily: 'IPv4' } } });
      const health = (address: string, token: string) => api.fetch(new Request('http://127.0.0.1/api/health', { headers: bearer(token) }), from(address));
      const login = (address: string, token: string) => api.fetch(new Request('http://127.0.0.1/login', { method: 'POST', body: new URLSearchParams({ token }) }), from(address));
      for (let i = 0; i < MAX_WRONG_PER_MINUTE - 1; i++) expect((await health('10.0.0.5', `guess-${i}`)).status).toBe(401);
      expect((await login('10.0.0.5', 'guess-last')).status).toBe(401);
      const held = await health('10.0.0.5', 'guess-more');
      expect(held.status).toBe(429);
      expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await held.json()).error).toMatch(/too many wrong tokens from this address/);
      // the right token waits too: a guess that happens to be right is not told by its answer
      expect((await health('10.0.0.5', TOKEN)).status).toBe(429);
      expect((await login('10.0.0.5', TOKEN)).status).toBe(429);
      // another address is not held, and a request with no token is no guess
      expect((await health('10.0.0.6', TOKEN)).status).toBe(200);
      expect((await api.fetch(new Request('http://127.0.0.1/api/health'), from('10.0.0.5'))).status).toBe(401);
      vi.setSystemTime(Date.now() + 61_000);
      expect((await health('10.0.0.5', TOKEN)).status).toBe(200);
    } finally {
      vi.useRealTimers();
      await store.close();
    }
  });

  it('never writes the token into the library folder (logs, audit trail, database)', () => {
    for (const f of files(data)) {
      if (statSync(f).size > 50 << 20) continue;
      expect(readFileSync(f).includes(TOKEN), f).toBe(false);
    }
  });

  it('is masked by videodex config', async () => {
    const r = await runCli(['config', '--data-dir', data], { env: { ...process.env, VIDEODEX_SERVER_TOKEN: TOKEN } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Server\.?\s*Token|\[Server\][\s\S]*Token/);
    expect(r.stdout).not.toContain(TOKEN);
  });
});
