import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake does with one request. */
export type FakeReply =
  /** `finishReason`: what the answer says stopped the model ('stop' unless given; 'length' for a cut answer). */
  | { kind: 'text'; text: string; finishReason?: string }
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'empty' }
  /** 200 with a body that is not JSON. */
  | { kind: 'garbage' }
  /** 200 with these bytes and this Content-Type (a body in another charset than UTF-8). */
  | { kind: 'bytes'; contentType: string; body: Buffer }
  /** 200 with this JSON body as it is (a deployment's own reply shape, an error it answers with 200). */
  | { kind: 'json'; body: unknown }
  /** 200 with a web page (text/html), as a login or error page at a wrong URL. */
  | { kind: 'html' }
  /** 200 and the start of a body, then nothing more (the connection stays open). */
  | { kind: 'stallBody' }
  /** 200 with a Content-Length, part of the body, then the connection dropped. */
  | { kind: 'cutBody' }
  /** A redirect (301, 307...) to `location` (a path on this server, or a URL). */
  | { kind: 'redirect'; status: number; location: string };

export const reply = {
  text: (text: string): FakeReply => ({ kind: 'text', text }),
  /** An answer the server cut at max_tokens (finish_reason "length"). */
  cutAtMaxTokens: (text: string): FakeReply => ({ kind: 'text', text, finishReason: 'length' }),
  status: (status: number, retryAfter?: string, body?: unknown): FakeReply => ({ kind: 'status', status, ...(retryAfter !== undefined ? { retryAfter } : {}), ...(body !== undefined ? { body } : {}) }),
  rateLimited: (retryAfter = '1'): FakeReply => ({
    kind: 'status',
    status: 429,
    retryAfter,
    body: { error: { message: 'Requests rate limit exceeded', type: 'throttling', code: 'Throttling.RateQuota' } },
  }),
  hang: (): FakeReply => ({ kind: 'hang' }),
  empty: (): FakeReply => ({ kind: 'empty' }),
  garbage: (): FakeReply => ({ kind: 'garbage' }),
  html: (): FakeReply => ({ kind: 'html' }),
  json: (body: unknown): FakeReply => ({ kind: 'json', body }),
  bytes: (contentType: string, body: Buffer): FakeReply => ({ kind: 'bytes', contentType, body }),
  stallBody: (): FakeReply => ({ kind: 'stallBody' }),
  cutBody: (): FakeReply => ({ kind: 'cutBody' }),
  redirect: (status: number, location: string): FakeReply => ({ kind: 'redirect', status, location }),
  fencedJson: (value: unknown): FakeReply => ({ kind: 'text', text: 'Here is the JSON you asked for:\n```json\n' + JSON.stringify(value, null, 2) + '\n```\nLet me know if you need more.' }),
  brokenJson: (): FakeReply => ({ kind: 'text', text: '{"description": "a red car", "tags": ["car", "red"' }),
  wrongShape: (): FakeReply => ({ kind: 'text', text: '{"summary": "a red car", "labels": 3}' }),
};

export interface RecordedRequest {
  at: number;
  method: string;
  /** The path alone, without the query string. */
  path: string;
  /** The raw query string without its `?` ('' when there is none), as the client sent it. */
  query: string;
  /** 'openai' for .../chat/completions, 'eas' for the raw route. */
  route: 'openai' | 'eas' | 'other';
  authorization: string | undefined;
  headers: IncomingMessage['headers'];
  body: any;
  /** The reply given. */
  reply: FakeReply['kind'];
  status: number;
}

export interface FakeVlmOptions {
  /** The Authorization header each route demands; a mismatch is answered 401. Undefined: not checked. */
  auth?: { openai?: string | null; eas?: string | null };
  /** Delay before every answer, ms. */
  latencyMs?: number;
  /** Awaited before every answer: a test holds the model's answer until it has done what it races with. */
  beforeAnswer?: (req: RecordedRequest) => Promise<void>;
  /** The answer when the script is empty. */
  defaultReply?: (req: RecordedRequest) => FakeReply;
  /** Raw EAS route path (default /api/predict/qwen). */
  easPath?: string;
}

/**
 * A fake vision-language model server on 127.0.0.1: OpenAI chat completions at any path ending in
 * /chat/completions and a raw PAI-EAS route. It checks each route's Authorization header, records every
 * request, and answers from a script (429 with Retry-After, 500, hangs, empty answers, fenced/broken/wrong
 * JSON), then with the default reply.
 */
export class FakeVlmServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: FakeReply[] = [];
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  constructor(private readonly options: FakeVlmOptions = {}) {}

  get easUrl(): string {
    return `${this.url}${this.options.easPath ?? '/api/predict/qwen'}`;
  }

  /** Queues replies for the next requests, in order. */
  queue(...replies: FakeReply[]): this {
    this.script.push(...replies);
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      // recorded as text
    }
    const [path, ...rest] = (req.url ?? '/').split('?') as [string, ...string[]];
    const query = rest.join('?');
    const route: RecordedRequest['route'] = /\/chat\/completions$/.test(path) ? 'openai' : path === (this.options.easPath ?? '/api/predict/qwen') ? 'eas' : 'other';
    const rec: RecordedRequest = {
      at: performance.now(),
      method: req.method ?? 'GET',
      path,
      query,
      route,
      authorization: req.headers.authorization,
      headers: req.headers,
      body,
      reply: 'text',
      status: 200,
    };
    this.requests.push(rec);

    if (route === 'other' || req.method !== 'POST') return this.send(res, rec, 404, { error: { message: `no route ${req.method} ${path}`, code: 'NotFound' } });
    const expected = this.options.auth?.[route];
    if (expected !== undefined && (req.headers.authorization ?? null) !== expected) {
      return this.send(res, rec, 401, { error: { message: 'Invalid authorization header', type: 'auth', code: 'Unauthorized' } });
    }
    const next = this.script.shift() ?? this.options.defaultReply?.(rec) ?? reply.text('A test pattern with moving colours.');
    rec.reply = next.kind;
    if (next.kind === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    await this.options.beforeAnswer?.(rec);
    if (next.kind === 'status') {
      return this.send(res, rec, next.status, next.body ?? { error: { message: `scripted ${next.status}`, code: `E${next.status}` } }, next.retryAfter);
    }
    if (next.kind === 'stallBody' || next.kind === 'cutBody') {
      rec.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      res.write('{"id":"x","choices":');
      if (next.kind === 'cutBody') setTimeout(() => res.destroy(), 20);
      else {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
      }
      return;
    }
    if (next.kind === 'redirect') {
      rec.status = next.status;
      res.writeHead(next.status, { location: next.location });
      res.end();
      return;
    }
    if (next.kind === 'json') return this.send(res, rec, 200, next.body);
    if (next.kind === 'bytes') {
      res.writeHead(200, { 'content-type': next.contentType });
      res.end(next.body);
      return;
    }
    if (next.kind === 'html') {
      rec.status = 200;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><head><title>Sign in</title></head><body>log in</body></html>');
      return;
    }
    if (next.kind === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not json');
      return;
    }
    const text = next.kind === 'empty' ? '' : next.text;
    const finish = (next.kind === 'text' && next.finishReason) || 'stop';
    return this.send(res, rec, 200, route === 'openai' ? openAiAnswer(body, text, finish) : easAnswer(body, text, finish));
  }

  private send(res: ServerResponse, rec: RecordedRequest, status: number, body: unknown, retryAfter?: string): void {
    rec.status = status;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }
}

/** Images in an OpenAI-style body (image_url parts, video frame lists, vLLM comma-joined frames). */
export function imagesIn(body: any): string[] {
  const out: string[] = [];
  for (const m of body?.messages ?? []) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p.type === 'image_url') out.push(p.image_url.url);
      else if (p.type === 'video') out.push(...p.video);
      else if (p.type === 'video_url' && String(p.video_url.url).startsWith('data:video/jpeg;base64,')) {
        out.push(...String(p.video_url.url).slice('data:video/jpeg;base64,'.length).split(',').map((b) => `data:image/jpeg;base64,${b}`));
      }
    }
  }
  return out;
}

/** The text parts of an OpenAI-style body. */
export function textIn(body: any): string {
  return (body?.messages ?? [])
    .flatMap((m: any) => (typeof m.content === 'string' ? [m.content] : (m.content ?? []).filter((p: any) => p.type === 'text').map((p: any) => p.text)))
    .join('\n');
}

function openAiAnswer(body: any, text: string, finish = 'stop'): unknown {
  const images = imagesIn(body).length;
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body?.model ?? 'fake',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
    usage: { prompt_tokens: 100 + images * 170, completion_tokens: Math.ceil(text.length / 4), total_tokens: 100 + images * 170 + Math.ceil(text.length / 4) },
  };
}

function easAnswer(body: any, text: string, finish = 'stop'): unknown {
  if (body?.input) {
    return { output: { choices: [{ finish_reason: finish, message: { role: 'assistant', content: [{ text }] } }] }, usage: { input_tokens: 321, output_tokens: 12 } };
  }
  if (body?.prompt !== undefined) return { response: text };
  return openAiAnswer(body, text, finish);
}
