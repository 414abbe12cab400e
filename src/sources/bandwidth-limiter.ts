import { Transform, type TransformCallback } from 'node:stream';

/**
 * A token bucket shared by every download in the process (`[Sources] MaxBytesPerSec`). Each download pipes its
 * body through `throttle()`; chunks wait until the bucket holds their size. Burst: one second's worth.
 */
export class BandwidthLimiter {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly bytesPerSec: number) {
    this.tokens = bytesPerSec;
  }

  /** Resolves when `n` bytes may pass. Callers are served in order. */
  take(n: number): Promise<void> {
    const next = this.queue.then(() => this.wait(n));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async wait(n: number): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.bytesPerSec, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
      this.last = now;
      // A chunk bigger than the bucket passes once the bucket is full, leaving it in debt.
      if (this.tokens >= Math.min(n, this.bytesPerSec)) {
        this.tokens -= n;
        return;
      }
      const missing = Math.min(n, this.bytesPerSec) - this.tokens;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil((missing / this.bytesPerSec) * 1000))));
    }
  }

  throttle(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        this.take(chunk.length).then(() => cb(null, chunk), cb);
      },
    });
  }
}
