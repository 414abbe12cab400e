import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chooseEndpoint,
  endpointLabel,
  extractJson,
  imagesTokens,
  loadTemplate,
  openAiBaseUrl,
  parseAnswer,
  parseCaptions,
  parseTemplate,
  qwenDefaultSampling,
  RateLimiter,
  ReliableVlm,
  renderTemplate,
  resolveAuth,
  retryAfterMs,
  selectFrames,
  smartResize,
  thinEvenly,
  videoTokens,
} from '../../src/analysis/vlm/index.js';
import { ConfigError, ModelError, summarizeUsage } from '../../src/core/index.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir('videodex-vlm-units-');
afterAll(() => t.cleanup());

describe('Qwen2-VL token arithmetic', () => {
  it('resizes to multiples of 28 within the budget, keeping the aspect ratio', () => {
    const s = smartResize({ width: 1280, height: 720 }, 200_704);
    expect(s.width % 28).toBe(0);
    expect(s.height % 28).toBe(0);
    expect(s.width * s.height).toBeLessThanOrEqual(200_704);
    expect(s.width / s.height).toBeCloseTo(16 / 9, 0);
    expect(smartResize({ width: 480, height: 270 }, 200_704)).toEqual({ width: 476, height: 280 });
  });

  it('reproduces the reference figure: 60 s of 720p at defaults is 23,400 tokens (+2 markers)', () => {
    const est = qwenDefaultSampling(60, { width: 1280, height: 720 });
    expect(est.frames).toBe(120);
    expect(est.size).toEqual({ width: 728, height: 420 });
    expect(est.tokens).toBe(23_400 + 2);
  });

  it('counts video frames in pairs and images one by one', () => {
    const size = { width: 448, height: 252 };
    expect(videoTokens(16, size)).toBe(8 * 144 + 2);
    expect(videoTokens(3, size)).toBe(2 * 144 + 2);
    expect(imagesTokens([size, size])).toBe(2 * 146);
  });
});

describe('frame selection', () => {
  const scenes = (n: number, len = 2) => Array.from({ length: n }, (_, i) => ({ index: i, startSec: i * len, endSec: (i + 1) * len, keyframe: `/k/${i}.jpg` }));

  it('takes one keyframe per scene while the budget allows', () => {
    const sel = selectFrames(20, scenes(10), { maxFrames: 16, minFrames: 4 });
    expect(sel.picks.map((p) => p.sceneIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sel.picks[0]).toEqual({ timeSec: 1, sceneIndex: 0, keyframe: '/k/0.jpg' });
  });

  it('thins evenly to MaxFrames, spread over the whole video', () => {
    expect(thinEvenly(100, 4)).toEqual([12, 37, 62, 87]);
    const sel = selectFrames(200, scenes(100), { maxFrames: 8, minFrames: 4 });
    expect(sel.picks).toHaveLength(8);
    const idx = sel.picks.map((p) => p.sceneIndex!);
    expect(new Set(idx).size).toBe(8);
    expect(idx[0]).toBeLessThan(13);
    expect(idx[7]).toBeGreaterThan(87);
  });

  it('adds evenly spaced frames when there are fewer scenes than MinFrames', () => {
    const sel = selectFrames(40, [{ index: 0, startSec: 0, endSec: 40, keyframe: '/k/0.jpg' }], { maxFrames: 16, minFrames: 4 });
    expect(sel.picks).toHaveLength(4);
    expect(sel.picks.filter((p) => p.keyframe)).toHaveLength(1);
    const times = sel.picks.map((p) => p.timeSec);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('falls back to evenly spaced frames without scenes', () => {
    const sel = selectFrames(10, [], { maxFrames: 5, minFrames: 4 });
    expect(sel.from).toBe('even');
    expect(sel.picks.map((p) => p.timeSec)).toEqual([1, 3, 5, 7, 9]);
  });
});

describe('JSON answers', () => {
  it('reads JSON inside fences, after and before prose', () => {
    const r = extractJson('Sure! Here it is:\n```json\n{"description": "a {curly} thing", "tags": ["a"]}\n```\nHope this helps.');
    expect(r).toEqual({ ok: true, value: { description: 'a {curly} thing', tags: ['a'] } });
    expect(extractJson('The answer is {"a": 1} and that is all.')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('says why when the JSON is cut off or absent', () => {
    const cut = extractJson('{"description": "a red car", "tags": ["car"');
    expect(cut.ok).toBe(false);
    expect(!cut.ok && cut.error).toMatch(/cut off/);
    expect(extractJson('no json here').ok).toBe(false);
  });

  it('reads what models write instead of JSON: single quotes, None/True/False, trailing commas, comments, JSON inside a string', () => {
    const want = { description: "the dog's ball", tags: ['dog', 'ball'], category: null };
    expect(extractJson(`{'description': "the dog's ball", 'tags': ['dog', 'ball'], 'category': None}`)).toEqual({ ok: true, value: want });
    expect(extractJson('```json\n{"description": "the dog\'s ball", "tags": ["dog", "ball",], "category": null,}\n```')).toEqual({ ok: true, value: want });
    expect(extractJson('{"description": "the dog\'s ball", // what it is\n "tags": ["dog", "ball"], /* none fits */ "category": null}')).toEqual({ ok: true, value: want });
    expect(extractJson(JSON.stringify(JSON.stringify(want)))).toEqual({ ok: true, value: want });
    expect(extractJson("{'ok': True, 'no': False}")).toEqual({ ok: true, value: { ok: true, no: false } });
    // what is inside double-quoted strings is left alone
    expect(extractJson('{"description": "see http://x.y // None, True\'s", "tags": []}')).toEqual({ ok: true, value: { description: "see http://x.y // None, True's", tags: [] } });
  });

  it('finds the answer after a bracket that never closes, and takes no list of tags from inside a cut answer', () => {
    expect(extractJson('<think>the frames show {a car</think>\n{"description": "a car", "tags": ["car"]}')).toEqual({ ok: true, value: { description: 'a car', tags: ['car'] } });
    expect(extractJson('Tags [car, red] and {"description": "x", "tags": ["a"]}')).toEqual({ ok: true, value: { description: 'x', tags: ['a'] } });
    const cut = parseAnswer('{"description": "a red car", "tags": ["car", "red"]', ['description']);
    expect(!cut.ok && cut.error).toMatch(/cut off/);
    const broken = parseAnswer('{"description": "a red car", "tags": ["car", "red"], oops}', ['description']);
    expect(!broken.ok && broken.error).toMatch(/does not parse/);
  });

  it('validates the shape and the required fields, normalising tags', () => {
    const ok = parseAnswer('{"description":"x","tags":"beach, surf , beach","category":"sport","actions":["surfing"]}', ['description', 'tags']);
    expect(ok).toEqual({ ok: true, value: { description: 'x', tags: ['beach', 'surf'], category: 'sport', actions: ['surfing'] } });
    const wrong = parseAnswer('{"summary":"x","labels":3}', ['description']);
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.error).toMatch(/missing description/);
    expect(parseAnswer('{"description": 5}', []).ok).toBe(false);
  });

  it('reads null for a list as an empty list, and a null description as none (missing when required)', () => {
    expect(parseAnswer('{"description": "x", "tags": ["a"], "actions": null}', ['description'])).toEqual({ ok: true, value: { description: 'x', tags: ['a'], actions: [] } });
    expect(parseAnswer('{"description": "nobody moves", "actions": null}', ['actions'])).toEqual({ ok: true, value: { description: 'nobody moves', actions: [] } });
    expect(parseAnswer('{"description": null, "tags": ["a"]}', ['tags'])).toEqual({ ok: true, value: { tags: ['a'] } });
    expect(parseAnswer('{"description": null, "tags": ["a"]}', ['description'])).toEqual({ ok: false, error: 'wrong shape: missing description' });
  });

  it('reads what models write for "no category" as null, and a list of one category as that category', () => {
    const category = (c: string) => {
      const r = parseAnswer(`{"description": "x", "category": ${c}}`, ['description']);
      return r.ok ? r.value.category : r.error;
    };
    for (const none of ['""', '" "', '"null"', '"None"', '"N/A"', 'null']) expect(category(none), none).toBeNull();
    expect(category('["sport"]')).toBe('sport');
    expect(category('" sport "')).toBe('sport');
    expect(category('"Nonesuch"')).toBe('Nonesuch');
    expect(category('["sport", "music"]')).toMatch(/wrong shape: category/);
  });

  it('reads a label written as an object (tags, actions, the category), drops a null in a list, and takes capitalised field names', () => {
    expect(parseAnswer('{"description":"x","tags":[{"tag":"car","confidence":0.9},{"name":"red"},null,"car"],"actions":[{"action":"run"},{"label":"jump"}]}', ['description'])).toEqual({
      ok: true,
      value: { description: 'x', tags: ['car', 'red'], actions: ['run', 'jump'] },
    });
    expect(parseAnswer('{"description":"x","category":{"name":"sport","score":0.8}}', [])).toEqual({ ok: true, value: { description: 'x', category: 'sport' } });
    expect(parseAnswer('{"Description":"x","TAGS":["a"]}', ['description', 'tags'])).toEqual({ ok: true, value: { description: 'x', tags: ['a'] } });
    // the field under its own name wins over a capitalised one
    expect(parseAnswer('{"description":"x","Description":"y"}', [])).toEqual({ ok: true, value: { description: 'x' } });
    // an object with no label in it is still the wrong shape
    expect(parseAnswer('{"description":"x","tags":[{"score":1}]}', []).ok).toBe(false);
  });

  it('refuses an answer with none of the fields, even when the template requires none (it was kept as an empty description)', () => {
    const none = parseAnswer('{"summary": "a red car", "labels": ["car"]}', []);
    expect(none).toEqual({ ok: false, error: 'wrong shape: none of description, tags, category, actions in the answer' });
    expect(parseAnswer('{"captions": ["a"]}', []).ok).toBe(false);
    expect(parseAnswer('{"actions": []}', [])).toEqual({ ok: true, value: { actions: [] } });
    expect(parseAnswer('{"category": null}', [])).toEqual({ ok: true, value: { category: null } });
  });

  it('checks the caption count', () => {
    expect(parseCaptions('{"captions":["a","b"]}', 2)).toEqual({ ok: true, value: ['a', 'b'] });
    expect(parseCaptions('["a"]', 1)).toEqual({ ok: true, value: ['a'] });
    expect(parseCaptions('{"captions":["a"]}', 2).ok).toBe(false);
    // numbered captions, as models often write them
    expect(parseCaptions('{"captions": [{"image": 1, "caption": " a "}, {"image": 2, "text": "b"}, {"scene": 3, "description": "c"}]}', 3)).toEqual({ ok: true, value: ['a', 'b', 'c'] });
    expect(parseCaptions('{"captions": [{"image": 1}]}', 1).ok).toBe(false);
  });
});

describe('templates', () => {
  it('ships describe, tags-json, action-recognition and scene-captions, all valid', () => {
    for (const name of ['describe', 'tags-json', 'action-recognition', 'scene-captions']) {
      const tpl = loadTemplate(name, path.join(t.dir, 'none'));
      expect(tpl.name).toBe(name);
      expect(tpl.hash).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(loadTemplate('tags-json', '').format).toBe('json');
    expect(loadTemplate('tags-json', '').required).toEqual(['description', 'tags']);
  });

  it('reads the example template of docs/model.md as written, comments after the front matter values included', () => {
    const docs = readFileSync(path.join(repoRoot, 'docs', 'model.md'), 'utf8');
    const example = /## Templates[\s\S]*?```\n([\s\S]*?)```/.exec(docs)![1]!;
    expect(example).toMatch(/format: json +# /);
    const tpl = parseTemplate('example', '/t/example.txt', example);
    expect(tpl.format).toBe('json');
    expect(tpl.required).toEqual(['description', 'tags']);
    expect(parseTemplate('x', '/t/x.txt', '---\nabout: #1 template\nformat: text # plain\n---\nhi').format).toBe('text');
  });

  it('a template that is not a readable file (a folder of that name) stops with a ConfigError naming it', () => {
    const dir = path.join(t.dir, 'folder-templates');
    mkdirSync(path.join(dir, 'describe.txt'), { recursive: true });
    expect(() => loadTemplate('describe', dir)).toThrow(ConfigError);
    expect(() => loadTemplate('describe', dir)).toThrow(/^template describe: .*describe\.txt cannot be read \(EISDIR\); it must be a readable text file$/);
    expect(() => loadTemplate(path.join(dir, 'describe.txt'), '')).toThrow(ConfigError);
  });

  it('lets a file in TemplatesDir override a shipped one', () => {
    const dir = path.join(t.dir, 'user-templates');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'describe.txt'), 'Mine: {{instruction}} for {{filename}}');
    const tpl = loadTemplate('describe', dir);
    expect(tpl.file).toBe(path.join(dir, 'describe.txt'));
    const values = { title: 'T', filename: 'f.mp4', durationSec: '1', sceneCount: '0', width: '1', height: '1', tags: 'none', instruction: 'Say hi.', taxonomy: '', taxonomyGuide: '', actionLabels: '', frameCount: '1', frameTimes: '' };
    expect(renderTemplate(tpl, values)).toBe('Mine: Say hi. for f.mp4');
  });

  it('refuses an unknown variable with a ConfigError that suggests the right one', () => {
    expect(() => parseTemplate('x', '/t/x.txt', 'Hello {{titel}}')).toThrow(ConfigError);
    expect(() => parseTemplate('x', '/t/x.txt', 'Hello {{titel}}')).toThrow(/unknown variable \{\{titel\}\} \(did you mean \{\{title\}\}\?\)/);
    expect(() => parseTemplate('x', '/t/x.txt', '---\nformat: yaml\n---\nhi')).toThrow(/format must be text or json/);
    // required fields of a template whose answer would be kept as plain text
    expect(() => parseTemplate('x', '/t/x.txt', '---\nrequired: description, tags\n---\nReply {"description": "...", "tags": []}')).toThrow(/required: description, tags needs format: json/);
    expect(parseTemplate('x', '/t/x.txt', '---\nrequired: tags\nformat: json\n---\nhi').required).toEqual(['tags']);
    expect(() => loadTemplate('no-such-template', '')).toThrow(/not found.*available: .*describe/);
  });
});

describe('endpoints and auth', () => {
  it('derives the SDK base URL from what users paste', () => {
    expect(openAiBaseUrl('https://dashscope-intl.aliyuncs.com/compatible-mode/v1')).toBe('https://dashscope-intl.aliyuncs.com/compatible-mode/v1');
    expect(openAiBaseUrl('https://svc.1.cn-hangzhou.pai-eas.aliyuncs.com/api/predict/svc/v1/chat/completions')).toBe(
      'https://svc.1.cn-hangzhou.pai-eas.aliyuncs.com/api/predict/svc/v1',
    );
    expect(openAiBaseUrl('http://localhost:8000')).toBe('http://localhost:8000/v1');
  });

  it('labels endpoints without userinfo or query strings', () => {
    expect(endpointLabel('https://user:pw@host.example/v1?token=abc')).toBe('host.example/v1');
  });

  it('sends PAI-EAS tokens without Bearer, others with it', () => {
    expect(resolveAuth('auto', 'pai-eas', 'http://127.0.0.1/x', 'k')).toBe('token');
    expect(resolveAuth('auto', 'openai', 'https://svc.1.cn-hangzhou.pai-eas.aliyuncs.com/api/predict/svc', 'k')).toBe('token');
    expect(resolveAuth('auto', 'openai', 'https://dashscope.aliyuncs.com/compatible-mode/v1', 'k')).toBe('bearer');
    expect(resolveAuth('bearer', 'openai', 'http://x', '')).toBe('none');
    // DashScope's native API through the raw provider (EasRequestFormat = dashscope) takes Bearer like its compatible mode
    expect(resolveAuth('auto', 'pai-eas', 'https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/multimodal-generation/generation', 'k')).toBe('bearer');
    expect(resolveAuth('auto', 'pai-eas', 'https://dashscope.aliyuncs.com/api/v1/services/aigc/multimodal-generation/generation', 'k')).toBe('bearer');
    expect(resolveAuth('token', 'pai-eas', 'https://dashscope.aliyuncs.com/api/v1/x', 'k')).toBe('token');
  });

  it('picks the VPC endpoint with UseVpc and refuses UseVpc without one', () => {
    expect(chooseEndpoint({ PublicEndpoint: 'https://pub', VpcEndpoint: 'https://vpc', UseVpc: true })).toBe('https://vpc');
    expect(chooseEndpoint({ PublicEndpoint: 'https://pub', VpcEndpoint: 'https://vpc', UseVpc: false })).toBe('https://pub');
    expect(() => chooseEndpoint({ PublicEndpoint: 'https://pub', VpcEndpoint: '', UseVpc: true })).toThrow(ConfigError);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs((n) => (n === 'retry-after' ? '3' : null))).toBe(3000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(retryAfterMs((n) => (n === 'retry-after' ? 'Mon, 01 Jan 2024 00:00:05 GMT' : null), now)).toBe(5000);
    expect(retryAfterMs(() => null)).toBeUndefined();
  });
});

describe('backoff and rate limit', () => {
  const fakeClient = { provider: 'openai', endpointLabel: 'x', describe: async () => ({ text: 'x', usage: {} }) };

  it('honours Retry-After and otherwise backs off exponentially with bounded jitter', () => {
    const vlm = new ReliableVlm(fakeClient, new RateLimiter(60), { retries: 4, baseDelayMs: 1000, maxDelayMs: 8000, maxRetryAfterMs: 30_000 }, () => 1);
    expect(vlm.delayFor(1, new ModelError('x', { retryAfterMs: 2500 }))).toBe(2500);
    expect(vlm.delayFor(1, new ModelError('x', { retryAfterMs: 99_000 }))).toBe(30_000);
    // a Retry-After of 0 (or a date past) is the least wait, not a retry at once: the backoff still holds
    expect(vlm.delayFor(1, new ModelError('x', { retryAfterMs: 0 }))).toBe(1000);
    expect(vlm.delayFor(3, new ModelError('x', { retryAfterMs: 0 }))).toBe(4000);
    expect(vlm.delayFor(1, new ModelError('x'))).toBe(1000);
    expect(vlm.delayFor(3, new ModelError('x'))).toBe(4000);
    expect(vlm.delayFor(9, new ModelError('x'))).toBe(8000);
    const low = new ReliableVlm(fakeClient, new RateLimiter(60), { retries: 4, baseDelayMs: 1000, maxDelayMs: 8000, maxRetryAfterMs: 30_000 }, () => 0);
    expect(low.delayFor(2, new ModelError('x'))).toBe(1000);
  });

  it('spaces requests to the per-minute rate after the burst', async () => {
    const limiter = new RateLimiter(600, 1); // one every 100 ms
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => limiter.acquire()));
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('usage summary', () => {
  it('sums the audit trail per day and model, skipping bad lines', async () => {
    const file = path.join(t.dir, 'audit.jsonl');
    const e = (at: string, model: string, status: string, prompt: number) =>
      JSON.stringify({ at, videoId: 'v', provider: 'openai', endpoint: 'h', model, template: 't', templateHash: 'x', frames: 4, estimatedTokens: 100, promptTokens: prompt, completionTokens: 10, latencyMs: 50, status, retries: 1 });
    writeFileSync(file, [e('2024-05-01T10:00:00Z', 'a', 'ok', 90), e('2024-05-01T11:00:00Z', 'a', 'error', 0), e('2024-05-02T10:00:00Z', 'b', 'ok', 80), '{"half', ''].join('\n'));
    const r = await summarizeUsage(file);
    expect(r.badLines).toBe(1);
    expect(r.rows).toEqual([
      expect.objectContaining({ day: '2024-05-01', model: 'a', requests: 2, ok: 1, errors: 1, promptTokens: 90, retries: 2, frames: 8 }),
      expect.objectContaining({ day: '2024-05-02', model: 'b', requests: 1, promptTokens: 80 }),
    ]);
    expect(r.total.estimatedTokens).toBe(300);
    expect((await summarizeUsage(file, { by: 'model', since: '2024-05-02' })).rows).toEqual([expect.objectContaining({ model: 'b', requests: 1 })]);
  });
});
