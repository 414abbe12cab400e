import { blendResidual, hsvDistance, hsvFrame, type HsvFrame } from './frame-metrics.js';
import { createHsvScorer, type HsvScorer } from './hsv-scorer.js';

/** A growable Float32Array (4 bytes a frame: a 10-hour video at 30 fps is 4 MB per series). */
export class Series {
  private data = new Float32Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  set(i: number, v: number): void {
    while (this.length <= i) this.push(Number.NaN);
    this.data[i] = v;
  }
  at(i: number): number {
    return i >= 0 && i < this.length ? this.data[i]! : Number.NaN;
  }
  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

/** Byte stride of the dissolve test's samples (every 8th byte cycles through R, G and B): 1 in 8 samples is
 * plenty for a mean, and halves the test's cost against a stride of 4. */
const BLEND_STEP = 8;

/** Per-frame measurements a detector decides on; cheap to keep for the whole video. */
export interface FrameSeries {
  frames: number;
  /** content_val of frame i against frame i - 1 (0 for frame 0). */
  content: Float32Array;
  /** Mean intensity of frame i. */
  intensity: Float32Array;
  /** For window centre c: mean |f(c - k) - f(c + k)| in RGB (NaN where not measured). */
  blendDistance: Float32Array;
  /** For window centre c: mean distance of f(c) from (f(c - k) + f(c + k)) / 2 (NaN where not measured). */
  blendResidual: Float32Array;
  /** Half the dissolve window, in frames (k above). */
  halfWindow: number;
  /** Flashes found while streaming: frames [start, end) differ from the frame before `start`; `end` matches it. */
  flashes: Array<{ start: number; end: number }>;
}

export interface AnalyzerOptions {
  /** Bytes per frame (RGB24). */
  frameBytes: number;
  /** Content score that opens a flash check. */
  flashTrigger: number;
  /** Content distance under which a later frame "returns" to the picture before a burst. */
  flashReturn: number;
  flashFrames: number;
  /** Half the dissolve window in frames; 0 = no dissolve measurements. */
  halfWindow: number;
  /** Score every step-th pixel (1 = all, as PySceneDetect). */
  step?: number;
}

/**
 * Streams frames into the measurements of FrameSeries. Holds the previous frame in HSV, a copy of the frame
 * before a suspected flash, and a ring of RGB frames as long as the dissolve window: memory is bounded by the
 * window, never by the video.
 */
export class FrameAnalyzer {
  private readonly scorer: HsvScorer;
  private cur: HsvFrame;
  private prev: HsvFrame;
  private havePrev = false;
  private readonly content = new Series();
  private readonly intensity = new Series();
  private readonly blendDist = new Series();
  private readonly blendRes = new Series();
  private readonly flashes: Array<{ start: number; end: number }> = [];
  private anchor: HsvFrame | null = null;
  private anchorStart = -1;
  private readonly ring: Uint8Array[];
  private frames = 0;

  constructor(private readonly options: AnalyzerOptions) {
    this.scorer = createHsvScorer(options.frameBytes / 3, options.step ?? 1);
    [this.cur, this.prev] = this.scorer.frames;
    const ringLen = options.halfWindow > 0 ? 2 * options.halfWindow + 1 : 0;
    this.ring = Array.from({ length: ringLen }, () => new Uint8Array(options.frameBytes));
  }

  push(rgb: Uint8Array): void {
    const i = this.frames++;
    const o = this.options;
    const stats = this.scorer.score(rgb, this.cur, this.havePrev ? this.prev : null);
    this.content.push(stats.content);
    this.intensity.push(stats.intensity);

    if (o.flashFrames > 0) this.flashCheck(i, stats.content);

    if (this.ring.length > 0) {
      const k = o.halfWindow;
      const n = this.ring.length;
      this.ring[i % n]!.set(rgb);
      if (i >= 2 * k) {
        const c = i - k;
        const m = blendResidual(this.ring[(i - 2 * k) % n]!, this.ring[c % n]!, this.ring[i % n]!, BLEND_STEP);
        this.blendDist.set(c, m.distance);
        this.blendRes.set(c, m.residual);
      }
    }

    const t = this.prev;
    this.prev = this.cur;
    this.cur = t;
    this.havePrev = true;
  }

  private flashCheck(i: number, content: number): void {
    const o = this.options;
    if (this.anchor && this.anchorStart >= 0) {
      // this.cur holds frame i (not yet swapped); anchor holds frame anchorStart - 1.
      if (hsvDistance(this.cur, this.anchor, o.step ?? 1) < o.flashReturn) {
        this.flashes.push({ start: this.anchorStart, end: i });
        this.anchorStart = -1;
        return;
      }
      if (i - this.anchorStart >= o.flashFrames) this.anchorStart = -1;
    }
    if (this.anchorStart < 0 && content >= o.flashTrigger && this.havePrev) {
      this.anchor ??= hsvFrame(o.frameBytes / 3);
      this.anchor.set(this.prev);
      this.anchorStart = i;
    }
  }

  finish(): FrameSeries {
    const n = this.frames;
    const pad = (s: Series) => {
      if (s.length < n) s.set(n - 1, Number.NaN);
      return s.toArray().subarray(0, n);
    };
    return {
      frames: n,
      content: this.content.toArray(),
      intensity: this.intensity.toArray(),
      blendDistance: pad(this.blendDist),
      blendResidual: pad(this.blendRes),
      halfWindow: this.options.halfWindow,
      flashes: this.flashes,
    };
  }
}
