/**
 * The search benchmark's workload: deterministic realistic records and a fixed query mix. Its own module so
 * profiling scripts replay exactly what `bench/search.ts` measures (same seed, records first, then queries).
 */
import { createHash } from 'node:crypto';
import type { SourceKind, Video } from '../src/core/index.js';
import type { SearchQuery } from '../src/store/index.js';

// ---- deterministic data -------------------------------------------------------------------------------
let seed = 20240601;
function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
/** Zipf-ish: low indexes much more likely, like real vocabularies and tag clouds. */
const zipf = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(xs.length * rand() ** 2.2))]!;

const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'ten', 'vo', 'su', 'ne', 'ptor', 'zan', 'el', 'qui', 'dor', 'ba', 'fi', 'gu', 'sha', 'wel'];
const COMMON = ['person', 'people', 'man', 'woman', 'child', 'dog', 'cat', 'car', 'street', 'beach', 'water', 'sky', 'tree', 'city', 'night', 'day', 'music', 'guitar', 'dancing', 'running', 'walking', 'kitchen', 'food', 'cooking', 'ball', 'game', 'sport', 'field', 'mountain', 'snow', 'river', 'boat', 'bicycle', 'crowd', 'stage', 'light', 'red', 'blue', 'green', 'white'];
const VOCAB = [...COMMON, ...Array.from({ length: 2000 }, (_, i) => SYLLABLES[i % 18]! + SYLLABLES[(i * 7) % 18]! + SYLLABLES[(i * 13) % 18]! + (i > 600 ? String(i) : ''))];
const TAGS = [...['outdoor', 'indoor', 'people', 'night', 'day', 'water', 'music', 'sport', 'animal', 'vehicle', 'food', 'nature', 'urban', 'crowd', 'slow motion'], ...Array.from({ length: 185 }, (_, i) => `tag${i}`)];
const CATS = ['sports', 'music', 'nature', 'cooking', 'travel', 'news', 'education', 'gaming', 'vlog', 'comedy', 'animals', 'science', 'art', 'fashion', 'cars', 'dance', 'fitness', 'film', 'kids', 'tech'];
const ACTIONS = ['playing guitar', 'dancing', 'running', 'walking', 'cooking', 'swimming', 'riding bike', 'singing', 'jumping', 'talking', ...Array.from({ length: 40 }, (_, i) => `action ${i}`)];
const CODECS = ['h264', 'h264', 'h264', 'hevc', 'vp9', 'av1', 'mpeg4'];
const KINDS: SourceKind[] = ['local', 'local', 'http', 'ytdlp', 'ytdlp', 'hls'];
const SIZES: Array<[number, number]> = [[640, 360], [854, 480], [1280, 720], [1280, 720], [1920, 1080], [1920, 1080], [3840, 2160], [1080, 1920]];

function sentence(n: number): string {
  return Array.from({ length: n }, () => zipf(VOCAB)).join(' ');
}

export function makeRecord(i: number): Video {
  const id = createHash('sha256').update(`bench${i}`).digest('hex').slice(0, 16);
  const [w, h] = pick(SIZES);
  const at = new Date(Date.UTC(2023, 0, 1) + Math.floor(rand() * 700 * 86_400_000)).toISOString();
  const title = rand() < 0.8 ? sentence(2 + Math.floor(rand() * 5)) : undefined;
  const file = `${zipf(VOCAB)}_${i}.mp4`;
  const scenes = Math.floor(rand() * 40);
  return {
    id,
    source: { url: `https://videos.example.com/${file}`, kind: pick(KINDS), ...(title ? { title } : {}), fetchedAt: at },
    alsoFrom: [],
    file: { path: `/library/${file}`, bytes: Math.floor(rand() * 2e9), sha256: id.padEnd(64, '0') },
    metadata: {
      durationSec: Math.round(rand() * rand() * 36000) / 10,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      bitRate: 2_000_000,
      width: w,
      height: h,
      fps: pick([24, 25, 29.97, 30, 50, 60]),
      rotation: 0,
      videoCodec: pick(CODECS),
      audio: rand() < 0.8 ? { codec: 'aac', channels: 2, sampleRate: 48000 } : null,
      ...(rand() < 0.5 ? { creationTime: new Date(Date.UTC(2018, 0, 1) + Math.floor(rand() * 2500 * 86_400_000)).toISOString() } : {}),
      containerTags: {},
    },
    scenes: Array.from({ length: Math.min(scenes, 5) }, (_, k) => ({ index: k, startSec: k * 5, endSec: k * 5 + 5, startFrame: k * 125, endFrame: k * 125 + 125, transition: 'cut' as const, score: 0.4 })),
    ai:
      rand() < 0.85
        ? {
            model: 'qwen2-vl-7b',
            endpoint: 'dashscope.aliyuncs.com/compatible-mode/v1',
            provider: 'openai',
            template: 'default',
            instruction: 'Describe the video.',
            description: sentence(20 + Math.floor(rand() * 60)),
            tags: [],
            category: zipf(CATS),
            actions: Array.from({ length: Math.floor(rand() * 3) }, () => zipf(ACTIONS)),
            promptTokens: 1200,
            completionTokens: 150,
            framesSent: 8,
            at,
          }
        : null,
    tags: [...new Set(Array.from({ length: 2 + Math.floor(rand() * 5) }, () => zipf(TAGS)))].map((name) => ({ name, source: 'rule' as const })),
    categories: [...new Set(Array.from({ length: 1 + Math.floor(rand() * 2) }, () => zipf(CATS)))].map((name) => ({ name, source: 'rule' })),
    extra: {},
    stages: rand() < 0.03 ? { probe: { status: 'failed', version: '1', inputHash: 'x', at, ms: 1, error: 'x' } } : { probe: { status: 'done', version: '1', inputHash: 'x', at, ms: 1 } },
    createdAt: at,
    updatedAt: at,
  };
}

// ---- the query mix ------------------------------------------------------------------------------------
export type Kind = 'text' | 'filter' | 'text+filter' | 'facets' | 'sort';
export function makeQueries(n: number): Array<{ kind: Kind; q: SearchQuery }> {
  const out: Array<{ kind: Kind; q: SearchQuery }> = [];
  const word = (): string => (rand() < 0.5 ? pick(COMMON) : zipf(VOCAB));
  const filter = (): string =>
    pick([
      () => `tag:${JSON.stringify(zipf(TAGS))}`,
      () => `category:${zipf(CATS)}`,
      () => `duration:${Math.floor(rand() * 60)}..${60 + Math.floor(rand() * 600)}`,
      () => 'height:>=720',
      () => `codec:${pick(CODECS)}`,
      () => `source:${pick(KINDS)}`,
      () => 'has:audio',
      () => `-tag:${JSON.stringify(zipf(TAGS))}`,
      () => `action:${JSON.stringify(zipf(ACTIONS))}`,
      () => `created:${2018 + Math.floor(rand() * 6)}-0${1 + Math.floor(rand() * 6)}..${2024}-06`,
      () => 'fps:>30',
      () => `scenes:>${Math.floor(rand() * 4)}`,
    ])();
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.3) {
      const t = pick([() => word(), () => `${word()} ${word()}`, () => `${word().slice(0, 3)}*`, () => `"${pick(COMMON)} ${pick(COMMON)}"`, () => `${word()} OR ${word()}`, () => `${word()} -${word()}`])();
      out.push({ kind: 'text', q: { text: t, facets: false } });
    } else if (r < 0.55) {
      out.push({ kind: 'filter', q: { text: rand() < 0.5 ? filter() : `${filter()} ${filter()}`, facets: false } });
    } else if (r < 0.75) {
      out.push({ kind: 'text+filter', q: { text: `${word()} ${filter()}`, facets: false } });
    } else if (r < 0.9) {
      out.push({ kind: 'facets', q: { text: rand() < 0.5 ? filter() : word() } });
    } else {
      out.push({ kind: 'sort', q: { text: rand() < 0.5 ? filter() : '', sort: pick(['duration-desc', 'created-desc', 'name-asc', 'size-desc', 'added-desc'] as const), facets: false } });
    }
  }
  return out;
}

