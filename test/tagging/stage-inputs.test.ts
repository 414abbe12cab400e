import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newVideo, type Video } from '../../src/core/index.js';
import { classifyInputs, inputParts, taggingInputs } from '../../src/tagging/index.js';

/**
 * The `tag` and `classify` stage input strings are hashed into every tagged record's stage entries: a change to
 * them makes every library re-tag everything once, as if its records had changed. These pin them, as built
 * before they were assembled from shared parts, for records with every field they read.
 */
function full(): Video {
  const v = newVideo('00000000000000aa', { url: 'https://example.com/v/1', kind: 'ytdlp', fetchedAt: '2024-01-01T00:00:00.000Z', title: 'Sunset “surf”', uploader: 'ann', list: { path: 'urls.csv', row: 3, label: 'surfing', split: 'train' } as never, pageUrl: 'https://example.com/p' } as never, { path: '/lib/beach/surfSunset_2019-06-01.mp4', bytes: 123456, sha256: 'a'.repeat(64) }, '2024-01-02T00:00:00.000Z');
  v.metadata = { durationSec: 61.5, container: 'mov,mp4', bitRate: 2_000_000, width: 1920, height: 1080, fps: 29.97, rotation: 90, videoCodec: 'h264', pixelFormat: 'yuv420p', audio: { codec: 'aac', channels: 2, sampleRate: 48000 }, creationTime: '2019-06-01T10:00:00.000Z', containerTags: { title: 'Sunset', keywords: 'beach, surf', comment: 'tab\there' } } as never;
  v.scenes = [
    { index: 0, startSec: 0, endSec: 30, startFrame: 0, endFrame: 900, transition: 'cut', score: 1, description: 'a wave' },
    { index: 1, startSec: 30, endSec: 61.5, startFrame: 900, endFrame: 1845, transition: 'fade', score: 0.4 },
  ] as never;
  v.ai = { description: 'Surfers ride waves at sunset.\nGolden light.', tags: ['surf', 'Sunset'], category: 'sports', actions: ['surfing', 'riding a wave'], model: 'qwen2-vl', raw: '{}' } as never;
  v.tags = [
    { name: 'from-ytdlp', source: 'metadata', confidence: 0.7, rule: 'ytdlp:tags' },
    { name: 'surf', source: 'filename', confidence: 0.5, rule: 'folder-word' },
  ] as never;
  v.categories = [{ name: 'sports', source: 'ai', confidence: 0.9, rule: 'taxonomy', label: 'sports' }, { name: 'surfing', source: 'list' }] as never;
  v.extra = {
    note: { b: 2, a: [1, 'x'] },
    _tagging: { carried: [{ name: 'from-ytdlp', source: 'metadata', confidence: 0.7 }], produced: ['from-ytdlp\u001fmetadata\u001fytdlp:tags', 'surf\u001ffilename\u001ffolder-word'] },
    _classify: { carried: [{ name: 'surfing', source: 'list' }], produced: ['sports\u001fai\u001ftaxonomy\u001fsports'] },
  };
  return v;
}

function bare(): Video {
  const v = newVideo('00000000000000bb', { url: '/x/y.mp4', kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z' }, { path: '/x/y.mp4', bytes: 0, sha256: 'b'.repeat(64) }, '2024-01-02T00:00:00.000Z');
  return v;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the stage input strings', () => {
  it('are what they were for records with every field, and with none', () => {
    expect([full(), bare()].map((v) => [sha(taggingInputs(v)), sha(classifyInputs(v))])).toEqual(GOLDEN);
  });

  it('tell tagging that the categories acquisition gave changed: rules read them while they tag', () => {
    const v = full();
    const w = { ...v, categories: [...v.categories, { name: 'Entertainment', source: 'metadata' }] } as Video;
    expect(taggingInputs(w)).not.toBe(taggingInputs(v));
  });

  it('are the same built from parts shared by both stages', () => {
    for (const v of [full(), bare()]) {
      const parts = inputParts(v);
      expect(taggingInputs(v, parts)).toBe(taggingInputs(v));
      expect(classifyInputs(v, parts)).toBe(classifyInputs(v));
    }
  });
});

// The full record's classify string changed once on purpose: acquisition's copy of its list label is no longer
// carried (classification gives the label itself, as an action), so such records are classified again, once.
const GOLDEN = [
  ['d5ac64957e673c30318c80a8fa5c967012fba56ca246a1c2839e8fb551638a39', '7f6d2a45b57a359ed4edb675fcc9eba52ffcbc45840ee8364302bfe3422ab8c6'],
  ['2bb8085000392d364f92c6a26b95ff0d8d5811a15967ce4aa92e190ed5d26c11', '9d4ff0eaf93f75e86831df3b8673ea6ac3f35a721429aed80ad046aba4c02ba3'],
];
