import pLimit, { type LimitFunction } from 'p-limit';

export type Resource = 'net' | 'cpu' | 'ai' | 'none';

/** Per-resource concurrency limits shared by every video in the process. */
export class ResourceLimits {
  private readonly limits: Record<Exclude<Resource, 'none'>, LimitFunction>;

  constructor(counts: { net: number; cpu: number; ai: number }) {
    this.limits = { net: pLimit(counts.net), cpu: pLimit(counts.cpu), ai: pLimit(counts.ai) };
  }

  run<T>(resource: Resource, fn: () => Promise<T>): Promise<T> {
    if (resource === 'none') return fn();
    return this.limits[resource](fn);
  }

  /** Jobs running or waiting, per resource. */
  pending(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.limits).map(([k, l]) => [k, l.activeCount + l.pendingCount]));
  }
}
