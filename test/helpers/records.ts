import { newVideo, type Video } from '../../src/core/index.js';

let counter = 0;

/** A plausible record for store and logic tests, with overrides. */
export function makeRecord(overrides: Partial<Video> & { id?: string } = {}): Video {
  counter++;
  const id = overrides.id ?? `${counter.toString(16).padStart(16, '0')}`;
  const base = newVideo(id, { url: `/videos/clip-${counter}.mp4`, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z' }, { path: `/videos/clip-${counter}.mp4`, bytes: 1000 + counter, sha256: id.padEnd(64, '0') }, `2024-01-${String((counter % 28) + 1).padStart(2, '0')}T00:00:00.000Z`);
  return {
    ...base,
    metadata: { durationSec: 10, container: 'mp4', bitRate: 1000, width: 1280, height: 720, fps: 30, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
    ...overrides,
  };
}
