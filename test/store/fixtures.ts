import { createHash } from 'node:crypto';
import type { SourceKind, Video } from '../../src/core/index.js';

export function fixtureId(n: number | string): string {
  return createHash('sha256').update(String(n)).digest('hex').slice(0, 16);
}

interface Spec {
  n: number;
  title?: string;
  file?: string;
  kind?: SourceKind;
  duration?: number;
  width?: number;
  height?: number;
  fps?: number;
  codec?: string;
  audio?: boolean;
  scenes?: number;
  description?: string;
  tags?: string[];
  categories?: string[];
  actions?: string[];
  creationTime?: string;
  uploadedAt?: string;
  createdAt?: string;
  bytes?: number;
  failed?: boolean;
  noMetadata?: boolean;
  noAi?: boolean;
}

export function makeVideo(s: Spec): Video {
  const id = fixtureId(s.n);
  const at = s.createdAt ?? new Date(Date.UTC(2025, 0, 1) + s.n * 3_600_000).toISOString();
  const scenes = Array.from({ length: s.scenes ?? 0 }, (_, i) => ({
    index: i,
    startSec: i * 2,
    endSec: i * 2 + 2,
    startFrame: i * 50,
    endFrame: i * 50 + 50,
    transition: (i === 0 ? 'start' : 'cut') as 'start' | 'cut',
    score: 0.5,
  }));
  return {
    id,
    source: {
      url: `https://example.com/${s.file ?? `clip-${s.n}.mp4`}`,
      kind: s.kind ?? 'http',
      ...(s.title ? { title: s.title } : {}),
      ...(s.uploadedAt ? { uploadedAt: s.uploadedAt } : {}),
      fetchedAt: at,
    },
    alsoFrom: [],
    file: { path: `/media/${s.file ?? `clip-${s.n}.mp4`}`, bytes: s.bytes ?? 1000 + s.n * 1000, sha256: createHash('sha256').update(`f${s.n}`).digest('hex') },
    metadata: s.noMetadata
      ? null
      : {
          durationSec: s.duration ?? 10,
          container: 'mov,mp4,m4a,3gp,3g2,mj2',
          bitRate: 1_000_000,
          width: s.width ?? 1280,
          height: s.height ?? 720,
          fps: s.fps ?? 25,
          rotation: 0,
          videoCodec: s.codec ?? 'h264',
          audio: s.audio === false ? null : { codec: 'aac', channels: 2, sampleRate: 48000 },
          ...(s.creationTime ? { creationTime: s.creationTime } : {}),
          containerTags: {},
        },
    scenes,
    ai: s.noAi
      ? null
      : {
          model: 'qwen-vl',
          endpoint: 'example.com/v1',
          provider: 'openai',
          template: 'default',
          instruction: 'describe',
          description: s.description ?? '',
          tags: [],
          actions: s.actions ?? [],
          ...(s.categories?.[0] ? { category: s.categories[0] } : {}),
          promptTokens: 10,
          completionTokens: 10,
          framesSent: 1,
          at,
        },
    tags: (s.tags ?? []).map((name) => ({ name, source: 'rule' as const })),
    categories: (s.categories ?? []).map((name) => ({ name, source: 'rule' })),
    extra: {},
    stages: s.failed
      ? { probe: { status: 'failed', version: '1', inputHash: 'x', at, ms: 1, error: 'boom' } }
      : { probe: { status: 'done', version: '1', inputHash: 'x', at, ms: 1 } },
    createdAt: at,
    updatedAt: at,
  };
}

const WORDS = ['river', 'mountain', 'city', 'night', 'crowd', 'street', 'forest', 'sunset', 'kitchen', 'stage', 'music', 'dog', 'car', 'rain'];
const TAGS = ['outdoor', 'indoor', 'night', 'day', 'people', 'animal', 'water', 'music', 'sport'];
const CATS = ['sports', 'nature', 'music', 'cooking', 'travel'];
const ACTIONS = ['playing guitar', 'dancing', 'running', 'cooking', 'swimming'];
const CODECS = ['h264', 'hevc', 'vp9', 'av1'];
const KINDS: SourceKind[] = ['http', 'ytdlp', 'hls', 'local'];
const SIZES: Array<[number, number]> = [
  [640, 360],
  [854, 480],
  [1280, 720],
  [1920, 1080],
  [3840, 2160],
  [1080, 1920],
];

/** About forty records covering every field the language can query, with a few hand-made ones for ranking. */
export function fixtureVideos(): Video[] {
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = <T>(xs: readonly T[], max: number): T[] => [...new Set(Array.from({ length: Math.floor(rand() * (max + 1)) }, () => pick(xs)))];
  const out: Video[] = [
    makeVideo({ n: 1, title: 'Dancing on the beach', description: 'People dancing at sunset on a sandy beach.', tags: ['outdoor', 'people'], categories: ['travel'], actions: ['dancing'], duration: 30, scenes: 6 }),
    makeVideo({ n: 2, title: 'Kitchen tour', description: 'A long walk along the beach, then dancing in the kitchen.', tags: ['indoor'], categories: ['cooking'], actions: ['cooking'], duration: 45 }),
    makeVideo({ n: 3, file: 'beach-dancing-raw.mov', description: 'Raw footage.', tags: ['outdoor'], duration: 5, codec: 'hevc', audio: false }),
    makeVideo({ n: 4, title: 'Café au lait — crème brûlée', description: 'Une vidéo à Paris. Éclairs et café.', tags: ['indoor', 'Food'], categories: ['cooking'], kind: 'ytdlp', uploadedAt: '20240315' }),
    makeVideo({ n: 5, title: '東京の夜 ビデオ', description: '東京 夜景 渋谷 crossing at night', tags: ['night', 'city'], categories: ['travel'], kind: 'hls', creationTime: '2024-06-30T23:59:00Z' }),
    makeVideo({ n: 6, title: 'Guitar lesson', description: 'Playing guitar slowly, exact phrase here.', tags: ['music', 'indoor'], categories: ['music'], actions: ['playing guitar'], duration: 600, fps: 60, width: 1920, height: 1080 }),
    makeVideo({ n: 7, title: 'Broken upload', noMetadata: true, noAi: true, failed: true, kind: 'local' }),
    makeVideo({ n: 8, title: 'Slow-motion surf', description: 'slow motion waves; phrase exact here is reversed', tags: ['water', 'outdoor', 'slow motion'], categories: ['sports'], actions: ['swimming'], fps: 120, duration: 12.5, scenes: 3, creationTime: '2024-01-01T00:00:00Z' }),
  ];
  for (let n = 9; n <= 44; n++) {
    const [w, h] = pick(SIZES);
    const desc = Array.from({ length: 6 + Math.floor(rand() * 10) }, () => pick(WORDS)).join(' ');
    const month = 1 + Math.floor(rand() * 12);
    out.push(
      makeVideo({
        n,
        ...(rand() < 0.7 ? { title: `${pick(WORDS)} ${pick(WORDS)} ${n}` } : {}),
        file: `${pick(WORDS)}_${n}.mp4`,
        kind: pick(KINDS),
        duration: Math.round(rand() * 1200) / 10,
        width: w,
        height: h,
        fps: pick([24, 25, 29.97, 30, 50, 60]),
        codec: pick(CODECS),
        audio: rand() < 0.7,
        scenes: Math.floor(rand() * 12),
        description: desc,
        tags: some(TAGS, 4),
        categories: some(CATS, 2),
        actions: some(ACTIONS, 2),
        ...(rand() < 0.5 ? { creationTime: `2024-${String(month).padStart(2, '0')}-1${Math.floor(rand() * 9)}T12:00:00Z` } : {}),
        bytes: Math.floor(rand() * 50_000_000),
        failed: rand() < 0.1,
      }),
    );
  }
  return out;
}

/** Queries the contract checks against the reference evaluator: every operator, alone and combined. */
export const CONTRACT_QUERIES: string[] = [
  '',
  'beach',
  'dancing beach',
  'beach -dancing',
  'beach OR guitar',
  '"exact phrase"',
  '"sandy beach"',
  'danc*',
  'gui*',
  'cafe',
  'CAFÉ',
  'creme brulee',
  '東京',
  'ビデオ',
  'slow-motion',
  'tag:outdoor',
  'tag:outdoor -tag:people',
  'tag:food',
  'tag:"slow motion"',
  '-tag:outdoor',
  'tag:night OR tag:water',
  'category:sports',
  'category:music OR category:cooking',
  'action:"playing guitar"',
  'action:dancing',
  'duration:10..60',
  'duration:>30',
  'duration:<=10',
  'duration:1m..',
  'height:>=720',
  'height:1080',
  'width:<1280',
  'fps:>30',
  'fps:29.97',
  'codec:h264',
  'codec:hevc OR codec:av1',
  'source:ytdlp',
  'source:local',
  'resolution:4k',
  'resolution:1080p',
  'scenes:>5',
  'scenes:0',
  'size:>10M',
  'created:2024-01..2024-06',
  'created:2024-06-30',
  'created:>=2025',
  'added:2025-01-01',
  'has:audio',
  '-has:audio',
  'has:ai',
  'has:description',
  'has:scenes',
  'has:metadata',
  'is:failed',
  'is:ok',
  'name:beach',
  'name:kitchen',
  'container:mov',
  'audio-codec:aac',
  'river tag:outdoor duration:>5',
  '(river OR city) -night',
  'music (tag:indoor OR category:music) -tag:night',
  'NOT (has:audio OR is:failed)',
  'dancing beach tag:outdoor -tag:night category:travel action:dancing duration:10..60 height:>=720 fps:>=25 codec:h264 source:http scenes:>5 has:audio',
];
