import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointLabel, OpenAiVlmClient, openAiBaseUrl, PaiEasVlmClient, type FrameImage, type VlmRequest } from '../../src/analysis/vlm/index.js';
// a namespace import, so this file still loads (and its other tests run) where endpointQuery is missing
import * as endpoint from '../../src/analysis/vlm/endpoint.js';
import { App } from '../../src/app.js';
import { ConfigError, loadConfig, ModelError } from '../../src/core/index.js';
import { reply } from '../helpers/fake-vlm-server.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

// Endpoints with a query string: Azure-style gateways want e.g. ?api-version=... on every request.

const VERSION = 'api-version=2024-06-01';
const TWO = 'api-version=2024-06-01&deployment=qwen-vl';
/** A key written into the endpoint's query string: sent to the server, never written anywhere else. */
const QUERY_KEY = 'qk-CANARY-8d1e4b7a2c90f3';

const frame: FrameImage = { jpegBase64: Buffer.from('jpeg-bytes').toString('base64'), width: 56, height: 28, timeSec: 0.5 };
const request = (): VlmRequest => ({
  model: 'qwen2-vl-7b-instruct',
  messages: [{ role: 'user', content: [{ type: 'images', frames: [frame] }, { type: 'text', text: 'Describe it.' }] }],
  maxOutputTokens: 64,
  temperature: 0.1,
  timeoutMs: 5000,
});

const fake = fakeVlmServers();
const openai = (endpoint: string) => new OpenAiVlmClient({ endpoint, accessKey: '', authHeader: 'auto', frameListFormat: 'dashscope' });
const eas = (endpoint: string) => new PaiEasVlmClient({ endpoint, accessKey: '', authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' });

describe('endpoint URLs with a query string: URL helpers', () => {
  it('the SDK base URL leaves the query string (and any fragment) out, with the path rules unchanged', () => {
    expect(openAiBaseUrl(`https://gw.example.com/openai/v1?${VERSION}`)).toBe('https://gw.example.com/openai/v1');
    expect(openAiBaseUrl(`https://gw.example.com/openai/v1/chat/completions?${TWO}`)).toBe('https://gw.example.com/openai/v1');
    expect(openAiBaseUrl(`https://gw.example.com/openai/?${VERSION}#frag`)).toBe('https://gw.example.com/openai/v1');
    expect(openAiBaseUrl(`http://localhost:8000?${VERSION}`)).toBe('http://localhost:8000/v1');
    // userinfo is kept as before (fetch refuses it, and the error is scrubbed)
    expect(openAiBaseUrl(`http://u:pw@localhost:8000/v1?${VERSION}`)).toBe('http://u:pw@localhost:8000/v1');
  });

  it('the query parameters are read in order, decoded, and a repeated one is refused', () => {
    expect(endpoint.endpointQuery(`https://gw.example.com/openai/v1?${VERSION}`)).toEqual({ 'api-version': '2024-06-01' });
    expect(Object.entries(endpoint.endpointQuery(`https://gw.example.com/openai/v1?${TWO}`))).toEqual([
      ['api-version', '2024-06-01'],
      ['deployment', 'qwen-vl'],
    ]);
    expect(endpoint.endpointQuery('https://gw.example.com/v1?a=x%20y&flag')).toEqual({ a: 'x y', flag: '' });
    expect(endpoint.endpointQuery('https://gw.example.com/v1')).toEqual({});
    expect(() => endpoint.endpointQuery(`https://gw.example.com/v1?a=1&api-key=${QUERY_KEY}&api-key=2`)).toThrow(ConfigError);
    expect(() => endpoint.endpointQuery(`https://gw.example.com/v1?a=1&api-key=${QUERY_KEY}&api-key=2`)).toThrow(/repeats the query parameter "api-key"/);
    const err = (() => {
      try {
        endpoint.endpointQuery(`https://gw.example.com/v1?api-key=${QUERY_KEY}&api-key=2`);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).not.toContain(QUERY_KEY);
  });

  it('the label stays host and path only', () => {
    expect(endpointLabel(`https://gw.example.com/openai/v1?${TWO}&api-key=${QUERY_KEY}`)).toBe('gw.example.com/openai/v1');
    expect(openai(`https://gw.example.com/openai/v1?${VERSION}&api-key=${QUERY_KEY}`).endpointLabel).toBe('gw.example.com/openai/v1');
    expect(eas(`https://gw.example.com/api/predict/svc?${VERSION}&api-key=${QUERY_KEY}`).endpointLabel).toBe('gw.example.com/api/predict/svc');
  });
});

describe('endpoint URLs with a query string: openai provider', () => {
  it('?api-version=...: the path goes before the query, and the parameter is sent on every request', async () => {
    const s = await fake();
    const client = openai(`${s.url}/openai/v1?${VERSION}`);
    const first = await client.describe(request());
    await client.describe(request());
    expect(first.text).toMatch(/test pattern/);
    expect(s.requests).toHaveLength(2);
    for (const r of s.requests) {
      expect(r.path).toBe('/openai/v1/chat/completions');
      expect(r.query).toBe(VERSION);
      expect(r.status).toBe(200);
    }
  });

  it('two parameters arrive, in order, each once', async () => {
    const s = await fake();
    await openai(`${s.url}/openai/v1?${TWO}`).describe(request());
    expect(s.requests[0]!.path).toBe('/openai/v1/chat/completions');
    expect(s.requests[0]!.query).toBe(TWO);
  });

  it('the full .../chat/completions URL with a query string works too', async () => {
    const s = await fake();
    await openai(`${s.url}/openai/v1/chat/completions?${VERSION}`).describe(request());
    expect(s.requests[0]!.path).toBe('/openai/v1/chat/completions');
    expect(s.requests[0]!.query).toBe(VERSION);
  });

  it('an endpoint without a query string sends none', async () => {
    const s = await fake();
    await openai(`${s.url}/v1`).describe(request());
    expect(s.requests[0]!.path).toBe('/v1/chat/completions');
    expect(s.requests[0]!.query).toBe('');
  });
});

describe('endpoint URLs with a query string: pai-eas provider (raw POST to the URL as given)', () => {
  it('posts to the exact path with the query parameters, on every request', async () => {
    const s = await fake();
    const client = eas(`${s.easUrl}?${TWO}`);
    const res = await client.describe(request());
    await client.describe(request());
    expect(res.text).toMatch(/test pattern/);
    for (const r of s.requests) {
      expect(r.route).toBe('eas');
      expect(r.path).toBe('/api/predict/qwen');
      expect(r.query).toBe(TWO);
    }
  });
});

describe('a key in the endpoint query string', () => {
  it('is sent to the server but scrubbed from an error that echoes the URL, for both providers', async () => {
    const s = await fake();
    const echo = (url: string) => reply.status(400, undefined, { error: { message: `bad request for ${url}`, code: 'BadRequest' } });
    s.queue(echo(`/openai/v1/chat/completions?${VERSION}&api-key=${QUERY_KEY}`), echo(`/api/predict/qwen?${VERSION}&api-key=${QUERY_KEY}`));
    const clients = [openai(`${s.url}/openai/v1?${VERSION}&api-key=${QUERY_KEY}`), eas(`${s.easUrl}?${VERSION}&api-key=${QUERY_KEY}`)];
    for (const client of clients) {
      const err = await client.describe(request()).then(() => null, (e: unknown) => e);
      expect(err, client.provider).toBeInstanceOf(ModelError);
      expect((err as ModelError).status, client.provider).toBe(400);
      expect((err as ModelError).message, client.provider).toMatch(/HTTP 400 BadRequest: bad request for/);
      expect((err as ModelError).message, client.provider).not.toContain(QUERY_KEY);
    }
    expect(s.requests.map((r) => [r.path, r.query])).toEqual([
      ['/openai/v1/chat/completions', `${VERSION}&api-key=${QUERY_KEY}`],
      ['/api/predict/qwen', `${VERSION}&api-key=${QUERY_KEY}`],
    ]);
  });

  describe('in the pipeline', () => {
    const t = tempDir('videodex-endpoint-query-');
    const clip = path.join(t.dir, 'clip.mp4');
    beforeAll(async () => {
      await makeTestVideo(clip, { seconds: 2, width: 160, height: 120, fps: 10 });
    });
    afterAll(() => t.cleanup());

    it('the audit trail keeps host and path; no log, record, audit line or error holds the key', async () => {
      const s = await fake();
      const data = path.join(t.dir, 'data');
      const make = () =>
        new App(
          loadConfig({
            env: {},
            overrides: {
              'Paths.DataDir': data,
              'QwenVL.PublicEndpoint': `${s.url}/openai/v1?${VERSION}&api-key=${QUERY_KEY}`,
              'QwenVL.Retries': 0,
              'Logging.Level': 'debug',
            },
          }),
        );
      // a failing call whose error body quotes the URL, then a good one
      s.queue(reply.status(400, undefined, { error: { message: `no deployment at /openai/v1/chat/completions?${VERSION}&api-key=${QUERY_KEY}` } }));
      let app = make();
      const failed = await app.process([clip]);
      await app.close();
      expect(failed.failures).toEqual([expect.objectContaining({ stage: 'describe', error: expect.stringMatching(/HTTP 400: no deployment at/) })]);
      expect(JSON.stringify(failed)).not.toContain(QUERY_KEY);

      app = make();
      const ok = await app.process([clip], { force: ['describe'] });
      await app.close();
      expect(ok.failures).toEqual([]);

      expect(s.requests.map((r) => [r.path, r.query])).toEqual([
        ['/openai/v1/chat/completions', `${VERSION}&api-key=${QUERY_KEY}`],
        ['/openai/v1/chat/completions', `${VERSION}&api-key=${QUERY_KEY}`],
      ]);
      const audit = readFileSync(path.join(data, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(audit.map((a) => [a.status, a.endpoint])).toEqual([
        ['error', `${new URL(s.url).host}/openai/v1`],
        ['ok', `${new URL(s.url).host}/openai/v1`],
      ]);
      const files = walk(data);
      expect(files.some((f) => f.endsWith('.log'))).toBe(true);
      for (const file of files) expect(readFileSync(file).includes(QUERY_KEY), `${file} holds the key`).toBe(false);
    });
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
