import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, configWith, ContentCache, MediaTools } from '../../src/core/index.js';
import { createDescribeStage } from '../../src/workflow/index.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const endpoint = process.env.VIDEODEX_TEST_QWEN_ENDPOINT;
const t = tempDir('videodex-real-vlm-');
afterAll(() => t.cleanup());

describe.skipIf(!endpoint)('a real model server (VIDEODEX_TEST_QWEN_ENDPOINT)', () => {
  const clip = path.join(t.dir, 'bars.mp4');
  beforeAll(async () => {
    await makeTestVideo(clip, { seconds: 4, width: 640, height: 360, source: 'smptebars' });
  });

  it('describes a colour-bar clip as JSON', async () => {
    const config = configWith({
      Paths: { DataDir: t.dir },
      QwenVL: {
        PublicEndpoint: endpoint,
        AccessKey: process.env.VIDEODEX_TEST_QWEN_KEY ?? '',
        Provider: process.env.VIDEODEX_TEST_QWEN_PROVIDER ?? 'openai',
        Model: process.env.VIDEODEX_TEST_QWEN_MODEL ?? 'qwen2-vl-7b-instruct',
        Template: 'tags-json',
        MaxFrames: 4,
      },
    });
    const tools = await MediaTools.resolve({ ffmpeg: 'auto', ffprobe: 'auto' });
    const video = makeRecord({ file: { path: clip, bytes: 1, sha256: 'c'.repeat(64) }, metadata: { durationSec: 4, container: 'mp4', bitRate: null, width: 640, height: 360, fps: 25, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} } });
    const patch = await createDescribeStage(config).run(video, {
      config,
      logger: pino({ level: 'silent' }),
      tools,
      cache: new ContentCache(path.join(t.dir, 'cache')),
      audit: new AuditLog(path.join(t.dir, 'audit.jsonl')),
      signal: new AbortController().signal,
      progress: () => undefined,
      cpu: (job) => job(),
    });
    expect(patch.ai!.description.length).toBeGreaterThan(10);
    expect(patch.ai!.tags.length).toBeGreaterThan(0);
  }, 300_000);
});

if (!endpoint) {
  describe('a real model server', () => {
    it.skip('skipped: set VIDEODEX_TEST_QWEN_ENDPOINT (and VIDEODEX_TEST_QWEN_KEY, _MODEL, _PROVIDER) to run', () => undefined);
  });
}
