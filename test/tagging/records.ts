import { newVideo, type AiDescription, type Video, type VideoMetadata } from '../../src/core/index.js';

/** A generated record for tagging tests: a local file with metadata, optionally an AI answer. */
export function makeRecord(
  options: {
    path?: string;
    metadata?: Partial<VideoMetadata> | null;
    ai?: Partial<AiDescription> | null;
    scenes?: number;
    title?: string;
    kind?: 'local' | 'http' | 'ytdlp' | 'hls';
    url?: string;
    label?: string;
    id?: string;
  } = {},
): Video {
  const path = options.path ?? '/videos/holiday/beach_day.mp4';
  const v = newVideo(
    options.id ?? 'abc123',
    {
      url: options.url ?? path,
      kind: options.kind ?? 'local',
      fetchedAt: '2026-01-01T00:00:00.000Z',
      ...(options.title ? { title: options.title } : {}),
      ...(options.label ? { list: { file: 'list.csv', label: options.label } } : {}),
    },
    { path, bytes: 1_000_000, sha256: 'f'.repeat(64) },
    '2026-01-01T00:00:00.000Z',
  );
  if (options.metadata !== null) {
    v.metadata = {
      durationSec: 30,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      bitRate: 1_000_000,
      width: 1920,
      height: 1080,
      fps: 25,
      rotation: 0,
      videoCodec: 'h264',
      audio: { codec: 'aac', channels: 2, sampleRate: 44100 },
      containerTags: {},
      ...(options.metadata ?? {}),
    };
  }
  if (options.ai) {
    v.ai = {
      model: 'qwen-vl',
      endpoint: 'example.test/v1',
      provider: 'openai',
      template: 'default',
      instruction: 'describe',
      description: '',
      tags: [],
      actions: [],
      promptTokens: 0,
      completionTokens: 0,
      framesSent: 0,
      at: '2026-01-01T00:00:00.000Z',
      ...options.ai,
    };
  }
  for (let i = 0; i < (options.scenes ?? 0); i++) {
    v.scenes.push({ index: i, startSec: i, endSec: i + 1, startFrame: i * 25, endFrame: (i + 1) * 25, transition: i === 0 ? 'start' : 'cut', score: 1 });
  }
  return v;
}

export const names = (tags: ReadonlyArray<{ name: string }>) => tags.map((t) => t.name);
