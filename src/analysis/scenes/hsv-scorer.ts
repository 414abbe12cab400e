import { frameStats, hsvAndDiff, hsvFrame, type FrameStats, type HsvFrame } from './frame-metrics.js';
import { HSV_KERNEL_WASM } from './hsv-kernel-wasm.js';

/**
 * Converts each frame to HSV and scores it against the previous one (hsvAndDiff's contract), into one of two
 * frames it owns. The WebAssembly SIMD kernel (hsv-kernel.wat) does 4 pixels a step with the same values as
 * the JavaScript kernel, 2.5x faster (copy in included); the JavaScript kernel is used where the WebAssembly one
 * cannot be (no SIMD in the runtime, pixel-skipping, a pixel count that is not a multiple of 4).
 */
export interface HsvScorer {
  readonly kind: 'wasm-simd' | 'js';
  /** The two frames `score` converts into, alternately (the caller swaps them). */
  readonly frames: readonly [HsvFrame, HsvFrame];
  /** Converts `rgb` into `out` (one of `frames`) and scores it against `prev` (the other), or not when null. */
  score(rgb: Uint8Array, out: HsvFrame, prev: HsvFrame | null): FrameStats;
}

/** Pixels per kernel call: the i32 lane sums cannot overflow below 2^20 (765 per pixel, 2^18 per lane). */
const CHUNK = 1 << 20;
/** Bytes the kernel reads past the RGB frame (its last 16-byte load covers 12). */
const PAD = 16;

let compiled: WebAssembly.Module | null | undefined;

function wasmModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(Buffer.from(HSV_KERNEL_WASM, 'base64'));
  } catch {
    compiled = null; // a runtime without WebAssembly SIMD
  }
  return compiled;
}

/** A scorer for frames of `pixels` pixels, scoring every `step`-th pixel. */
export function createHsvScorer(pixels: number, step = 1): HsvScorer {
  const mod = step === 1 && pixels > 0 && pixels % 4 === 0 ? wasmModule() : null;
  return mod ? new WasmHsvScorer(mod, pixels) : new JsHsvScorer(pixels, step);
}

class JsHsvScorer implements HsvScorer {
  readonly kind = 'js';
  readonly frames: readonly [HsvFrame, HsvFrame];
  constructor(
    pixels: number,
    private readonly step: number,
  ) {
    this.frames = [hsvFrame(pixels), hsvFrame(pixels)];
  }
  score(rgb: Uint8Array, out: HsvFrame, prev: HsvFrame | null): FrameStats {
    return hsvAndDiff(rgb, out, prev, this.step);
  }
}

const align16 = (x: number) => (x + 15) & ~15;

class WasmHsvScorer implements HsvScorer {
  readonly kind = 'wasm-simd';
  readonly frames: readonly [HsvFrame, HsvFrame];
  private readonly bytes: Uint8Array;
  private readonly sums: Int32Array;
  private readonly run: (rgb: number, out: number, prev: number, n: number) => void;
  private readonly rgbAt = 64;

  constructor(
    mod: WebAssembly.Module,
    private readonly pixels: number,
  ) {
    const instance = new WebAssembly.Instance(mod, {});
    const memory = instance.exports.memory as WebAssembly.Memory;
    const frameA = align16(this.rgbAt + 3 * pixels + PAD);
    const frameB = frameA + 4 * pixels;
    const need = frameB + 4 * pixels;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    // Views are taken after the only grow: they stay valid for the scorer's life.
    this.bytes = new Uint8Array(memory.buffer);
    this.sums = new Int32Array(memory.buffer, 0, 16);
    this.frames = [new Uint32Array(memory.buffer, frameA, pixels), new Uint32Array(memory.buffer, frameB, pixels)];
    this.run = instance.exports.score as (rgb: number, out: number, prev: number, n: number) => void;
  }

  score(rgb: Uint8Array, out: HsvFrame, prev: HsvFrame | null): FrameStats {
    const n = this.pixels;
    // Frames from elsewhere, or a short buffer: the reference kernel gives the same answer.
    if (rgb.length < 3 * n || !this.owns(out) || (prev !== null && !this.owns(prev))) return hsvAndDiff(rgb, out, prev);
    this.bytes.set(rgb.subarray(0, 3 * n), this.rgbAt);
    const prevAt = (prev ?? out).byteOffset;
    let sumRgb = 0;
    let dh = 0;
    let ds = 0;
    let dv = 0;
    const s = this.sums;
    for (let start = 0; start < n; start += CHUNK) {
      this.run(this.rgbAt + 3 * start, out.byteOffset + 4 * start, prevAt + 4 * start, Math.min(CHUNK, n - start));
      sumRgb += s[0]! + s[1]! + s[2]! + s[3]!;
      dh += s[4]! + s[5]! + s[6]! + s[7]!;
      ds += s[8]! + s[9]! + s[10]! + s[11]!;
      dv += s[12]! + s[13]! + s[14]! + s[15]!;
    }
    return frameStats(sumRgb, dh, ds, dv, n, prev !== null);
  }

  private owns(frame: HsvFrame): boolean {
    return frame === this.frames[0] || frame === this.frames[1];
  }
}
