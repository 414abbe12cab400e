import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hsvAndDiff, hsvFrame } from '../../src/analysis/scenes/frame-metrics.js';
import { createHsvScorer } from '../../src/analysis/scenes/hsv-scorer.js';

/** Deterministic pseudo-random bytes (a fixed LCG), so a failure reproduces. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Every (r, g, b) with channels from a grid that hits ties, zeros, 255 and the rounding edges of both divisions. */
function gridFrame(): Uint8Array {
  const levels = [0, 1, 2, 3, 17, 85, 127, 128, 129, 170, 254, 255];
  const px: number[] = [];
  for (const r of levels) for (const g of levels) for (const b of levels) px.push(r, g, b);
  while ((px.length / 3) % 4) px.push(0, 0, 0);
  return Uint8Array.from(px);
}

describe('HSV scorer (WebAssembly SIMD kernel against the JavaScript reference)', () => {
  it('uses the SIMD kernel for whole frames and gives the reference kernel values, bit for bit', () => {
    const frames = [gridFrame(), bytes(gridFrame().length, 1), bytes(gridFrame().length, 2)];
    const pixels = frames[0]!.length / 3;
    const scorer = createHsvScorer(pixels);
    expect(scorer.kind).toBe('wasm-simd');
    const [a, b] = scorer.frames;
    const refA = hsvFrame(pixels);
    const refB = hsvFrame(pixels);
    let out = a;
    let prev = b;
    let ro = refA;
    let rp = refB;
    for (const [k, rgb] of frames.entries()) {
      const got = scorer.score(rgb, out, k === 0 ? null : prev);
      const want = hsvAndDiff(rgb, ro, k === 0 ? null : rp);
      expect(Array.from(out)).toEqual(Array.from(ro));
      expect(got).toEqual(want);
      [out, prev] = [prev, out];
      [ro, rp] = [rp, ro];
    }
  });

  it('agrees on frames of every size class, including ones chunked past 2^20 pixels', () => {
    for (const pixels of [4, 128 * 72, 256 * 144, (1 << 20) + 4096]) {
      const scorer = createHsvScorer(pixels);
      const one = bytes(3 * pixels, pixels);
      const two = bytes(3 * pixels, pixels + 7);
      scorer.score(one, scorer.frames[0], null);
      const got = scorer.score(two, scorer.frames[1], scorer.frames[0]);
      const r0 = hsvFrame(pixels);
      const r1 = hsvFrame(pixels);
      hsvAndDiff(one, r0, null);
      expect(got).toEqual(hsvAndDiff(two, r1, r0));
    }
  });

  it('falls back to the JavaScript kernel where SIMD cannot serve: pixel skipping, odd pixel counts', () => {
    expect(createHsvScorer(128 * 72, 2).kind).toBe('js');
    const odd = createHsvScorer(3);
    expect(odd.kind).toBe('js');
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]);
    expect(odd.score(rgb, odd.frames[0], null).intensity).toBeCloseTo(85, 6);
  });

  it('the committed kernel module is what scripts/build-wasm.ts assembles from hsv-kernel.wat', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-wasm.ts', '--check'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
