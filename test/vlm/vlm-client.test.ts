import { lookup } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import {
  OpenAiVlmClient,
  PaiEasVlmClient,
  RateLimiter,
  REFUSED_KEY_MS,
  ReliableVlm,
  type EasRequestFormat,
  type FrameImage,
  type VlmRequest,
} from '../../src/analysis/vlm/index.js';
import { ModelError } from '../../src/core/index.js';
import { FakeVlmServer, imagesIn, reply } from '../helpers/fake-vlm-server.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';

const KEY = 'sk-canary-1234567890';
const frame: FrameImage = { jpegBase64: Buffer.from('jpeg-bytes').toString('base64'), width: 56, height: 28, timeSec: 0.5 };

function request(overrides: Partial<VlmRequest> = {}): VlmRequest {
  return {
    model: 'qwen2-vl-7b-instruct',
    messages: [{ role: 'user', content: [{ type: 'images', frames: [frame, { ...frame, timeSec: 1.5 }] }, { type: 'text', text: 'Describe it.' }] }],
    maxOutputTokens: 64,
    temperature: 0.1,
    timeoutMs: 5000,
    ...overrides,
  };
}

const fake = fakeVlmServers();

// a host name that cannot resolve (RFC 2606): ENOTFOUND wherever a resolver answers, as any with a network does
const invalidHost = await lookup('no-such-host.invalid').then(
  () => 'resolved',
  (e: NodeJS.ErrnoException) => e.code,
);

const fast = { retries: 3, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 5000 };
const reliable = (client: ConstructorParameters<typeof ReliableVlm>[0], policy = fast) => new ReliableVlm(client, new RateLimiter(100_000), policy);

describe('openai provider (official SDK)', () => {
  it('sends chat completions with image parts and Authorization: Bearer <key>', async () => {
    const s = await fake({ auth: { openai: `Bearer ${KEY}` } });
    const client = new OpenAiVlmClient({ endpoint: `${s.url}/v1`, accessKey: KEY, authHeader: 'auto', frameListFormat: 'dashscope' });
    const res = await client.describe(request());
    expect(res.text).toMatch(/test pattern/);
    expect(res.usage.promptTokens).toBe(100 + 2 * 170);
    const body = s.requests[0]!.body;
    expect(s.requests[0]!.path).toBe('/v1/chat/completions');
    expect(body.model).toBe('qwen2-vl-7b-instruct');
    expect(body.max_tokens).toBe(64);
    expect(body.messages[0].content.map((p: { type: string }) => p.type)).toEqual(['image_url', 'image_url', 'text']);
    expect(imagesIn(body)[0]).toBe(`data:image/jpeg;base64,${frame.jpegBase64}`);
  });

  it('a password or key written into the endpoint URL never reaches the error (fetch quotes the URL it refuses)', async () => {
    const endpoint = 'http://epuser:epPASSWD1@127.0.0.1:9/v1?api-key=epQUERYKEY1';
    const clients = [
      new OpenAiVlmClient({ endpoint, accessKey: KEY, authHeader: 'auto', frameListFormat: 'dashscope' }),
      new PaiEasVlmClient({ endpoint, accessKey: KEY, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' }),
    ];
    for (const client of clients) {
      const err = await client.describe(request()).then(() => null, (e: Error) => e);
      expect(err, client.provider).toBeInstanceOf(Error);
      expect(err!.message, client.provider).not.toMatch(/epPASSWD1|epQUERYKEY1/);
    }
  });

  it('sends the PAI-EAS token as is (no Bearer) when AuthHeader = token', async () => {
    const s = await fake({ auth: { openai: KEY } });
    const client = new OpenAiVlmClient({ endpoint: `${s.url}/api/predict/svc/v1/chat/completions`, accessKey: KEY, authHeader: 'token', frameListFormat: 'dashscope' });
    await client.describe(request());
    expect(s.requests[0]!.authorization).toBe(KEY);
    expect(s.requests[0]!.path).toBe('/api/predict/svc/v1/chat/completions');
  });

  it('sends no Authorization header without a key', async () => {
    const s = await fake();
    await new OpenAiVlmClient({ endpoint: s.url, accessKey: '', authHeader: 'auto', frameListFormat: 'dashscope' }).describe(request());
    expect(s.requests[0]!.authorization).toBeUndefined();
  });

  it('sends frames as one video part, DashScope or vLLM style', async () => {
    const s = await fake();
    const frames = { type: 'frames' as const, frames: [frame, frame, frame] };
    const msg = request({ messages: [{ role: 'user', content: [frames, { type: 'text', text: 'x' }] }] });
    await new OpenAiVlmClient({ endpoint: s.url, accessKey: '', authHeader: 'auto', frameListFormat: 'dashscope' }).describe(msg);
    await new OpenAiVlmClient({ endpoint: s.url, accessKey: '', authHeader: 'auto', frameListFormat: 'vllm' }).describe(msg);
    expect(s.requests[0]!.body.messages[0].content[0]).toEqual({ type: 'video', video: Array(3).fill(`data:image/jpeg;base64,${frame.jpegBase64}`) });
    expect(s.requests[1]!.body.messages[0].content[0].video_url.url).toBe(`data:video/jpeg;base64,${Array(3).fill(frame.jpegBase64).join(',')}`);
  });

  it('turns a 401 into a non-retryable ModelError without the key in it', async () => {
    const s = await fake({ auth: { openai: 'Bearer right-key' } });
    const client = new OpenAiVlmClient({ endpoint: s.url, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });
    const err = await client.describe(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).status).toBe(401);
    expect((err as ModelError).retryable).toBe(false);
    expect((err as ModelError).message).toMatch(/HTTP 401.*AccessKey/);
    expect((err as ModelError).message).not.toContain(KEY);
  });

  it('a 401 or 403 says the key was refused, or that none was sent, for both providers', async () => {
    const s = await fake({ auth: { openai: 'Bearer right-key', eas: 'right-key' } });
    const clients = (key: string) => [
      new OpenAiVlmClient({ endpoint: s.url, accessKey: key, authHeader: 'auto', frameListFormat: 'dashscope' }),
      new PaiEasVlmClient({ endpoint: s.easUrl, accessKey: key, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' }),
    ];
    for (const c of clients(KEY)) {
      const err = (await c.describe(request()).catch((e: unknown) => e)) as ModelError;
      expect(err.message, c.provider).toMatch(new RegExp(`^${c.provider} 127\\.0\\.0\\.1:\\d+\\S* answered HTTP 401 .*\\(the server refused the key: check \\[QwenVL\\] AccessKey`));
      expect(err.message, c.provider).not.toContain(KEY);
    }
    for (const c of clients('')) {
      const err = (await c.describe(request()).catch((e: unknown) => e)) as ModelError;
      expect(err.message, c.provider).toMatch(/answered HTTP 401 .*\(no key was sent: set VIDEODEX_QWEN_ACCESS_KEY or \[QwenVL\] AccessKey/);
    }
  });

  it("keeps the code and message of an error body in DashScope's shape (no error wrapper), as the pai-eas provider does", async () => {
    const s = await fake();
    s.queue(reply.status(401, undefined, { code: 'InvalidApiKey', message: 'Invalid API-key provided.', request_id: 'r-1' }));
    const client = new OpenAiVlmClient({ endpoint: s.url, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });
    const err = (await client.describe(request()).catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.status).toBe(401);
    expect(err.message).toContain('InvalidApiKey');
    expect(err.message).toContain('Invalid API-key provided.');
    expect(err.message).not.toContain('no body');
  });

  it('names an error a gateway answered with 200 (an error or a code and message, no choices) by its own words, as the pai-eas provider does', async () => {
    const s = await fake();
    s.queue(
      reply.json({ error: { message: `model overloaded (key ${KEY})`, code: 'overloaded' } }),
      reply.json({ code: 'InvalidParameter', message: 'The video has too many frames', request_id: 'r-2' }),
      reply.json({ id: 'x', object: 'list', data: [] }),
    );
    const client = new OpenAiVlmClient({ endpoint: s.url, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });
    const errors = [];
    for (let i = 0; i < 3; i++) errors.push((await client.describe(request()).catch((e: unknown) => e)) as ModelError);
    expect(errors[0]!.code).toBe('E_MODEL_ANSWER');
    expect(errors[0]!.message).toMatch(/: answered 200 with an error overloaded: model overloaded \(key \*+\)$/);
    expect(errors[1]!.message).toMatch(/: answered 200 with an error InvalidParameter: The video has too many frames$/);
    // a reply that is no error and no completion still says to check the URL
    expect(errors[2]!.message).toMatch(/not a chat completion.*check the endpoint URL/);
  });
});

describe('pai-eas provider (raw)', () => {
  const eas = (s: FakeVlmServer, requestFormat: EasRequestFormat, responsePath = '') =>
    new PaiEasVlmClient({ endpoint: s.easUrl, accessKey: KEY, authHeader: 'auto', requestFormat, responsePath, frameListFormat: 'dashscope' });

  it('posts to the configured URL with Authorization: <token>, no Bearer', async () => {
    const s = await fake({ auth: { eas: KEY } });
    const res = await eas(s, 'openai').describe(request());
    expect(res.text).toMatch(/test pattern/);
    expect(s.requests[0]!.route).toBe('eas');
    expect(s.requests[0]!.authorization).toBe(KEY);
  });

  it('maps the dashscope body and reply', async () => {
    const s = await fake({ auth: { eas: KEY } });
    const res = await eas(s, 'dashscope').describe(request());
    const body = s.requests[0]!.body;
    expect(body.input.messages[0].content).toEqual([{ image: expect.stringMatching(/^data:image\/jpeg;base64,/) }, { image: expect.any(String) }, { text: 'Describe it.' }]);
    expect(body.parameters).toEqual({ max_tokens: 64, temperature: 0.1 });
    expect(res).toMatchObject({ text: expect.stringMatching(/test pattern/), usage: { promptTokens: 321, completionTokens: 12 } });
  });

  it('reads why the model stopped (finish_reason) from the dashscope and openai reply shapes', async () => {
    const s = await fake();
    s.queue(reply.cutAtMaxTokens('{"description": "a'), reply.cutAtMaxTokens('{"description": "a'));
    expect((await eas(s, 'dashscope').describe(request())).finishReason).toBe('length');
    expect((await eas(s, 'openai').describe(request())).finishReason).toBe('length');
    expect((await eas(s, 'dashscope').describe(request())).finishReason).toBe('stop');
  });

  it('maps the prompt body and reads the answer at EasResponsePath', async () => {
    const s = await fake();
    const res = await eas(s, 'prompt', 'response').describe(request());
    expect(s.requests[0]!.body).toEqual({ prompt: 'Describe it.', images: [frame.jpegBase64, frame.jpegBase64], max_new_tokens: 64, temperature: 0.1 });
    expect(res.text).toMatch(/test pattern/);
    const bad = await eas(s, 'prompt', 'output.text').describe(request()).catch((e: unknown) => e);
    expect((bad as ModelError).message).toMatch(/no answer text at output\.text/);
  });

  it('names an error the deployment answered with 200 as an error, not as an answer to look for elsewhere', async () => {
    const s = await fake();
    s.queue(
      reply.json({ error: `CUDA out of memory (token ${KEY})` }),
      reply.json({ code: 'ProcessorError', message: 'model not loaded' }),
      reply.json({ data: { out: 'x' } }),
      reply.json({ code: 200, message: 'success', data: { out: 'x' } }),
    );
    const oom = (await eas(s, 'prompt').describe(request()).catch((e: unknown) => e)) as ModelError;
    expect(oom.code).toBe('E_MODEL_ANSWER');
    expect(oom.message).toMatch(/: answered 200 with an error: CUDA out of memory \(token \*+\)$/);
    const coded = (await eas(s, 'prompt').describe(request()).catch((e: unknown) => e)) as ModelError;
    expect(coded.message).toMatch(/: answered 200 with an error ProcessorError: model not loaded$/);
    // a reply with no error and no answer still points at EasResponsePath
    const elsewhere = (await eas(s, 'prompt').describe(request()).catch((e: unknown) => e)) as ModelError;
    expect(elsewhere.message).toMatch(/set \[QwenVL\] EasResponsePath$/);
    const wrapped = (await eas(s, 'prompt').describe(request()).catch((e: unknown) => e)) as ModelError;
    expect(wrapped.message).toMatch(/set \[QwenVL\] EasResponsePath$/);
  });

  it('reads a reply in the charset its Content-Type names (GBK from a custom deployment), for both providers', async () => {
    const s = await fake();
    // "你好" in GBK, inside a chat completion and a raw reply
    const hello = Buffer.from([0xc4, 0xe3, 0xba, 0xc3]);
    const completion = Buffer.concat([Buffer.from('{"choices":[{"index":0,"message":{"role":"assistant","content":"'), hello, Buffer.from('"},"finish_reason":"stop"}]}')]);
    const raw = Buffer.concat([Buffer.from('{"response":"'), hello, Buffer.from('"}')]);
    s.queue(reply.bytes('application/json; charset=GBK', raw), reply.bytes('application/json;charset="gbk"', completion));
    expect((await eas(s, 'prompt').describe(request())).text).toBe('你好');
    const openai = new OpenAiVlmClient({ endpoint: s.url, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });
    expect((await openai.describe(request())).text).toBe('你好');
  });

  it('refuses an HTML page as an answer, for both providers', async () => {
    const s = await fake();
    s.queue(reply.garbage(), reply.garbage());
    const a = await eas(s, 'openai').describe(request()).catch((e: unknown) => e);
    expect((a as ModelError).message).toMatch(/HTML page, not an answer/);
    const b = await new OpenAiVlmClient({ endpoint: s.url, accessKey: '', authHeader: 'auto', frameListFormat: 'dashscope' }).describe(request()).catch((e: unknown) => e);
    expect((b as ModelError).code).toBe('E_MODEL_ANSWER');
    expect((b as ModelError).message).toMatch(/not JSON: is the endpoint an OpenAI-compatible API/);
  });

  it('rejects a wrong token with 401 and does not retry it', async () => {
    const s = await fake({ auth: { eas: 'other-token' } });
    const out = await reliable(eas(s, 'openai')).call(request());
    expect(out.ok).toBe(false);
    expect(out.retries).toBe(0);
    expect(s.requests).toHaveLength(1);
  });
});

describe('retries', () => {
  const client = (s: FakeVlmServer) => new OpenAiVlmClient({ endpoint: s.url, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });

  it('waits for Retry-After on 429, then succeeds', async () => {
    const s = await fake();
    s.queue(reply.rateLimited('1'));
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(true);
    expect(out.retries).toBe(1);
    expect(s.requests).toHaveLength(2);
    expect(s.requests[1]!.at - s.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  /**
   * A first call the server refuses, then a second call made while the first waits: both succeed, and the requests
   * after the refusal all come at least `heldMs` after it.
   */
  async function secondCallHeld(s: FakeVlmServer, policy: typeof fast, heldMs: number): Promise<void> {
    const inner = client(s);
    let refused!: () => void;
    const wasRefused = new Promise<void>((resolve) => (refused = resolve));
    const watched = { provider: inner.provider, endpointLabel: inner.endpointLabel, describe: (r: VlmRequest) => inner.describe(r).catch((e: unknown) => { refused(); throw e; }) };
    const vlm = reliable(watched, policy);
    const first = vlm.call(request());
    await wasRefused;
    // (the refused call's own handling of the 429 settles first)
    await new Promise((resolve) => setImmediate(resolve));
    // another worker's call, made while the first waits
    const second = await vlm.call(request());
    expect(second.ok && (await first).ok).toBe(true);
    expect(s.requests).toHaveLength(3);
    expect(s.requests[0]!.status).toBe(429);
    for (const later of s.requests.slice(1)) expect(later.at - s.requests[0]!.at).toBeGreaterThanOrEqual(heldMs);
  }

  it("a 429's Retry-After holds the other callers of the endpoint too, not only the one refused", async () => {
    const s = await fake();
    s.queue(reply.rateLimited('1'));
    await secondCallHeld(s, fast, 900);
  });

  it('a 429 without Retry-After holds the other callers for its backoff too (they went on, each refused in turn)', async () => {
    const s = await fake();
    s.queue(reply.status(429, undefined, { error: { message: 'Requests rate limit exceeded', code: 'Throttling.RateQuota' } }));
    // a backoff of 400-800 ms before the first retry
    await secondCallHeld(s, { ...fast, baseDelayMs: 800, maxDelayMs: 800 }, 350);
  });

  it('retries 500s up to Retries, then gives one error saying how many attempts', async () => {
    const s = await fake();
    s.queue(reply.status(500), reply.status(502), reply.status(503), reply.status(500), reply.text('too late'));
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(false);
    expect(s.requests).toHaveLength(4);
    expect(!out.ok && out.error.message).toMatch(/HTTP 500.*after 4 attempts/);
  });

  it("retries PAI-EAS's 450 (its request queue was full and dropped the request), for both providers", async () => {
    const s = await fake();
    s.queue(reply.status(450, undefined, 'queue is full'));
    const eas = new PaiEasVlmClient({ endpoint: s.easUrl, accessKey: KEY, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' });
    const out = await reliable(eas).call(request());
    expect(out.ok).toBe(true);
    expect(out.retries).toBe(1);
    s.queue(reply.status(450, undefined, 'queue is full'));
    const openai = await reliable(client(s)).call(request());
    expect(openai.ok && openai.retries).toBe(1);
    s.queue(reply.status(450), reply.status(450));
    const failed = await reliable(client(s), { ...fast, retries: 1 }).call(request());
    expect(!failed.ok && failed.error.code).toBe('E_MODEL_RATE');
    expect(!failed.ok && failed.error.message).toMatch(/HTTP 450 .*\(the EAS service's request queue is full\) \(after 2 attempts\)$/);
  });

  it("retries a 408 and, when every attempt gets one, points at PAI-EAS's 5 s keepalive", async () => {
    const s = await fake();
    s.queue(reply.status(408), reply.status(408));
    const out = await reliable(client(s), { ...fast, retries: 1 }).call(request());
    expect(s.requests).toHaveLength(2);
    expect(!out.ok && out.error.message).toMatch(/HTTP 408 .*\(the server gave up on the request; on PAI-EAS raise the service's metadata\.rpc\.keepalive, 5000 ms by default\) \(after 2 attempts\)$/);
  });

  it.each([400, 401, 403])('never retries %i', async (status) => {
    const s = await fake();
    s.queue(reply.status(status));
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(false);
    expect(out.status).toBe(status);
    expect(s.requests).toHaveLength(1);
  });

  it('a refused key stops later calls unsent for a while (one 401, not one per video), then tries again', async () => {
    const s = await fake({ auth: { openai: 'Bearer the-right-key' } });
    let clock = 0;
    const vlm = new ReliableVlm(client(s), new RateLimiter(100_000), fast, Math.random, () => clock);
    const outs = [await vlm.call(request()), await vlm.call(request()), await vlm.call(request())];
    expect(s.requests).toHaveLength(1);
    for (const out of outs) {
      expect(out.ok).toBe(false);
      expect(!out.ok && out.error.code).toBe('E_MODEL_AUTH');
      expect(out.status).toBe(401);
    }
    expect(!outs[0]!.ok && outs[0]!.notSent).toBeUndefined();
    expect(!outs[2]!.ok && outs[2]!.notSent).toBe(true);
    expect(!outs[2]!.ok && outs[2]!.error.message).toMatch(/HTTP 401 Unauthorized.*; not sent: the server refused this key moments ago/);
    expect(!outs[2]!.ok && outs[2]!.error.message).not.toContain(KEY);
    clock += REFUSED_KEY_MS;
    await vlm.call(request());
    expect(s.requests).toHaveLength(2);
  });

  it("DashScope's Arrearage (an account with an overdue payment) is refused like a wrong key: asked once, said plainly", async () => {
    const s = await fake();
    const arrears = { error: { code: 'Arrearage', message: 'Access denied, please make sure your account is in good standing.', type: 'Arrearage' } };
    s.queue(reply.status(400, undefined, arrears), reply.status(400, undefined, arrears));
    const vlm = reliable(client(s));
    const first = await vlm.call(request());
    const second = await vlm.call(request());
    expect(s.requests).toHaveLength(1);
    expect(!first.ok && first.error.code).toBe('E_MODEL_AUTH');
    expect(!first.ok && first.error.message).toMatch(/HTTP 400 Arrearage: Access denied.* \(the account behind the key has an overdue payment: settle it in the Alibaba Cloud console\)$/);
    expect(!second.ok && second.notSent).toBe(true);
  });

  it('a call stopped while it waits for its turn under the rate limit says it was not sent (no call to audit)', async () => {
    const s = await fake();
    // one a minute: the second call waits about a minute for its turn
    const vlm = new ReliableVlm(client(s), new RateLimiter(1, 1), fast);
    expect((await vlm.call(request())).ok).toBe(true);
    const stop = new AbortController();
    const waiting = vlm.call(request({ signal: stop.signal }));
    stop.abort();
    const out = await waiting;
    expect(out.ok).toBe(false);
    expect(!out.ok && out.notSent).toBe(true);
    expect(!out.ok && out.error.code).toBe('E_MODEL_ABORTED');
    expect(s.requests).toHaveLength(1);
    // one stopped in the middle of its request was sent: that call is audited
    s.queue(reply.hang());
    const mid = new AbortController();
    const sending = reliable(client(s)).call(request({ signal: mid.signal }));
    while (s.requests.length < 2) await new Promise((resolve) => setImmediate(resolve));
    mid.abort();
    const cut = await sending;
    expect(!cut.ok && cut.notSent).toBeUndefined();
  });

  it('times out a hanging server per request and retries', async () => {
    const s = await fake();
    s.queue(reply.hang());
    const out = await reliable(client(s)).call(request({ timeoutMs: 300 }));
    expect(out.ok).toBe(true);
    expect(out.retries).toBe(1);
    expect(s.requests.map((r) => r.reply)).toEqual(['hang', 'text']);
  });

  it('times out a server that sends its headers and then stalls in the body, and retries (it waited for ever)', async () => {
    const s = await fake();
    s.queue(reply.stallBody());
    const out = await reliable(client(s)).call(request({ timeoutMs: 300 }));
    expect(out.ok).toBe(true);
    expect(out.retries).toBe(1);
    expect(s.requests.map((r) => r.reply)).toEqual(['stallBody', 'text']);
    s.queue(reply.stallBody(), reply.stallBody());
    const failed = await reliable(client(s), { ...fast, retries: 1 }).call(request({ timeoutMs: 200 }));
    expect(!failed.ok && failed.error.code).toBe('E_MODEL_TIMEOUT');
  });

  it('retries a connection dropped in the middle of the answer, as a connection failure', async () => {
    const s = await fake();
    s.queue(reply.cutBody(), reply.cutBody());
    const out = await reliable(client(s), { ...fast, retries: 1 }).call(request());
    expect(out.ok).toBe(false);
    expect(s.requests).toHaveLength(2);
    expect(!out.ok && out.error.code).toBe('E_MODEL_CONNECTION');
    expect(!out.ok && out.error.message).toMatch(/connection failed: .*\(in the middle of the answer\)/);
    s.queue(reply.cutBody());
    expect((await reliable(client(s)).call(request())).ok).toBe(true);
  });

  it('a web page answered with 200 is named as one, not retried as an empty answer', async () => {
    const s = await fake();
    s.queue(reply.html());
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(false);
    expect(s.requests).toHaveLength(1);
    expect(!out.ok && out.error.code).toBe('E_MODEL_ANSWER');
    expect(!out.ok && out.error.message).toMatch(/: the reply is an HTML page, not an answer \(check the endpoint URL\)$/);
  });

  it('refuses an answer far longer than MaxOutputTokens allows, without retrying or keeping it', async () => {
    const s = await fake();
    s.queue(reply.text('x'.repeat(64 * 32 + 4097)));
    const out = await reliable(client(s)).call(request({ maxOutputTokens: 64 }));
    expect(out.ok).toBe(false);
    expect(s.requests).toHaveLength(1);
    expect(!out.ok && out.error.code).toBe('E_MODEL_ANSWER');
    expect(!out.ok && out.error.message).toMatch(/the answer is 6145 characters, more than 64 tokens \(\[QwenVL\] MaxOutputTokens\) can be; not kept$/);
    // a long answer within the bound is kept
    s.queue(reply.text('y'.repeat(64 * 32)));
    expect((await reliable(client(s)).call(request({ maxOutputTokens: 64 }))).ok).toBe(true);
  });

  it("counts the model's time as latency, not the wait for a turn under the rate limit", async () => {
    const s = await fake();
    // 20 a minute: the second call waits about 3 s for its turn, and the answer itself is immediate
    const limited = new ReliableVlm(client(s), new RateLimiter(20, 1), fast);
    const first = await limited.call(request());
    const second = await limited.call(request());
    expect(first.ok && second.ok).toBe(true);
    expect(second.latencyMs).toBeLessThan(2500);
  });

  it('a Retry-After longer than it waits fails the call at once, saying so, instead of waiting the cap at every retry', async () => {
    const s = await fake();
    s.queue(reply.rateLimited('100000'));
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(false);
    expect(s.requests).toHaveLength(1);
    expect(!out.ok && out.error.message).toMatch(/: the server asks to wait 100000 s, longer than the 5 s videodex waits; run again later \(--retry-failed\)$/);
    expect(!out.ok && out.error.code).toBe('E_MODEL_RATE');
  });

  it("a Retry-After longer than it waits holds the endpoint's other calls unsent for that long (each video sent one and failed the same way)", async () => {
    const s = await fake();
    let now = 0;
    const vlm = new ReliableVlm(client(s), new RateLimiter(100_000), fast, Math.random, () => now);
    s.queue(reply.rateLimited('120'));
    const first = await vlm.call(request());
    expect(!first.ok && first.error.code).toBe('E_MODEL_RATE');
    now = 60_000;
    const held = await vlm.call(request());
    expect(s.requests).toHaveLength(1);
    expect(!held.ok && held.notSent).toBe(true);
    expect(!held.ok && held.error.code).toBe('E_MODEL_RATE');
    expect(!held.ok && held.error.message).toMatch(/asks to wait 120 s, .*; not sent: it asked that of an earlier call, 60 s of it still to go$/);
    now = 120_001;
    const after = await vlm.call(request());
    expect(after.ok).toBe(true);
    expect(s.requests).toHaveLength(2);
  });

  it('gives up on a server that always hangs with a timeout error', async () => {
    const s = await fake();
    s.queue(reply.hang(), reply.hang());
    const out = await reliable(client(s), { ...fast, retries: 1 }).call(request({ timeoutMs: 200 }));
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error.code).toBe('E_MODEL_TIMEOUT');
    expect(!out.ok && out.error.message).toMatch(/no answer within 200 ms/);
  });

  it('retries an empty answer', async () => {
    const s = await fake();
    s.queue(reply.empty());
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(true);
    expect(s.requests).toHaveLength(2);
  });

  it('an answer of control characters alone (NULs) is empty, retried like one: it was kept as an empty description', async () => {
    const s = await fake();
    s.queue(reply.text('\u0000\u0000 \u0007\n'));
    const out = await reliable(client(s)).call(request());
    expect(out.ok && out.response.text).toMatch(/test pattern/);
    expect(s.requests).toHaveLength(2);
    s.queue(...Array.from({ length: 4 }, () => reply.text('\u0000')));
    const never = await reliable(client(s)).call(request());
    expect(!never.ok && never.error.code).toBe('E_MODEL_EMPTY');
  });

  it('counts the tokens of every answer the server sent, the empty one retried and the one too long to keep too (they were billed)', async () => {
    const s = await fake();
    s.queue(reply.empty());
    const out = await reliable(client(s)).call(request());
    // the fake bills 100 + 170 an image of prompt, a token a 4 characters of answer
    expect(out.ok && out.response.usage).toEqual({ promptTokens: 440, completionTokens: 9 });
    expect(out.usage).toEqual({ promptTokens: 880, completionTokens: 9 });
    s.queue(reply.text('x'.repeat(64 * 32 + 4097)));
    const long = await reliable(client(s)).call(request({ maxOutputTokens: 64 }));
    expect(long.ok).toBe(false);
    expect(long.usage).toEqual({ promptTokens: 440, completionTokens: 1537 });
  });

  it('does not retry an empty answer the token limit or a content filter stopped (the same request stops the same way, billed)', async () => {
    const s = await fake();
    s.queue(reply.cutAtMaxTokens(''));
    const out = await reliable(client(s)).call(request());
    expect(out.ok).toBe(false);
    expect(s.requests).toHaveLength(1);
    expect(!out.ok && out.error.code).toBe('E_MODEL_EMPTY');
    expect(!out.ok && out.error.message).toMatch(/empty answer: the model used all 64 tokens \(\[QwenVL\] MaxOutputTokens\) before answering; raise MaxOutputTokens$/);
    s.queue({ kind: 'text', text: '', finishReason: 'content_filter' });
    const filtered = await reliable(client(s)).call(request());
    expect(!filtered.ok && filtered.error.message).toMatch(/empty answer: the server's content filter withheld it$/);
    expect(s.requests).toHaveLength(2);
  });

  it('a refusal (content null, message.refusal) is not retried and is named, for both providers', async () => {
    const s = await fake();
    const refused = { choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I can't help with that." }, finish_reason: 'stop' }] };
    const eas = new PaiEasVlmClient({ endpoint: s.easUrl, accessKey: KEY, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' });
    for (const c of [client(s), eas]) {
      const before = s.requests.length;
      s.queue(reply.json(refused));
      const out = await reliable(c).call(request());
      expect(s.requests.length - before, c.provider).toBe(1);
      expect(!out.ok && out.error.code, c.provider).toBe('E_MODEL_EMPTY');
      expect(!out.ok && out.error.message, c.provider).toMatch(/empty answer: the model refused: "I can't help with that\."$/);
    }
  });

  it('pai-eas: a chat completion whose content is null or with no choice is an empty answer, not one to look for at EasResponsePath', async () => {
    const s = await fake();
    const eas = new PaiEasVlmClient({ endpoint: s.easUrl, accessKey: KEY, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' });
    // a thinking model that spent every token on its reasoning: vLLM sends content null, finish_reason length
    s.queue(reply.json({ choices: [{ index: 0, message: { role: 'assistant', content: null, reasoning_content: 'Let me think' }, finish_reason: 'length' }] }));
    const cut = await reliable(eas).call(request());
    expect(!cut.ok && cut.error.code).toBe('E_MODEL_EMPTY');
    expect(!cut.ok && cut.error.message).toMatch(/the model used all 64 tokens \(\[QwenVL\] MaxOutputTokens\)/);
    expect(s.requests).toHaveLength(1);
    // no choice at all: an empty answer, retried like one
    s.queue(reply.json({ output: { choices: [] } }));
    const none = await reliable(eas).call(request());
    expect(none.ok).toBe(true);
    expect(s.requests).toHaveLength(3);
  });

  it('follows a 307/308 to the same server (a POST with its key); a 301/302 or a redirect to another host fails naming where it points, not as a 404 or 401', async () => {
    const s = await fake({ auth: { openai: `Bearer ${KEY}`, eas: KEY } });
    const other = await fake();
    const openai = new OpenAiVlmClient({ endpoint: `${s.url}/v1`, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });
    const eas = new PaiEasVlmClient({ endpoint: s.easUrl, accessKey: KEY, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' });
    for (const c of [openai, eas]) {
      const target = c === eas ? '/api/predict/qwen' : '/v2/chat/completions';
      s.requests.length = 0;
      s.queue(reply.redirect(307, target));
      const followed = await reliable(c).call(request());
      expect(followed.ok, c.provider).toBe(true);
      expect(s.requests.map((r) => [r.method, r.path, r.authorization, imagesIn(r.body).length]), c.provider).toEqual([
        ['POST', c === eas ? '/api/predict/qwen' : '/v1/chat/completions', c === eas ? KEY : `Bearer ${KEY}`, 2],
        ['POST', target, c === eas ? KEY : `Bearer ${KEY}`, 2],
      ]);
      // fetch sent the request on as a GET without its body, refused with 404: "check the endpoint path"
      s.requests.length = 0;
      s.queue(reply.redirect(301, `https://secure.example.test${target}?key=QUERYSECRET1`));
      const moved = await reliable(c).call(request());
      expect(s.requests, c.provider).toHaveLength(1);
      expect(!moved.ok && moved.error.code, c.provider).toBe('E_MODEL_HTTP');
      expect(!moved.ok && moved.error.message, c.provider).toMatch(
        new RegExp(`answered HTTP 301, a redirect to https://secure\\.example\\.test${target}; not followed \\(the request would go on as a GET without its body\\): set the endpoint to the URL it names$`),
      );
      // another host would not be sent the key: it was dropped, and the 401 said to check it
      s.queue(reply.redirect(307, `${other.url}${target}`));
      const away = await reliable(c).call(request());
      expect(!away.ok && away.error.message, c.provider).toMatch(/answered HTTP 307, a redirect to http:\/\/127\.0\.0\.1:\d+\/\S+; not followed \(another host would not be sent the key\)/);
      expect(other.requests, c.provider).toHaveLength(0);
    }
  });

  it('retries a refused connection', async () => {
    const s = await fake();
    const url = s.url;
    await s.stop();
    const c = new OpenAiVlmClient({ endpoint: url, accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' });
    const out = await reliable(c, { ...fast, retries: 2 }).call(request());
    expect(out.ok).toBe(false);
    expect(out.retries).toBe(2);
    expect(!out.ok && out.error.code).toBe('E_MODEL_CONNECTION');
    // what failed, not fetch's "fetch failed"
    expect(!out.ok && out.error.message).toMatch(/: connection failed: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(after 3 attempts\)$/);
  });

  it.skipIf(invalidHost !== 'ENOTFOUND')('does not retry a host name that does not resolve, and sends no more calls to it for a while, for both providers', async () => {
    for (const c of [
      new OpenAiVlmClient({ endpoint: 'http://no-such-host.invalid/v1', accessKey: KEY, authHeader: 'bearer', frameListFormat: 'dashscope' }),
      new PaiEasVlmClient({ endpoint: 'http://no-such-host.invalid/api/predict/x', accessKey: KEY, authHeader: 'auto', requestFormat: 'openai', responsePath: '', frameListFormat: 'dashscope' }),
    ]) {
      const vlm = reliable(c);
      const out = await vlm.call(request());
      expect(out.retries).toBe(0);
      expect(!out.ok && out.error.message).toMatch(/: connection failed: getaddrinfo ENOTFOUND no-such-host\.invalid \(the host name does not resolve: check \[QwenVL\] PublicEndpoint \/ VpcEndpoint\)$/);
      const next = await vlm.call(request());
      expect(!next.ok && next.notSent).toBe(true);
      expect(!next.ok && next.error.message).toMatch(/not sent: the endpoint's host did not resolve moments ago/);
    }
  });
});
