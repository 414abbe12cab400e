import { describe, expect, it } from 'vitest';
import { CONFIG_SPEC, configWith, newVideo, type ConfigKey } from '../../src/core/index.js';
import { keyframesInputHash, scenesInputHash } from '../../src/workflow/index.js';

const video = {
  ...newVideo('abc', { url: '/v.mp4', kind: 'local', fetchedAt: '2026-01-01T00:00:00Z' }, { path: '/v.mp4', bytes: 1, sha256: 'f00d' }),
  metadata: { durationSec: 10, container: 'mp4', bitRate: null, width: 1280, height: 720, fps: 25, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
  scenes: [{ index: 0, startSec: 0, endSec: 10, startFrame: 0, endFrame: 250, transition: 'start' as const, score: 0 }],
};

/** A different valid value for a key. */
function another(spec: ConfigKey): unknown {
  const d = spec.default;
  if (typeof d === 'boolean') return !d;
  if (typeof d === 'number') return spec.allowed.includes('integer') ? d + 1 : d + 0.5;
  if (spec.allowed.startsWith('one of ')) return spec.allowed.slice(7).split(', ').find((v) => v !== d);
  if (spec.allowed.startsWith('frames')) return '0.6s';
  return `${String(d)}x`;
}

const keyframeKeys = new Set(['KeyframePosition', 'KeyframeWidth', 'KeyframeQuality', 'ContactSheet', 'ContactSheetColumns']);

describe('scenes stage input hash', () => {
  const base = configWith();
  for (const [key, spec] of Object.entries(CONFIG_SPEC.SceneDetection as Record<string, ConfigKey>)) {
    if (key === 'Enabled') continue;
    it(`${keyframeKeys.has(key) ? 'keyframes' : 'scenes'} re-run when [SceneDetection] ${key} changes`, () => {
      const changed = configWith({ SceneDetection: { [key]: another(spec) } });
      if (keyframeKeys.has(key)) {
        expect(scenesInputHash(video, changed)).toBe(scenesInputHash(video, base));
        expect(keyframesInputHash(video, changed)).not.toBe(keyframesInputHash(video, base));
      } else {
        expect(scenesInputHash(video, changed)).not.toBe(scenesInputHash(video, base));
      }
    });
  }
  it('keyframes of MPEG-TS/PS videos, once taken by an inexact seek, are redone', () => {
    const ts = { ...video, metadata: { ...video.metadata, container: 'mpegts' } };
    expect(keyframesInputHash(ts, base)).not.toBe(keyframesInputHash(video, base));
  });
  it('keyframes of a video starting after its file are redone (they came from the scene before); so are its Matroska scene lists', () => {
    const late = { ...video, metadata: { ...video.metadata, videoStartSec: 2 } };
    expect(keyframesInputHash(late, base)).not.toBe(keyframesInputHash(video, base));
    expect(scenesInputHash(late, base)).toBe(scenesInputHash(video, base));
    const mkv = { ...video, metadata: { ...video.metadata, container: 'matroska,webm' } };
    expect(scenesInputHash({ ...mkv, metadata: { ...mkv.metadata, videoStartSec: 2 } }, base)).not.toBe(scenesInputHash(mkv, base));
  });
  it('scenes and keyframes of a video whose cover picture was listed first (and decoded instead) are redone', () => {
    const covered = { ...video, metadata: { ...video.metadata, videoStreamIndex: 1 } };
    expect(scenesInputHash(covered, base)).not.toBe(scenesInputHash(video, base));
    expect(keyframesInputHash(covered, base)).not.toBe(keyframesInputHash(video, base));
  });
  it('keyframes of non-square pixels are redone (they came out squeezed)', () => {
    const dvd = { ...video, metadata: { ...video.metadata, sampleAspectRatio: '32:27' } };
    expect(keyframesInputHash(dvd, base)).not.toBe(keyframesInputHash(video, base));
  });
  it('keyframes do not re-run because of the keyframe paths they wrote themselves', () => {
    const written = { ...video, scenes: video.scenes.map((s) => ({ ...s, keyframe: '/kf/scene-0001.jpg' })) };
    expect(keyframesInputHash(written, base)).toBe(keyframesInputHash(video, base));
  });
});
