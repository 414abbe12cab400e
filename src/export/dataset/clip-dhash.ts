import { runTool } from '../../core/index.js';
import { hashFilter } from './clip-encoder.js';
import type { AssignedClip, DuplicateRemoval, SplitName } from './dataset-types.js';

const W = 9;
const H = 8;

/**
 * dHash of one 9x8 gray frame: for each row, 8 bits "left pixel brighter than its right neighbour".
 * Returns 8 bytes (64 bits).
 */
export function dhashFrame(gray: Uint8Array, offset = 0): Uint8Array {
  const out = new Uint8Array(8);
  for (let y = 0; y < H; y++) {
    let byte = 0;
    for (let x = 0; x < W - 1; x++) {
      const a = gray[offset + y * W + x]!;
      const b = gray[offset + y * W + x + 1]!;
      byte = (byte << 1) | (a > b ? 1 : 0);
    }
    out[y] = byte;
  }
  return out;
}

/** Hashes of every 9x8 gray frame in a raw buffer, concatenated (8 bytes a frame). */
export function dhashFrames(raw: Uint8Array): Uint8Array {
  const n = Math.floor(raw.length / (W * H));
  const out = new Uint8Array(n * 8);
  for (let i = 0; i < n; i++) out.set(dhashFrame(raw, i * W * H), i * 8);
  return out;
}

/**
 * The clip's perceptual hash: `frames` frames evenly spread over its `frameCount` frames, scaled by ffmpeg to
 * 9x8 gray (area average), each dHashed. Hex, 16 characters a frame. (Batch encoding takes the same frames
 * from the encoder's input with `hashFilter`, so both ways agree.)
 */
export async function hashClip(ffmpeg: string, file: string, frameCount: number, frames: number, signal?: AbortSignal): Promise<string> {
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-threads', '1',
    '-i', file,
    '-an', '-vf', hashFilter(frameCount, frames), '-vsync', 'passthrough',
    '-frames:v', String(frames), '-f', 'rawvideo', 'pipe:1',
  ];
  const { stdout } = await runTool(ffmpeg, args, { timeoutMs: 10 * 60_000, ...(signal ? { signal } : {}), maxStdoutBytes: frames * W * H + 1024 });
  return Buffer.from(dhashFrames(stdout)).toString('hex');
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});

/** Mean differing bits per frame over the frames both hashes have (Infinity when either is empty). */
export function hashDistance(a: Uint8Array, b: Uint8Array): number {
  const frames = Math.min(a.length, b.length) >> 3;
  if (frames === 0) return Infinity;
  let bits = 0;
  for (let i = 0; i < frames * 8; i++) bits += POPCOUNT[a[i]! ^ b[i]!]!;
  return bits / frames;
}

export interface HashedClip {
  clip: AssignedClip;
  hash: Uint8Array;
}

/** Split kept first when a duplicate group must lose members: evaluation splits are smaller and matter more. */
const PROTECT: Record<SplitName, number> = { test: 3, val: 2, train: 1 };

/**
 * Near-duplicate clips of different source videos (mean distance <= threshold bits per frame), grouped
 * transitively. In each group one split is kept (the one holding most members, ties to test, then val; counting
 * only the members `fromEarlierBuild` names when there are any); its
 * clips, then the others', are kept one by one unless within the threshold of a clip of another video kept
 * before: so a clip in another split goes when it would leak, a same-split copy when it repeats one, and no
 * clip goes for a chain alone. Pairwise comparison: fine for tens of thousands of clips.
 */
export function findDuplicates(items: readonly HashedClip[], threshold: number, fromEarlierBuild: (clip: AssignedClip) => boolean = () => false): DuplicateRemoval[] {
  const n = items.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  // clips with a duplicate of another video within the threshold
  const paired = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = items[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = items[j]!;
      if (a.clip.videoId === b.clip.videoId) continue;
      const d = hashDistance(a.hash, b.hash);
      if (d <= threshold) {
        parent[find(j)] = find(i);
        paired[i] = 1;
        paired[j] = 1;
      }
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (!paired[i]) continue;
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  const cross: DuplicateRemoval[] = [];
  const same: DuplicateRemoval[] = [];
  for (const members of groups.values()) {
    // Clips the earlier build in this folder already had, in the split they had, decide first: a model trained
    // on that build has seen them, so a new near-copy in another split is what must go, not they.
    const earlier = members.filter((m) => fromEarlierBuild(items[m]!.clip));
    const counts = new Map<SplitName, number>();
    for (const m of earlier.length > 0 ? earlier : members) counts.set(items[m]!.clip.split, (counts.get(items[m]!.clip.split) ?? 0) + 1);
    const keptSplit = [...counts.entries()].sort((x, y) => y[1] - x[1] || PROTECT[y[0]] - PROTECT[x[0]])[0]![0];
    // The kept split's clips first (the earlier build's before new ones), then the others, each by id. A clip goes
    // only when a clip kept before it, of another video, is within the threshold: a group joins clips through
    // others, and a clip at the far end of a chain (or of the same video as the one kept) is no duplicate of it.
    const rank = (m: number) => (items[m]!.clip.split === keptSplit ? 0 : 2) + (earlier.includes(m) ? 0 : 1);
    const order = [...members].sort((x, y) => rank(x) - rank(y) || (items[x]!.clip.id < items[y]!.clip.id ? -1 : 1));
    const keepers: number[] = [];
    for (const m of order) {
      const c = items[m]!.clip;
      let best: { k: number; d: number } | null = null;
      for (const k of keepers) {
        if (items[k]!.clip.videoId === c.videoId) continue;
        const d = hashDistance(items[m]!.hash, items[k]!.hash);
        if (d <= threshold && (!best || d < best.d)) best = { k, d };
      }
      if (!best) {
        keepers.push(m);
        continue;
      }
      const k = items[best.k]!.clip;
      const removal: DuplicateRemoval = {
        clip: c.id,
        videoId: c.videoId,
        split: c.split,
        duplicateOf: k.id,
        duplicateOfSplit: k.split,
        distance: Math.round(best.d * 100) / 100,
        crossSplit: c.split !== k.split,
      };
      (removal.crossSplit ? cross : same).push(removal);
    }
  }
  return [...cross, ...same];
}
