import { ConfigError, ModelError, redact } from '../../core/index.js';

export type Provider = 'openai' | 'pai-eas';
export type AuthHeader = 'auto' | 'bearer' | 'token' | 'none';

/** The endpoint a run uses: VpcEndpoint with UseVpc, else PublicEndpoint. Empty string when none is set. */
export function chooseEndpoint(settings: { PublicEndpoint: string; VpcEndpoint: string; UseVpc: boolean }): string {
  if (settings.UseVpc) {
    if (!settings.VpcEndpoint) {
      throw new ConfigError('[QwenVL] UseVpc (--use-vpc) is set but [QwenVL] VpcEndpoint is empty; set VpcEndpoint to the service\'s VPC URL');
    }
    return settings.VpcEndpoint;
  }
  return settings.PublicEndpoint;
}

/** Parses an endpoint URL, or throws a ConfigError that shows it without any secret it may carry. */
export function parseEndpoint(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`[QwenVL] endpoint ${JSON.stringify(endpointLabel(url))} is not a URL; expected e.g. https://host/v1`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`[QwenVL] endpoint ${endpointLabel(url)} must be http:// or https://`);
  }
  return u;
}

/** Host and path only: no userinfo, no query string, no fragment. Safe to log and store. */
export function endpointLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url.replace(/^[a-z]+:\/\//i, '').replace(/^[^@/]*@/, '').replace(/[?#].*$/, '');
  }
}

/**
 * The base URL the OpenAI SDK wants (it appends /chat/completions): a full .../chat/completions URL loses
 * that suffix; a URL ending in /v<N> is kept; anything else gets /v1 (the service root of a PAI-EAS
 * deployment, http://localhost:8000 for vLLM...). The query string and fragment are left out: the SDK would
 * append its path after them (`...?api-version=1/chat/completions`); the query goes as `endpointQuery`.
 */
export function openAiBaseUrl(url: string): string {
  const u = parseEndpoint(url);
  let p = u.pathname.replace(/\/+$/, '');
  if (/\/chat\/completions$/.test(p)) p = p.replace(/\/chat\/completions$/, '');
  else if (!/\/v\d+$/.test(p)) p = `${p}/v1`;
  u.pathname = p;
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/$/, '');
}

/**
 * The endpoint's query parameters, decoded and in order (`?api-version=2024-06-01` for Azure-style
 * gateways), for a client that sends them on every request after the path it appends (the OpenAI SDK's
 * `defaultQuery`). Key-like values stay secrets: callers scrub `urlSecrets(url)` as before. A parameter
 * given twice is refused (a ConfigError naming it, never its value): `defaultQuery` holds one value a name.
 */
export function endpointQuery(url: string): Record<string, string> {
  const entries = [...parseEndpoint(url).searchParams];
  const seen = new Set<string>();
  for (const [name] of entries) {
    if (seen.has(name)) {
      throw new ConfigError(`[QwenVL] endpoint ${endpointLabel(url)} repeats the query parameter ${JSON.stringify(name)}; give each parameter once`);
    }
    seen.add(name);
  }
  return Object.fromEntries(entries);
}

/** Whether the key goes as `Authorization: Bearer <key>`, `Authorization: <key>`, or not at all. */
export function resolveAuth(mode: AuthHeader, provider: Provider, url: string, key: string): 'bearer' | 'token' | 'none' {
  if (!key) return 'none';
  if (mode !== 'auto') return mode;
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {
    // parseEndpoint reports bad URLs
  }
  if (/\.pai-eas\.aliyuncs\.com$/i.test(host)) return 'token';
  // DashScope's native API (the pai-eas provider with EasRequestFormat = dashscope) wants Bearer: without it
  // every request was refused with 401
  if (/(^|\.)dashscope(-intl)?\.aliyuncs\.com$/i.test(host)) return 'bearer';
  return provider === 'pai-eas' ? 'token' : 'bearer';
}

/** The Authorization header value, or null when none is sent. */
export function authorizationValue(auth: 'bearer' | 'token' | 'none', key: string): string | null {
  if (auth === 'none' || !key) return null;
  return auth === 'bearer' ? `Bearer ${key}` : key;
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, in milliseconds. */
export function retryAfterMs(get: (name: string) => string | null | undefined, now = Date.now()): number | undefined {
  const ms = get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get('retry-after');
  if (!ra) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * PAI-EAS's answer when the service's request queue is full: the request was dropped unread, and EAS's own
 * guidance is to retry it (another instance may take it). It failed a video at the first busy moment.
 */
export const EAS_QUEUE_FULL = 450;

/** Statuses worth another try: rate limits, a full EAS queue, server errors, request timeouts. Never 400, 401, 403. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status === EAS_QUEUE_FULL || status >= 500;
}

/** The provider's error code and message from an error body (OpenAI, DashScope and EAS shapes). */
export function errorDetails(body: unknown, secrets: readonly string[] = []): { code?: string; message?: string } {
  // scrubbed before it is cut: a key cut in two would no longer match and its first characters would be kept
  if (!body || typeof body !== 'object') return typeof body === 'string' && body.trim() ? { message: redact(body.trim(), secrets).slice(0, 300) } : {};
  const b = body as Record<string, unknown>;
  const inner = (b.error && typeof b.error === 'object' ? b.error : b) as Record<string, unknown>;
  const code = inner.code ?? b.code ?? inner.type;
  const message = inner.message ?? b.message ?? (typeof b.error === 'string' ? b.error : undefined);
  return {
    ...(code !== undefined && code !== null ? { code: String(code) } : {}),
    ...(typeof message === 'string' ? { message: redact(message, secrets).slice(0, 300) } : {}),
  };
}

/**
 * Whether a reply that came with 200 is an error: `{"error": ...}`, or `{"code", "message"}` (DashScope, EAS
 * processors) with a code that is not a success.
 */
export function isErrorBody(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  if (b.error !== undefined && b.error !== null && b.error !== false && b.error !== '') return true;
  // {"code": 200, "message": "success", "data": ...} wraps an answer: the answer is elsewhere, not an error
  return b.code !== undefined && b.code !== null && typeof b.message === 'string' && !/^(0|200|ok|success)$/i.test(String(b.code));
}

/** A ModelError for an HTTP failure, with the key scrubbed from whatever the server echoed. */
export function httpModelError(
  provider: string,
  label: string,
  status: number,
  body: unknown,
  retryAfter: number | undefined,
  secrets: readonly string[],
  /** Whether an Authorization header went with the request (false: no key is set, or AuthHeader = none). */
  keySent = true,
): ModelError {
  const { code, message } = errorDetails(body, secrets);
  // DashScope refuses every request of an account with an overdue payment (HTTP 400 Arrearage): like a wrong key,
  // a refusal of the whole run, not of this video
  const arrears = code === 'Arrearage';
  // a 408 from PAI-EAS: the service stops a request after metadata.rpc.keepalive, 5 s unless set, shorter than
  // most answers about a dozen frames take, so every video failed with a bare 408
  const hint =
    status === 401 || status === 403
      ? keySent
        ? ' (the server refused the key: check [QwenVL] AccessKey / VIDEODEX_QWEN_ACCESS_KEY and AuthHeader)'
        : ' (no key was sent: set VIDEODEX_QWEN_ACCESS_KEY or [QwenVL] AccessKey, and AuthHeader if it is none)'
      : arrears
        ? ' (the account behind the key has an overdue payment: settle it in the Alibaba Cloud console)'
        : status === 404
        ? ' (check the endpoint path and [QwenVL] Model)'
        : status === 429
          ? ' (rate limited)'
          : status === EAS_QUEUE_FULL
            ? " (the EAS service's request queue is full)"
            : status === 408
              ? " (the server gave up on the request; on PAI-EAS raise the service's metadata.rpc.keepalive, 5000 ms by default)"
              : '';
  const text = `${provider} ${label} answered HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}${hint}`;
  return new ModelError(redact(text, secrets), {
    status,
    retryable: isRetryableStatus(status),
    ...(code ? { providerCode: code } : {}),
    ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    code: status === 429 || status === EAS_QUEUE_FULL ? 'E_MODEL_RATE' : status === 401 || status === 403 || arrears ? 'E_MODEL_AUTH' : 'E_MODEL_HTTP',
  });
}

function charsetOf(contentType: string | null): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
}

/** Whether a Content-Type names a charset other than UTF-8. */
export function namesOtherCharset(contentType: string | null): boolean {
  const charset = charsetOf(contentType);
  return charset !== undefined && !/^utf-?8$/i.test(charset);
}

/**
 * A reply body as text in the charset its Content-Type names (`application/json; charset=gbk` from a custom
 * deployment), UTF-8 when it names none or one Node does not know. fetch's text() and the SDK read every body
 * as UTF-8: a GBK answer came back as replacement characters, stored as the description.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null): string {
  if (namesOtherCharset(contentType)) {
    try {
      return new TextDecoder(charsetOf(contentType)).decode(bytes);
    } catch {
      // an unknown label: read as UTF-8 below
    }
  }
  return new TextDecoder().decode(bytes);
}

/**
 * fetch that follows a redirect only where the request arrives as it was sent: a 307 or 308 to the same origin
 * (a trailing-slash fix). fetch turned a POST answered 301/302/303 (http to https, a moved service) into a GET
 * without its body, which the server refused as 404 or 405 ("check the endpoint path and Model"), and dropped
 * the key on a redirect to another host (a 401 "check the key"). Those come back as they are, for
 * `redirectError`.
 */
export async function fetchFollowingSameOrigin(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  let url = input instanceof Request ? input.url : String(input);
  for (let hop = 0; ; hop++) {
    const res = await fetch(url, { ...init, redirect: 'manual' });
    const location = res.headers.get('location');
    if ((res.status !== 307 && res.status !== 308) || !location || hop >= 5) return res;
    const next = new URL(location, url);
    if (next.origin !== new URL(url).origin) return res;
    await res.body?.cancel();
    url = next.toString();
  }
}

/** Whether a status is a redirect that `fetchFollowingSameOrigin` hands back. */
export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** The failure for a redirect not followed, naming where it points (scheme, host and path: no query, no userinfo). */
export function redirectError(provider: string, label: string, status: number, location: string | null | undefined, from: string, secrets: readonly string[]): ModelError {
  let target = '';
  let elsewhere = false;
  try {
    const u = new URL(location ?? '', from);
    if (location) target = ` to ${u.protocol}//${u.host}${u.pathname}`;
    elsewhere = u.origin !== new URL(from).origin;
  } catch {
    // no usable Location: the status alone
  }
  const why = status === 307 || status === 308 ? (elsewhere ? 'another host would not be sent the key' : 'too many redirects') : 'the request would go on as a GET without its body';
  const text = `${provider} ${label} answered HTTP ${status}, a redirect${target}; not followed (${why}): set the endpoint to the URL it names`;
  return new ModelError(redact(text, secrets), { status, retryable: false, code: 'E_MODEL_HTTP' });
}

/**
 * A ModelError for a connection that failed: the innermost cause's message (fetch and the SDK say only "fetch
 * failed"; the cause says ECONNREFUSED, ENOTFOUND...), scrubbed. A host name that does not resolve is not
 * retried: it is the endpoint, not the moment, and each video spent its retries and backoff on it.
 */
export function connectionError(where: string, err: unknown, secrets: readonly string[]): ModelError {
  let inner: unknown = err;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const message = inner instanceof Error ? inner.message : String(inner);
  const unresolvable = (inner as { code?: unknown } | null)?.code === 'ENOTFOUND';
  const hint = unresolvable ? ' (the host name does not resolve: check [QwenVL] PublicEndpoint / VpcEndpoint)' : '';
  return new ModelError(redact(`${where}: connection failed: ${message}${hint}`, secrets), { retryable: !unresolvable, code: 'E_MODEL_CONNECTION' });
}
