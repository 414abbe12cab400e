import type { Video } from '../core/index.js';

/** The documented flat CSV columns: name, what it holds, how it is read off the record. */
export const CSV_COLUMNS: ReadonlyArray<{ name: string; doc: string; get: (v: Video) => string | number | null }> = [
  { name: 'id', doc: 'video id (content hash prefix)', get: (v) => v.id },
  { name: 'path', doc: 'file path', get: (v) => v.file.path },
  { name: 'title', doc: 'title from the source or container', get: (v) => v.source.title ?? v.metadata?.containerTags.title ?? '' },
  { name: 'source_kind', doc: 'local, http, ytdlp or hls', get: (v) => v.source.kind },
  { name: 'source_url', doc: 'URL or original path', get: (v) => v.source.url },
  { name: 'duration_sec', doc: 'duration in seconds', get: (v) => v.metadata?.durationSec ?? null },
  { name: 'width', doc: 'display width (after rotation)', get: (v) => v.metadata?.width ?? null },
  { name: 'height', doc: 'display height (after rotation)', get: (v) => v.metadata?.height ?? null },
  { name: 'fps', doc: 'frames per second', get: (v) => v.metadata?.fps ?? null },
  { name: 'video_codec', doc: 'video codec', get: (v) => v.metadata?.videoCodec ?? '' },
  { name: 'audio_codec', doc: 'audio codec, empty when silent', get: (v) => v.metadata?.audio?.codec ?? '' },
  { name: 'bit_rate', doc: 'container bit rate, bits/s', get: (v) => v.metadata?.bitRate ?? null },
  { name: 'bytes', doc: 'file size', get: (v) => v.file.bytes },
  { name: 'sha256', doc: 'file sha256', get: (v) => v.file.sha256 },
  { name: 'container', doc: 'container format', get: (v) => v.metadata?.container ?? '' },
  { name: 'rotation', doc: 'clockwise rotation for display in degrees (0, 90, 180, 270)', get: (v) => v.metadata?.rotation ?? null },
  { name: 'scene_count', doc: 'number of scenes', get: (v) => v.scenes.length },
  { name: 'tags', doc: 'tag names joined with ;', get: (v) => v.tags.map((t) => t.name).join(';') },
  { name: 'categories', doc: 'category names joined with ;', get: (v) => v.categories.map((c) => c.name).join(';') },
  { name: 'description', doc: "the model's description", get: (v) => v.ai?.description ?? '' },
  { name: 'created_at', doc: 'when the record was made', get: (v) => v.createdAt },
  { name: 'failed_stages', doc: 'stages that failed, joined with ;', get: (v) => Object.entries(v.stages).filter(([, s]) => s.status === 'failed').map(([n]) => n).join(';') },
];
