import { setTimeout as delay } from 'node:timers/promises';

/** Longest wait between two attempts when the server does not say. */
export const MAX_BACKOFF_MS = 60_000;

/**
 * Wait before retry number `retry` (0-based): exponential from `baseMs`, capped at 60 s, with "equal jitter"
 * (half fixed, half random) so a thousand items that failed together do not come back together.
 */
export function backoffMs(retry: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(retry, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | null | undefined, now = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const t = value.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const when = Date.parse(t);
  if (Number.isNaN(when)) return null;
  return Math.max(0, when - now);
}

/** Sleeps, or rejects with the signal's reason when aborted. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  await delay(ms, undefined, signal ? { signal } : undefined);
}
