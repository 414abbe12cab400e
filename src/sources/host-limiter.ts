import pLimit, { type LimitFunction } from 'p-limit';

/**
 * At most `perHost` jobs at once against one host (`[Sources] PerHost`), across every source in the process.
 * A job holds its slot through its retries, so a host that answers 429 is not hit harder by the queue behind.
 */
export class HostLimiter {
  private readonly limits = new Map<string, LimitFunction>();

  constructor(private readonly perHost: number) {}

  run<T>(url: string, fn: () => Promise<T>): Promise<T> {
    const host = hostOf(url);
    let limit = this.limits.get(host);
    if (!limit) {
      limit = pLimit(this.perHost);
      this.limits.set(host, limit);
    }
    return limit(fn);
  }

  /** Jobs running against a host. */
  active(url: string): number {
    return this.limits.get(hostOf(url))?.activeCount ?? 0;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}
