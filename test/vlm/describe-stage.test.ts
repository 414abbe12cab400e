import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBufferSize, OpenAiVlmClient, RateLimiter } from '../../src/analysis/vlm/index.js';
import { App } from '../../src/app.js';
import { AuditLog, ConfigError, configWith, ContentCache, loadConfig, MediaTools, ModelError, runTool, type Config, type Scene, type Video } from '../../src/core/index.js';
import { createDescribeStage, type StageContext } from '../../src/workflow/index.js';
import { FakeVlmServer, imagesIn, reply, textIn, type RecordedRequest } from '../helpers/fake-vlm-server.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';
import { makeRecord } from '../helpers/records.js';

const CANARY = 'sk-CANARY-5f3a9c2e71d04b8a';
const t = tempDir('videodex-describe-');
const clip = path.join(t.dir, 'clip.mp4');
const keyframes: string[] = [];
let tools: MediaTools;

beforeAll(async () => {
  await makeTestVideo(clip, { seconds: 6, width: 320, height: 240, fps: 10 });
  mkdirSync(path.join(t.dir, 'kf'), { recursive: true });
  for (let i = 0; i < 10; i++) {
    const out = path.join(t.dir, 'kf', `${i}.jpg`);
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-ss', String(i * 0.5 + 0.2), '-i', clip, '-frames:v', '1', '-vf', 'scale=480:-2', '-q:v', '5', out]);
    keyframes.push(out);
  }
  tools = await MediaTools.resolve({ ffmpeg: 'auto', ffprobe: 'auto' });
});
afterAll(() => t.cleanup());

const fake = fakeVlmServers();

function sizesOf(req: RecordedRequest): Array<{ width: number; height: number }> {
  return imagesIn(req.body).map((url) => jpegBufferSize(Buffer.from(url.split('base64,')[1]!, 'base64'))!);
}

function sceneRecord(n: number, overrides: Partial<Video> = {}): Video {
  const scenes: Scene[] = Array.from({ length: n }, (_, i) => ({
    index: i,
    startSec: i * 0.6,
    endSec: (i + 1) * 0.6,
    startFrame: i * 6,
    endFrame: (i + 1) * 6,
    keyframe: keyframes[i % keyframes.length],
    transition: i === 0 ? 'start' : 'cut',
    score: 40,
  }));
  return makeRecord({
    file: { path: clip, bytes: 1000, sha256: 'ab'.repeat(32) },
    metadata: { durationSec: 6, container: 'mp4', bitRate: 1000, width: 320, height: 240, fps: 10, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
    scenes,
    ...overrides,
  });
}

let contexts = 0;
function context(config: Config, dir: string): StageContext {
  return {
    config,
    logger: pino({ level: 'silent' }),
    tools,
    // answers are kept by request across runs: tests on the shared folder each get a cache of their own, so one
    // test's answer to the same prompt is not another's
    cache: new ContentCache(dir === t.dir ? path.join(dir, 'cache', `run-${++contexts}`) : path.join(dir, 'cache')),
    audit: new AuditLog(path.join(dir, 'audit.jsonl'), [CANARY]),
    signal: new AbortController().signal,
    progress: () => undefined,
    cpu: (job) => job(),
  };
}

function qwen(s: FakeVlmServer, extra: Record<string, unknown> = {}, dir = t.dir): Config {
  return configWith({
    Paths: { DataDir: dir },
    QwenVL: { PublicEndpoint: `${s.url}/v1`, AccessKey: CANARY, BackoffMs: 5, Retries: 2, RequestsPerMinute: 100_000, ...extra },
  });
}

const unlimited = () => new RateLimiter(1_000_000);

describe('describe stage: frames, sizes, prompt', () => {
  it('sends one keyframe per scene as images sized in multiples of 28 within MaxPixelsPerFrame', async () => {
    const s = await fake({ auth: { openai: `Bearer ${CANARY}` } });
    const config = qwen(s, { DefaultInstruction: 'Name every colour you see.' });
    const stage = createDescribeStage(config, { limiter: unlimited() });
    const patch = await stage.run(sceneRecord(6), context(config, t.dir));
    expect(s.requests).toHaveLength(1);
    const sizes = sizesOf(s.requests[0]!);
    expect(sizes).toHaveLength(6);
    // Keyframes are 480x360: 476x364 is the nearest 28-multiple size within 200704 pixels.
    for (const size of sizes) expect(size).toEqual({ width: 476, height: 364 });
    const text = textIn(s.requests[0]!.body);
    expect(text).toContain('Name every colour you see.');
    expect(text).toContain('6 frames taken in order');
    expect(patch.ai).toMatchObject({ description: expect.stringMatching(/test pattern/), template: 'describe', framesSent: 6, provider: 'openai', model: 'qwen2-vl-7b-instruct' });
    expect(patch.ai!.endpoint).toBe(`${new URL(s.url).host}/v1`);
    expect(patch.ai!.promptTokens).toBe(100 + 6 * 170);
  });

  it('thins many scenes evenly to MaxFrames and shrinks frames to the pixel budget', async () => {
    const s = await fake();
    const config = qwen(s, { MaxFrames: 4, MaxPixelsPerFrame: 50_176 });
    const video = sceneRecord(40);
    const stage = createDescribeStage(config, { limiter: unlimited() });
    const plan = stage.planDetails(video, config);
    expect(plan.requests[0]!.picks.map((p) => p.sceneIndex)).toEqual([5, 15, 25, 35]);
    await stage.run(video, context(config, t.dir));
    const sizes = sizesOf(s.requests[0]!);
    expect(sizes).toHaveLength(4);
    for (const size of sizes) {
      expect(size.width % 28).toBe(0);
      expect(size.height % 28).toBe(0);
      expect(size.width * size.height).toBeLessThanOrEqual(50_176);
    }
  });

  it('falls back to evenly spaced frames cut from the video when there are no scenes', async () => {
    const s = await fake();
    const config = qwen(s, { MaxFrames: 5, VideoInput: 'frames' });
    await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(0), context(config, t.dir));
    const part = s.requests[0]!.body.messages[0].content[0];
    expect(part.type).toBe('video');
    expect(part.video).toHaveLength(5);
    // 320x240 video: rounded to multiples of 28 (within the budget).
    expect(sizesOf(s.requests[0]!)[0]).toEqual({ width: 308, height: 252 });
  });

  it('cuts frames from an MPEG-TS (no index) from the key frame before them: a fast seek found no frame near the end', async () => {
    // one key frame, and timestamps starting at 1.4 s, as ffmpeg writes MPEG-TS
    const ts = path.join(t.dir, 'one-gop.ts');
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '250', '-pix_fmt', 'yuv420p', ts]);
    const s = await fake();
    const config = qwen(s, { MaxFrames: 8, MinFrames: 8, VideoInput: 'frames' });
    const video = sceneRecord(0, {
      file: { path: ts, bytes: 1000, sha256: 'cd'.repeat(32) },
      metadata: { durationSec: 2, container: 'mpegts', bitRate: 1000, width: 320, height: 240, fps: 25, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} },
    });
    await createDescribeStage(config, { limiter: unlimited() }).run(video, context(config, t.dir));
    expect(s.requests[0]!.body.messages[0].content[0].video).toHaveLength(8);
    // the frames are the video's own, in order: testsrc2's moving pattern makes each differ from the one before
    const frames = (s.requests[0]!.body.messages[0].content[0].video as string[]).map((u) => u.split('base64,')[1]);
    expect(new Set(frames).size).toBe(8);
  });

  it('cuts frames of a video starting after its file (audio first) at their own time, in MP4 and MPEG-TS: they were that much early', async () => {
    const { probeVideo } = await import('../../src/analysis/index.js');
    const rgb = path.join(t.dir, 'rgb3.mp4');
    // red, green, blue: one second each
    await runTool(testFfmpeg(), [
      '-loglevel', 'error', '-y',
      '-filter_complex', 'color=c=red:s=160x90:r=25:d=1[a];color=c=lime:s=160x90:r=25:d=1[b];color=c=blue:s=160x90:r=25:d=1[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]',
      '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '75', rgb,
    ]);
    const colour = async (b64: string) => {
      const jpg = path.join(t.dir, `c-${Math.random().toString(36).slice(2)}.jpg`);
      writeFileSync(jpg, Buffer.from(b64, 'base64'));
      const { stdout } = await runTool(testFfmpeg(), ['-loglevel', 'error', '-i', jpg, '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
      const c = [stdout[0]!, stdout[1]!, stdout[2]!];
      return (['red', 'green', 'blue'] as const)[c.indexOf(Math.max(...c))];
    };
    for (const ext of ['mp4', 'ts']) {
      // the video starts 2 s into the file; a sine plays from 0
      const late = path.join(t.dir, `late-describe.${ext}`);
      await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-itsoffset', '2', '-i', rgb, '-f', 'lavfi', '-i', 'sine=d=5', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', late]);
      const metadata = await probeVideo(tools.ffprobe.path, late);
      expect(metadata.videoStartSec, ext).toBeGreaterThan(1.9);
      const s = await fake();
      const config = qwen(s, { MaxFrames: 3, MinFrames: 3, VideoInput: 'images' });
      await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(0, { file: { path: late, bytes: 1000, sha256: 'ef'.repeat(32) }, metadata }), context(config, t.dir));
      const frames = imagesIn(s.requests[0]!.body).map((u) => u.split('base64,')[1]!);
      expect(await Promise.all(frames.map(colour)), ext).toEqual(['red', 'green', 'blue']);
    }
  });

  it('refuses a video over MaxTokensPerVideo without calling the model', async () => {
    const s = await fake();
    const config = qwen(s, { MaxTokensPerVideo: 500 });
    const err = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(8), context(config, t.dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('E_MODEL_BUDGET');
    expect((err as ModelError).message).toMatch(/estimated \d+ prompt tokens \(8 frames at 476x364.*exceed \[QwenVL\] MaxTokensPerVideo = 500/);
    expect(s.requests).toHaveLength(0);
  });

  it('with PerScene over many scenes, the refusal says the captions cost most and what lowers them (MaxFrames does not)', async () => {
    const s = await fake();
    const config = qwen(s, { PerScene: true, MaxTokensPerVideo: 8000 });
    const stage = createDescribeStage(config, { limiter: unlimited() });
    const err = (await stage.run(sceneRecord(60), context(config, t.dir)).catch((e: unknown) => e)) as ModelError;
    expect(err.code).toBe('E_MODEL_BUDGET');
    expect(err.message).toMatch(/\(76 frames at 476x364, 9 requests: \d+ for the video, \d+ for the captions of its 60 scenes \(PerScene\)\) exceed \[QwenVL\] MaxTokensPerVideo = 8000; lower MaxPixelsPerFrame, set PerScene = false or detect fewer scenes/);
    expect(err.message).not.toMatch(/MaxFrames/);
    expect(s.requests).toHaveLength(0);
  });
});

describe('describe stage: VideoInput = url', () => {
  it('sends the source URL itself, estimating the server\'s own 2-fps sampling', async () => {
    const s = await fake();
    const config = qwen(s, { VideoInput: 'url' });
    const video = sceneRecord(3, { source: { url: 'https://cdn.example/clip.mp4', kind: 'http', fetchedAt: '2024-01-01T00:00:00Z' } });
    const stage = createDescribeStage(config, { limiter: unlimited() });
    const plan = stage.planDetails(video, config);
    // 6 s of 320x240: 12 frames, enlarged to the video minimum of 128 patches (392x280 = 14x10 patches), in 6 pairs.
    expect(plan.requests[0]!.visualTokens).toBe(6 * 14 * 10 + 2);
    const patch = await stage.run(video, context(config, t.dir));
    expect(s.requests[0]!.body.messages[0].content[0]).toEqual({ type: 'video_url', video_url: { url: 'https://cdn.example/clip.mp4' } });
    expect(patch.ai!.framesSent).toBe(0);
  });

  it('sends no page yt-dlp read, HLS playlist or trimmed list row as the video URL: the file is inlined, or the video refused', async () => {
    const s = await fake();
    const config = qwen(s, { VideoInput: 'url' });
    const at = '2024-01-01T00:00:00Z';
    const notTheFile = [
      { url: 'https://www.youtube.com/watch?v=abc', kind: 'ytdlp' as const, fetchedAt: at },
      { url: 'https://cdn.example/live/index.m3u8', kind: 'hls' as const, fetchedAt: at },
      { url: 'https://cdn.example/full.mp4', kind: 'http' as const, fetchedAt: at, list: { file: 'k.csv', start: 10, end: 20, trim: 'copy' as const } },
    ];
    const stage = createDescribeStage(config, { limiter: unlimited() });
    for (const source of notTheFile) {
      await stage.run(sceneRecord(3, { source }), context(config, t.dir));
      const sent = s.requests.at(-1)!.body.messages[0].content[0];
      expect(sent.type).toBe('video_url');
      expect(sent.video_url.url).toMatch(/^data:video\/mp4;base64,/);
    }
    const big = sceneRecord(3, { source: notTheFile[0]!, file: { path: clip, bytes: 50_000_000, sha256: 'cd'.repeat(32) } });
    expect(() => stage.planDetails(big, config)).toThrow(/needs a direct http\(s\) download of the video \(not a yt-dlp page, an HLS playlist or a trimmed clip\)/);
  });

  it('inlines a file only when its base64 fits the 10 MB limit (a 9 MB file is 12 MB of base64)', () => {
    const s = { url: '/videos/clip.mp4', kind: 'local' as const, fetchedAt: '2024-01-01T00:00:00Z' };
    const config = configWith({ QwenVL: { PublicEndpoint: 'http://127.0.0.1:9/v1', VideoInput: 'url' } });
    const stage = createDescribeStage(config, { limiter: unlimited() });
    const sized = (bytes: number) => sceneRecord(3, { source: s, file: { path: clip, bytes, sha256: 'ef'.repeat(32) } });
    expect(() => stage.planDetails(sized(9 * 1024 * 1024), config)).toThrow(/or a file under 7\.5 MB to inline \(10 MB as base64\)/);
    expect(stage.planDetails(sized(7 * 1024 * 1024), config).videoInput).toBe('url');
  });

  it('tells the model of the frames the server samples, not of "0 frames" with no frame times', async () => {
    const s = await fake();
    const config = qwen(s, { VideoInput: 'url' });
    const video = sceneRecord(3, { source: { url: 'https://cdn.example/clip.mp4', kind: 'http', fetchedAt: '2024-01-01T00:00:00Z' } });
    await createDescribeStage(config, { limiter: unlimited() }).run(video, context(config, t.dir));
    const prompt = textIn(s.requests[0]!.body);
    expect(prompt).toContain('You are looking at about 12 frames taken in order');
    expect(prompt).toContain('Frame times: spread evenly over the video (sampled by the server).');
    expect(prompt).not.toMatch(/\b0 frames|Frame times: \./);
  });
});

describe('describe stage: JSON templates', () => {
  const answer = { description: 'Colour bars and a moving gradient.', tags: ['test pattern', 'colour'], category: 'test', actions: [] };

  it('parses fenced JSON with prose around it', async () => {
    const s = await fake();
    s.queue(reply.fencedJson(answer));
    const config = qwen(s, { Template: 'tags-json' });
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir));
    expect(patch.ai).toMatchObject({ description: answer.description, tags: answer.tags, category: 'test', actions: [], template: 'tags-json' });
    expect(s.requests).toHaveLength(1);
  });

  it('drops control characters from the answer (a NUL cannot be stored in PostgreSQL), plain or JSON', async () => {
    const s = await fake();
    s.queue(reply.fencedJson({ ...answer, description: 'Colour\u0000 bars\u0007.', tags: ['test\u0000 pattern'] }), reply.text('A plain\u0000 answer\u001b.\nSecond line.'));
    const json = qwen(s, { Template: 'tags-json' });
    const patch = await createDescribeStage(json, { limiter: unlimited() }).run(sceneRecord(3), context(json, t.dir));
    expect(patch.ai).toMatchObject({ description: 'Colour bars.', tags: ['test pattern'] });
    const plain = qwen(s);
    const text = await createDescribeStage(plain, { limiter: unlimited() }).run(sceneRecord(3), context(plain, t.dir));
    expect(text.ai!.description).toBe('A plain answer.\nSecond line.');
    expect(JSON.stringify([patch, text])).not.toMatch(/\\u00[01]/);
  });

  it("reads a Python-style answer (single quotes, None, a trailing comma) without paying for a repair request", async () => {
    const s = await fake();
    s.queue(reply.text("{'description': 'Colour bars and a moving gradient.', 'tags': ['test pattern', 'colour',], 'category': None, 'actions': []}"));
    const config = qwen(s, { Template: 'tags-json' });
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir));
    expect(patch.ai).toMatchObject({ description: answer.description, tags: answer.tags, actions: [] });
    expect(patch.ai!.category).toBeUndefined();
    expect(s.requests).toHaveLength(1);
  });

  it('reads labels written as objects, a null in a list and capitalised field names without paying for a repair request', async () => {
    const s = await fake();
    s.queue(
      reply.text(
        '{"Description": "Colour bars.", "Tags": [{"tag": "bars", "confidence": 0.9}, {"name": "colour"}, null], "category": {"name": "test"}, "actions": [{"action": "scrolling", "score": 0.5}]}',
      ),
    );
    const config = qwen(s, { Template: 'tags-json' });
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir));
    expect(patch.ai).toMatchObject({ description: 'Colour bars.', tags: ['bars', 'colour'], category: 'test', actions: ['scrolling'] });
    expect(s.requests).toHaveLength(1);
  });

  it("leaves out a thinking model's <think> block: not in a plain description, no draft JSON in it taken as the answer", async () => {
    const s = await fake();
    s.queue(
      reply.text('<think>\nThe frames show bars. Maybe {"description": "draft", "tags": ["draft"]}?\n</think>\n\n{"description": "final", "tags": ["bars"]}'),
      reply.text('<think>Let me look at each frame in turn.</think>\n\nColour bars, then a gradient.'),
    );
    const json = qwen(s, { Template: 'tags-json' });
    const patch = await createDescribeStage(json, { limiter: unlimited() }).run(sceneRecord(3), context(json, t.dir));
    expect(patch.ai).toMatchObject({ description: 'final', tags: ['bars'] });
    const plain = qwen(s);
    const text = await createDescribeStage(plain, { limiter: unlimited() }).run(sceneRecord(3), context(plain, t.dir));
    expect(text.ai!.description).toBe('Colour bars, then a gradient.');
    expect(s.requests).toHaveLength(2);
    // reasoning and nothing else is no description
    s.queue(reply.cutAtMaxTokens('<think>First, the bars.</think>'));
    await expect(createDescribeStage(plain, { limiter: unlimited() }).run(sceneRecord(3), context(plain, t.dir))).rejects.toThrow(
      /answer holds only its reasoning \(<think>\.\.\.<\/think>\), no description: it used all 512 tokens; raise \[QwenVL\] MaxOutputTokens$/,
    );
  });

  it('repairs broken JSON with one text-only request', async () => {
    const s = await fake();
    s.queue(reply.brokenJson(), reply.text(JSON.stringify(answer)));
    const config = qwen(s, { Template: 'tags-json' });
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir));
    expect(patch.ai!.tags).toEqual(answer.tags);
    expect(s.requests).toHaveLength(2);
    expect(imagesIn(s.requests[1]!.body)).toHaveLength(0);
    expect(textIn(s.requests[1]!.body)).toMatch(/cut off[\s\S]*Previous answer:\n\{"description": "a red car"/);
  });

  it('an answer cut at MaxOutputTokens fails naming that setting, without a repair request that would be cut again', async () => {
    const s = await fake();
    s.queue(reply.cutAtMaxTokens('{"description": "Colour bars and a moving gradient, with'));
    const config = qwen(s, { Template: 'tags-json', MaxOutputTokens: 16 });
    const err = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('E_MODEL_JSON');
    expect((err as ModelError).message).toMatch(/was cut at \[QwenVL\] MaxOutputTokens = 16 before it was usable \(the JSON in the answer is cut off .*\); raise MaxOutputTokens$/);
    expect(s.requests).toHaveLength(1);
    // a complete answer that just reached the limit is kept
    s.queue(reply.cutAtMaxTokens(JSON.stringify(answer)));
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir));
    expect(patch.ai!.tags).toEqual(answer.tags);
  });

  it('a plain-text description cut at MaxOutputTokens is kept and says so (cutOff); a whole one does not', async () => {
    const s = await fake();
    s.queue(reply.cutAtMaxTokens('Colour bars and a moving gradient, with a'), reply.text('Colour bars and a moving gradient.'));
    const config = qwen(s, { MaxOutputTokens: 16 });
    const cut = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir));
    expect(cut.ai).toMatchObject({ description: 'Colour bars and a moving gradient, with a', cutOff: true });
    const whole = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, path.join(t.dir, 'other')));
    expect(whole.ai!.description).toBe('Colour bars and a moving gradient.');
    expect(whole.ai!.cutOff).toBeUndefined();
  });

  it('a JSON template that requires no field does not keep an answer with none of them as an empty description', async () => {
    const dir = path.join(t.dir, 'no-required');
    mkdirSync(path.join(dir, 'templates'), { recursive: true });
    writeFileSync(path.join(dir, 'templates', 'mine.txt'), '---\nformat: json\n---\nDescribe {{title}} as {"description": "...", "tags": ["..."]}\n');
    const s = await fake();
    s.queue(reply.wrongShape(), reply.text('{"description": "a red car", "tags": ["car"]}'));
    const config = qwen(s, { Template: 'mine' }, dir);
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, dir));
    expect(s.requests).toHaveLength(2);
    expect(textIn(s.requests[1]!.body)).toMatch(/It is not usable: wrong shape: none of description, tags, category, actions in the answer/);
    expect(patch.ai).toMatchObject({ description: 'a red car', tags: ['car'] });
  });

  it('records a failure, not a guess, when the repaired answer still has the wrong shape', async () => {
    const s = await fake();
    s.queue(reply.wrongShape(), reply.wrongShape());
    const config = qwen(s, { Template: 'tags-json' });
    const err = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, t.dir)).catch((e: unknown) => e);
    expect((err as ModelError).code).toBe('E_MODEL_JSON');
    expect((err as ModelError).message).toMatch(/clip\.mp4: .*tags-json is not usable even after one repair request: wrong shape: missing description, tags/);
    expect(s.requests).toHaveLength(2);
  });

  it('offers the model the taxonomy and action labels the tagging setup parsed ({{taxonomy}}, {{taxonomyGuide}}, {{actionLabels}})', async () => {
    const s = await fake();
    s.queue(reply.text('{"actions": ["waving"], "description": "someone waves"}'));
    const labels = path.join(t.dir, 'labels.txt');
    writeFileSync(labels, '# kinetics subset\nwaving\nrunning\n\njumping\n');
    const taxonomy = path.join(t.dir, 'taxonomy.yaml');
    writeFileSync(taxonomy, 'categories:\n  - name: sports\n    description: any sport\n  - name: surfing\n    parent: sports\n    keywords: [waves]\n  - name: nature\nactions: [paddling]\n');
    const dir = path.join(t.dir, 'vocab-templates');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'vocab.txt'), 'One of: {{taxonomy}}.\nGuide:\n{{taxonomyGuide}}\nActions: {{actionLabels}}.');
    const config = configWith({
      Paths: { DataDir: t.dir, TemplatesDir: dir },
      Tagging: { ActionLabels: labels, Taxonomy: taxonomy },
      QwenVL: { PublicEndpoint: s.url, Template: 'vocab', RequestsPerMinute: 100_000 },
    });
    const app = new App({ config, sources: {}, file: null }, { logToFile: false });
    const stage = app.stages().find((x) => x.name === 'describe')!;
    await stage.run(sceneRecord(2), context(config, t.dir));
    const text = textIn(s.requests[0]!.body);
    expect(text).toContain('One of: sports, surfing, nature.');
    expect(text).toContain('Guide:\n- sports: any sport\n  - surfing: e.g. waves\n- nature\n');
    expect(text).toContain('Actions: paddling, waving, running, jumping.');
    await app.close();
  });

  it('refuses a template that uses {{actionLabels}} when no action labels are configured, before any call', async () => {
    const s = await fake();
    const config = configWith({ Paths: { DataDir: t.dir }, QwenVL: { PublicEndpoint: s.url, Template: 'action-recognition' } });
    expect(() => createDescribeStage(config)).toThrow(/template action-recognition uses \{\{actionLabels\}\} but no action labels are configured/);
    expect(s.requests).toHaveLength(0);
  });

  it('changes its input hash when the vocabulary a template uses changes', () => {
    const config = configWith({ Paths: { DataDir: t.dir }, QwenVL: { PublicEndpoint: 'http://127.0.0.1:9/v1', Template: 'action-recognition' } });
    const video = sceneRecord(2);
    const h = (actions: string[]) => createDescribeStage(config, { vocabulary: { categories: ['a'], categoryGuide: '- a', actions } }).inputHash(video, config);
    expect(h(['waving'])).toBe(h(['waving']));
    expect(h(['waving', 'running'])).not.toBe(h(['waving']));
  });
});

describe('describe stage: per-scene captions', () => {
  it('captions every scene in batches and stores them on the scenes', async () => {
    const s = await fake({
      defaultReply: (req) => {
        const n = imagesIn(req.body).length;
        return textIn(req.body).includes('caption')
          ? reply.text(JSON.stringify({ captions: Array.from({ length: n }, (_, i) => `caption ${i + 1} of ${n}`) }))
          : reply.text('The whole video.');
      },
    });
    const config = qwen(s, { PerScene: true, SceneBatchSize: 2 });
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(5), context(config, t.dir));
    expect(s.requests).toHaveLength(1 + 3);
    expect(s.requests.slice(1).map((r) => imagesIn(r.body).length)).toEqual([2, 2, 1]);
    expect(patch.scenes!.map((sc) => sc.description)).toEqual(['caption 1 of 2', 'caption 2 of 2', 'caption 1 of 2', 'caption 2 of 2', 'caption 1 of 1']);
    expect(patch.ai!.description).toBe('The whole video.');
    expect(patch.ai!.framesSent).toBe(5 + 5);
  });
});

describe('describe stage: answers kept between attempts', () => {
  const captioning = (fail: (batch: number) => boolean) => {
    let batch = 0;
    return (req: RecordedRequest) => {
      const n = imagesIn(req.body).length;
      if (!textIn(req.body).includes('caption')) return reply.text('The whole video.');
      batch++;
      return fail(batch) ? reply.status(400, undefined, { error: { message: 'image refused', code: 'InvalidParameter' } }) : reply.text(JSON.stringify({ captions: Array.from({ length: n }, (_, i) => `scene caption ${i + 1}`) }));
    };
  };

  it('a failed caption batch does not make the next run pay again for the requests that succeeded; --force asks everything again', async () => {
    const dir = path.join(t.dir, 'kept-answers');
    mkdirSync(dir, { recursive: true });
    const first = await fake({ defaultReply: captioning((b) => b === 2) });
    const config = qwen(first, { PerScene: true, SceneBatchSize: 2, Retries: 0 }, dir);
    const video = sceneRecord(5);
    await expect(createDescribeStage(config, { limiter: unlimited() }).run(video, context(config, dir))).rejects.toThrow(/image refused/);
    expect(first.requests).toHaveLength(3); // the whole video, batch 1, batch 2 (refused)

    const second = await fake({ defaultReply: captioning(() => false) });
    const again = qwen(second, { PerScene: true, SceneBatchSize: 2, Retries: 0 }, dir);
    const patch = await createDescribeStage(again, { limiter: unlimited() }).run(video, { ...context(again, dir), forced: true });
    // only batches 2 and 3 are asked, even forced: the whole-video answer and batch 1 were kept from the failed run
    expect(second.requests).toHaveLength(2);
    expect(second.requests.map((r) => imagesIn(r.body).length)).toEqual([2, 1]);
    expect(patch.ai!.description).toBe('The whole video.');
    expect(patch.scenes!.map((sc) => sc.description)).toEqual(['scene caption 1', 'scene caption 2', 'scene caption 1', 'scene caption 2', 'scene caption 1']);
    // what the kept answers cost counts in the description's usage, as if asked now
    const paid = [...first.requests, ...second.requests].filter((r) => r.status === 200);
    expect(paid).toHaveLength(4);
    expect(patch.ai!.promptTokens).toBe(paid.reduce((n, r) => n + 100 + imagesIn(r.body).length * 170, 0)); // the fake's usage

    // a forced re-run (--force describe) asks everything again
    const third = await fake({ defaultReply: captioning(() => false) });
    const forced = qwen(third, { PerScene: true, SceneBatchSize: 2, Retries: 0 }, dir);
    await createDescribeStage(forced, { limiter: unlimited() }).run(video, { ...context(forced, dir), forced: true });
    expect(third.requests).toHaveLength(4);
  });

  it('a changed SceneTemplate asks the captions again, not the whole-video request; a changed Template the reverse', async () => {
    const dir = path.join(t.dir, 'kept-template-change');
    mkdirSync(dir, { recursive: true });
    const mine = path.join(dir, 'my-captions.txt');
    writeFileSync(mine, readFileSync(path.join('templates', 'scene-captions.txt'), 'utf8').replace('at most 15 words', 'at most 8 words'));
    const video = sceneRecord(5);
    const first = await fake({ defaultReply: captioning(() => false) });
    await createDescribeStage(qwen(first, { PerScene: true, SceneBatchSize: 2 }, dir), { limiter: unlimited() }).run(video, context(qwen(first, { PerScene: true, SceneBatchSize: 2 }, dir), dir));
    expect(first.requests).toHaveLength(4);

    const second = await fake({ defaultReply: captioning(() => false) });
    const captions = qwen(second, { PerScene: true, SceneBatchSize: 2, SceneTemplate: mine }, dir);
    const patch = await createDescribeStage(captions, { limiter: unlimited() }).run(video, context(captions, dir));
    // the three caption batches, with the new wording; the whole-video answer is the one already paid for
    expect(second.requests.map((r) => textIn(r.body).includes('at most 8 words'))).toEqual([true, true, true]);
    expect(patch.ai!.description).toBe('The whole video.');

    const third = await fake({ defaultReply: captioning(() => false) });
    const main = qwen(third, { PerScene: true, SceneBatchSize: 2, SceneTemplate: mine, DefaultInstruction: 'Name the colours.' }, dir);
    await createDescribeStage(main, { limiter: unlimited() }).run(video, context(main, dir));
    expect(third.requests).toHaveLength(1);
    expect(textIn(third.requests[0]!.body)).toContain('Name the colours.');
  });

  it('reuses a kept caption answer only for the same scenes: batches cut otherwise after a failure are asked again', async () => {
    const dir = path.join(t.dir, 'kept-batches');
    mkdirSync(dir, { recursive: true });
    const first = await fake({ defaultReply: captioning((b) => b === 3) });
    const config = qwen(first, { PerScene: true, SceneBatchSize: 4, Retries: 0 }, dir);
    const video = sceneRecord(10);
    await expect(createDescribeStage(config, { limiter: unlimited() }).run(video, context(config, dir))).rejects.toThrow(/image refused/);
    expect(first.requests.slice(1).map((r) => imagesIn(r.body).length)).toEqual([4, 4, 2]); // the third batch refused

    const second = await fake({ defaultReply: captioning(() => false) });
    const again = qwen(second, { PerScene: true, SceneBatchSize: 6, Retries: 0 }, dir);
    const patch = await createDescribeStage(again, { limiter: unlimited() }).run(video, context(again, dir));
    // the whole-video answer is kept; no batch of 6 and 4 scenes was asked before, so both are asked
    expect(second.requests.map((r) => imagesIn(r.body).length)).toEqual([6, 4]);
    expect(patch.scenes!.map((sc) => sc.description)).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4].map((k) => `scene caption ${k}`));
  });

  it('keeps no answer that did not parse, so the next run asks again', async () => {
    const dir = path.join(t.dir, 'kept-unusable');
    mkdirSync(dir, { recursive: true });
    const s = await fake();
    const config = qwen(s, { Template: 'tags-json', Retries: 0 }, dir);
    const video = sceneRecord(2);
    s.queue(reply.brokenJson(), reply.brokenJson());
    await expect(createDescribeStage(config, { limiter: unlimited() }).run(video, context(config, dir))).rejects.toThrow(/not usable even after one repair request: the JSON in the answer is cut off/);
    expect(s.requests).toHaveLength(2);
    s.queue(reply.fencedJson({ description: 'a red car', tags: ['car'], category: null, actions: [] }));
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(video, context(config, dir));
    expect(s.requests).toHaveLength(3);
    expect(patch.ai!.description).toBe('a red car');
  });
});

describe('describe stage: config checks before any call', () => {
  it('throws a ConfigError for an unknown template variable when the stage is built', async () => {
    const s = await fake();
    const dir = path.join(t.dir, 'bad-templates');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'mine.txt'), 'Describe {{title}} in {{langauge}}.');
    const config = configWith({ Paths: { DataDir: t.dir, TemplatesDir: dir }, QwenVL: { PublicEndpoint: s.url, Template: 'mine' } });
    expect(() => createDescribeStage(config)).toThrow(ConfigError);
    expect(() => createDescribeStage(config)).toThrow(/mine\.txt: unknown variable \{\{langauge\}\}/);
    expect(s.requests).toHaveLength(0);
    // a library user's own client, with no endpoint configured: checked the same, when the stage is built
    const client = new OpenAiVlmClient({ endpoint: s.url, accessKey: '', authHeader: 'none', frameListFormat: 'dashscope' });
    const noEndpoint = configWith({ Paths: { DataDir: t.dir, TemplatesDir: dir }, QwenVL: { Template: 'mine' } });
    expect(() => createDescribeStage(noEndpoint, { client })).toThrow(/mine\.txt: unknown variable \{\{langauge\}\}/);
  });

  it('refuses an endpoint that repeats a query parameter when the stage is built, not at every video', async () => {
    const s = await fake();
    const config = qwen(s, { PublicEndpoint: `${s.url}/v1?api-version=1&api-version=2` });
    expect(() => createDescribeStage(config)).toThrow(ConfigError);
    expect(() => createDescribeStage(config)).toThrow(/repeats the query parameter "api-version"/);
    // the raw provider posts to the URL as given: a repeat is its own business
    expect(() => createDescribeStage(qwen(s, { Provider: 'pai-eas', PublicEndpoint: `${s.easUrl}?a=1&a=2` }))).not.toThrow();
    expect(s.requests).toHaveLength(0);
  });

  it('refuses VideoInput = frames with fewer than the 4 frames a DashScope frame list takes, before any call', async () => {
    const s = await fake();
    expect(() => createDescribeStage(qwen(s, { VideoInput: 'frames', MinFrames: 2 }))).toThrow(ConfigError);
    expect(() => createDescribeStage(qwen(s, { VideoInput: 'frames', MaxFrames: 3 }))).toThrow(/at least 4 frames, but MaxFrames = 3 lets fewer go/);
    // vLLM takes any number, and images are images
    expect(() => createDescribeStage(qwen(s, { VideoInput: 'frames', FrameListFormat: 'vllm', MinFrames: 2 }))).not.toThrow();
    expect(() => createDescribeStage(qwen(s, { VideoInput: 'images', MinFrames: 1, MaxFrames: 1 }))).not.toThrow();
    expect(s.requests).toHaveLength(0);
  });

  it('is skipped with a reason when no endpoint is configured', () => {
    const config = configWith({ Paths: { DataDir: t.dir } });
    const stage = createDescribeStage(config);
    expect(stage.skipReason!(sceneRecord(1), config)).toMatch(/no model endpoint configured: set \[QwenVL\] PublicEndpoint/);
  });

  it('changes its input hash with the template text, instruction and model, not with the endpoint', async () => {
    const s = await fake();
    const video = sceneRecord(3);
    const base = { PublicEndpoint: s.url };
    const h = (q: Record<string, unknown>) => createDescribeStage(configWith({ Paths: { DataDir: t.dir }, QwenVL: { ...base, ...q } })).inputHash(video, configWith({ Paths: { DataDir: t.dir }, QwenVL: { ...base, ...q } }));
    const ref = h({});
    expect(h({ PublicEndpoint: 'https://other.example/v1' })).toBe(ref);
    expect(h({ VpcEndpoint: 'https://vpc.example/v1', UseVpc: true })).toBe(ref);
    expect(h({ DefaultInstruction: 'other' })).not.toBe(ref);
    expect(h({ Model: 'qwen2.5-vl-7b-instruct' })).not.toBe(ref);
    expect(h({ Template: 'tags-json' })).not.toBe(ref);
    expect(h({ MaxFrames: 2 })).not.toBe(ref);
  });
});

describe('describe in the pipeline (App, runner, SQLite, cache, audit)', () => {
  it('describes once, then re-runs make zero calls, even without the database; --force refreshes; the key is in no file', async () => {
    const s = await fake({ auth: { openai: `Bearer ${CANARY}` } });
    const data = path.join(t.dir, 'pipeline-data');
    const make = () =>
      new App(
        loadConfig({
          env: { VIDEODEX_QWEN_ACCESS_KEY: CANARY },
          overrides: { 'Paths.DataDir': data, 'QwenVL.PublicEndpoint': `${s.url}/v1`, 'QwenVL.Template': 'tags-json', 'Logging.Level': 'debug' },
        }),
      );
    s.queue(reply.fencedJson({ description: 'bars', tags: ['bars'], category: null, actions: [] }));
    let app = make();
    const first = await app.process([clip]);
    expect(first.failures).toEqual([]);
    const id = first.videos[0]!;
    const record = (await (await app.store()).get(id))!;
    expect(record.ai).toMatchObject({ description: 'bars', tags: ['bars'] });
    expect(record.stages.describe).toMatchObject({ status: 'done' });
    await app.close();
    expect(s.requests).toHaveLength(1);

    app = make();
    await app.process([clip]);
    await app.close();
    expect(s.requests).toHaveLength(1);

    rmSync(path.join(data, 'videodex.db'), { force: true });
    rmSync(path.join(data, 'videodex.db-wal'), { force: true });
    rmSync(path.join(data, 'videodex.db-shm'), { force: true });
    app = make();
    const third = await app.process([clip]);
    expect((await (await app.store()).get(id))!.ai!.description).toBe('bars');
    await app.close();
    expect(third.failures).toEqual([]);
    expect(s.requests).toHaveLength(1);

    s.queue(reply.text('{"description": "fresh", "tags": ["new"]}'));
    app = make();
    await app.process([clip], { force: ['describe'] });
    expect((await (await app.store()).get(id))!.ai!.description).toBe('fresh');
    await app.close();
    expect(s.requests).toHaveLength(2);

    const audit = readFileSync(path.join(data, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ videoId: id, provider: 'openai', model: 'qwen2-vl-7b-instruct', template: 'tags-json', status: 'ok', retries: 0, httpStatus: 200, endpoint: `${new URL(s.url).host}/v1` });
    expect(audit[0].frames).toBeGreaterThanOrEqual(4);
    expect(audit[0].estimatedTokens).toBeGreaterThan(0);
    expect(audit[0].promptTokens).toBeGreaterThan(0);
    expect(audit[0].templateHash).toMatch(/^[0-9a-f]{16}$/);

    for (const file of walk(data)) expect(readFileSync(file).includes(CANARY), `${file} holds the key`).toBe(false);
  });
});

describe('describe failures in the pipeline', () => {
  it('records one clear error on the video when every retry fails, and the run goes on', async () => {
    const s = await fake({ defaultReply: () => reply.status(503) });
    const data = path.join(t.dir, 'failing-data');
    const app = new App(
      loadConfig({ env: {}, overrides: { 'Paths.DataDir': data, 'QwenVL.PublicEndpoint': s.url, 'QwenVL.Retries': 1, 'QwenVL.BackoffMs': 5 } }),
      { logToFile: false },
    );
    const summary = await app.process([clip]);
    const id = summary.videos[0]!;
    const record = (await (await app.store()).get(id))!;
    await app.close();
    expect(s.requests).toHaveLength(2);
    expect(summary.failures).toEqual([expect.objectContaining({ stage: 'describe', videoName: 'clip.mp4', error: expect.stringMatching(/^clip\.mp4: openai 127\.0\.0\.1:\d+\/v1 answered HTTP 503 E503: scripted 503 \(after 2 attempts\)$/) })]);
    expect(record.stages.describe).toMatchObject({ status: 'failed', errorCode: 'E_MODEL_HTTP' });
    expect(record.stages.index).toMatchObject({ status: 'done' });
    expect(record.ai).toBeNull();
    const audit = JSON.parse(readFileSync(path.join(data, 'audit.jsonl'), 'utf8').trim());
    expect(audit).toMatchObject({ status: 'error', httpStatus: 503, retries: 1, errorCode: 'E_MODEL_HTTP' });
  });
});

describe('describe stage: tokens billed', () => {
  it('counts an empty answer that was retried in the audit line and the description (the server billed it)', async () => {
    const s = await fake();
    s.queue(reply.empty());
    const config = qwen(s);
    const dir = path.join(t.dir, 'billed');
    mkdirSync(dir, { recursive: true });
    const patch = await createDescribeStage(config, { limiter: unlimited() }).run(sceneRecord(3), context(config, dir));
    expect(s.requests).toHaveLength(2);
    const line = JSON.parse(readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').trim());
    const images = imagesIn(s.requests[0]!.body).length;
    expect(line).toMatchObject({ status: 'ok', retries: 1, promptTokens: 2 * (100 + 170 * images) });
    expect(patch.ai!.promptTokens).toBe(2 * (100 + 170 * images));
  });
});

describe('a refused key in the pipeline', () => {
  it('asks once, not once per video: the other videos fail with the same error unsent, and the audit has one line', async () => {
    const s = await fake({ auth: { openai: 'Bearer the-right-key' } });
    const clips = [clip];
    for (const c of ['red', 'blue']) clips.push(await makeTestVideo(path.join(t.dir, `refused-${c}.mp4`), { seconds: 1, width: 160, height: 120, fps: 5, source: `color=c=${c}` }));
    const data = path.join(t.dir, 'refused-data');
    const app = new App(
      loadConfig({ env: {}, overrides: { 'Paths.DataDir': data, 'QwenVL.PublicEndpoint': s.url, 'QwenVL.AccessKey': CANARY, 'QwenVL.BackoffMs': 5, 'Concurrency.Ai': 1 } }),
      { logToFile: false },
    );
    const summary = await app.process(clips);
    const store = await app.store();
    const records = await Promise.all(summary.videos.map((id) => store.get(id)));
    await app.close();
    expect(s.requests).toHaveLength(1);
    expect(summary.failures).toHaveLength(3);
    for (const f of summary.failures) expect(f).toMatchObject({ stage: 'describe', error: expect.stringMatching(/HTTP 401 Unauthorized/) });
    for (const r of records) expect(r!.stages.describe).toMatchObject({ status: 'failed', errorCode: 'E_MODEL_AUTH' });
    const audit = readFileSync(path.join(data, 'audit.jsonl'), 'utf8').trim().split('\n');
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!)).toMatchObject({ status: 'error', httpStatus: 401, errorCode: 'E_MODEL_AUTH' });
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
