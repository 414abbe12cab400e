/**
 * Requests per minute, as a token bucket: up to `burst` requests at once, then one every 60000/rpm ms.
 * Waiters are served in arrival order. One limiter per endpoint is shared by the whole process
 * (`sharedRateLimiter`), so every worker and every pipeline in it stays within the quota together.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly intervalMs: number;
  private readonly burst: number;
  private queue: Promise<void> = Promise.resolve();
  private pausedUntil = 0;

  constructor(
    readonly rpm: number,
    burst?: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.intervalMs = 60_000 / rpm;
    // A second's worth of requests may go at once (at least one).
    this.burst = Math.max(1, burst ?? Math.ceil(rpm / 60));
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Resolves when a request may go; rejects when the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeToken(signal));
    // The next waiter starts after this one got its token (or gave up).
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Holds every waiter for `ms` from now (at least): a server that answers 429 with Retry-After refuses the
   * other workers' requests too until then, and each refusal used up one of that video's retries.
   */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) / this.intervalMs);
    this.last = t;
  }

  private async takeToken(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const paused = this.pausedUntil - this.now();
      if (paused > 0) {
        await sleep(paused, signal);
        continue;
      }
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep((1 - this.tokens) * this.intervalMs, signal);
    }
  }
}

const shared = new Map<string, RateLimiter>();

/** The process-wide limiter for an endpoint (created on first use; a changed rpm makes a new one). */
export function sharedRateLimiter(endpointKey: string, rpm: number): RateLimiter {
  const key = `${endpointKey}\u0000${rpm}`;
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = new RateLimiter(rpm);
    shared.set(key, limiter);
  }
  return limiter;
}

/** setTimeout as a promise that an AbortSignal cancels. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
