import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import { getConnInfo } from '@hono/node-server/conninfo';

/** The cookie the sign-in page sets: the token's SHA-256, so the browser never keeps the token itself. */
export const SESSION_COOKIE = 'videodex_session';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Equal digests, compared in constant time (a byte-by-byte compare tells how much of a guess was right). */
function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function signInPage(wrong: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>videodex: sign in</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}input{font:inherit;width:100%;box-sizing:border-box;margin:.4rem 0;padding:.4rem}p.wrong{color:#b00020}</style></head>
<body><h1>videodex</h1><p>This server asks for its token (<code>[Server] Token</code>).</p>${wrong ? '<p class="wrong" role="alert">That is not the token.</p>' : ''}
<form method="post" action="/login"><label for="token">Token</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus><input type="submit" value="Sign in"></form>
</body></html>`;
}

/** Wrong tokens an address may send in a minute; past that it is answered 429 until the minute is over. */
export const MAX_WRONG_PER_MINUTE = 10;

/**
 * Counts the wrong tokens each address sends: an online guesser gets ten a minute, not as many as the network
 * carries. A right token from an address past its count waits too (one minute at most), so a guess that happens to
 * be right is not told apart by its answer.
 */
class WrongTokens {
  private readonly byAddress = new Map<string, { count: number; since: number }>();

  /** The address's count while its minute lasts. */
  private live(address: string, now: number): { count: number; since: number } | undefined {
    const e = this.byAddress.get(address);
    return e && now - e.since < 60_000 ? e : undefined;
  }

  /** Seconds until `address` may try again; 0 when it may now. */
  waitFor(address: string, now = Date.now()): number {
    const e = this.live(address, now);
    return e && e.count >= MAX_WRONG_PER_MINUTE ? Math.ceil((e.since + 60_000 - now) / 1000) : 0;
  }

  wrong(address: string, now = Date.now()): void {
    const e = this.live(address, now);
    if (e) e.count++;
    else this.byAddress.set(address, { count: 1, since: now });
    // many addresses (a scan): the ones whose minute is over go
    if (this.byAddress.size > 10_000) for (const [a, x] of this.byAddress) if (now - x.since >= 60_000) this.byAddress.delete(a);
  }
}

/** The address a request came from (the socket's; a proxy in front is one address for all). */
function addressOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // a request not from a socket (api.fetch called directly)
  }
}

/**
 * Asks every request for `token` (`[Server] Token`): an API client sends `Authorization: Bearer <token>`; a browser
 * gets a sign-in page at `/`, whose form (`POST /login`) sets a session cookie (HttpOnly, SameSite=Strict) that the
 * page's own requests, videos and images then carry. Anything else is answered 401. Installed before the routes.
 */
export function requireToken(api: Hono, token: string): void {
  const wanted = digest(token);
  const wantedHex = wanted.toString('hex');
  const wantedCookie = Buffer.from(wantedHex, 'utf8');
  const wrongTokens = new WrongTokens();
  /** True or false for a token or cookie given; null when the request carries neither (no guess to count). */
  const signedIn = (c: Context): boolean | null => {
    const auth = c.req.header('authorization');
    const bearer = auth && /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (bearer) return same(digest(bearer[1]!), wanted);
    const cookie = getCookie(c, SESSION_COOKIE);
    return cookie === undefined ? null : same(Buffer.from(cookie, 'utf8'), wantedCookie);
  };
  const tooMany = (c: Context, wait: number) => {
    c.header('retry-after', String(wait));
    return c.json({ error: `too many wrong tokens from this address: try again in ${wait} s` }, 429);
  };
  api.post(
    '/login',
    bodyLimit({ maxSize: 4096, onError: (c) => c.html(signInPage(true), 413) }),
    async (c) => {
      const address = addressOf(c);
      const wait = wrongTokens.waitFor(address);
      if (wait > 0) return tooMany(c, wait);
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const given = typeof form.token === 'string' ? form.token : '';
      if (!same(digest(given), wanted)) {
        wrongTokens.wrong(address);
        return c.html(signInPage(true), 401);
      }
      setCookie(c, SESSION_COOKIE, wantedHex, { httpOnly: true, sameSite: 'Strict', path: '/' });
      return c.redirect('/', 303);
    },
  );
  api.use(async (c, next) => {
    const given = signedIn(c);
    if (given !== null) {
      const address = addressOf(c);
      const wait = wrongTokens.waitFor(address);
      if (wait > 0) return tooMany(c, wait);
      if (given) return next();
      wrongTokens.wrong(address);
    }
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && c.req.path === '/') return c.html(signInPage(false), 401);
    c.header('www-authenticate', 'Bearer realm="videodex"');
    return c.json({ error: 'this server asks for its token ([Server] Token): send Authorization: Bearer <token>, or sign in on its page' }, 401);
  });
}
