import type OpenAI from 'openai';
import { ModelError, redact, urlSecrets } from '../../core/index.js';
import { authorizationValue, connectionError, decodeBody, endpointLabel, endpointQuery, errorDetails, fetchFollowingSameOrigin, httpModelError, isErrorBody, isRedirect, redirectError, namesOtherCharset, openAiBaseUrl, retryAfterMs, type AuthHeader, resolveAuth } from './endpoint.js';
import type { VlmClient, VlmRequest, VlmResponse } from './vlm-client.js';
import { openAiMessages, type FrameListFormat } from './wire-format.js';

export interface OpenAiClientOptions {
  endpoint: string;
  accessKey: string;
  authHeader: AuthHeader;
  frameListFormat: FrameListFormat;
}

/**
 * OpenAI-compatible chat completions through the official `openai` SDK (DashScope compatible mode, PAI-EAS
 * OpenAI-style deployments, vLLM, Ollama, LM Studio). The SDK's own retries are off: `ReliableVlm` retries.
 * PAI-EAS wants the token without "Bearer": the Authorization header is then set by hand. A query string in
 * the endpoint is split off the base URL and sent on every request (`defaultQuery`).
 */
export class OpenAiVlmClient implements VlmClient {
  readonly provider = 'openai';
  readonly endpointLabel: string;
  /** The SDK's client, made on the first request (see `sdkOnce`). */
  private sdk: Promise<{ client: OpenAI; mod: typeof import('openai') }> | null = null;
  private readonly secrets: string[];
  private readonly baseURL: string;
  /** The Authorization header the SDK sends (null: none). */
  private readonly authorization: string | null;

  constructor(private readonly options: OpenAiClientOptions) {
    const baseURL = openAiBaseUrl(options.endpoint);
    this.baseURL = baseURL;
    this.endpointLabel = endpointLabel(baseURL);
    const auth = resolveAuth(options.authHeader, 'openai', options.endpoint, options.accessKey);
    this.authorization = authorizationValue(auth, options.accessKey);
    // the key, and any password or key written into the endpoint URL (fetch's own errors quote the URL)
    this.secrets = [options.accessKey, ...urlSecrets(options.endpoint)].filter((s) => s.length >= 4);
  }

  /**
   * The SDK, loaded by the first request: it is some 150 modules, which every command loaded at start-up
   * (a second of the CLI's start on a slow machine) though only `describe` uses it.
   */
  private sdkOnce(): Promise<{ client: OpenAI; mod: typeof import('openai') }> {
    const { options } = this;
    return (this.sdk ??= import('openai').then((mod) => ({
      mod,
      client: new mod.default({
        baseURL: this.baseURL,
        // The endpoint's query string (e.g. ?api-version=...), sent on every request after the path the SDK adds.
        defaultQuery: endpointQuery(options.endpoint),
        // The SDK insists on a key; the header below decides what is really sent.
        apiKey: options.accessKey || 'unused',
        maxRetries: 0,
        defaultHeaders: { Authorization: this.authorization },
        // Nothing from the OPENAI_* environment: no org/project headers to a foreign server, no SDK debug logs.
        organization: null,
        project: null,
        logLevel: 'off',
        fetch: keepErrorBodies,
      }),
    })));
  }

  async describe(request: VlmRequest): Promise<VlmResponse> {
    const body = {
      model: request.model,
      messages: openAiMessages(request.messages, this.options.frameListFormat),
      max_tokens: request.maxOutputTokens,
      temperature: request.temperature,
      stream: false,
    };
    // The SDK's timeout stops at the headers: a server that sends them and then stalls in the body held the run
    // for ever. This deadline covers the whole answer.
    const deadline = AbortSignal.timeout(request.timeoutMs);
    const { client, mod } = await this.sdkOnce();
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await client.chat.completions.create(body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, {
        timeout: request.timeoutMs,
        maxRetries: 0,
        signal: request.signal ? AbortSignal.any([request.signal, deadline]) : deadline,
      });
    } catch (err) {
      throw this.toModelError(err, request, deadline, mod);
    }
    // The SDK hands back a body that is not JSON as text: a login or error page answered with 200 read as an
    // empty answer, retried, with advice about images and MaxOutputTokens.
    if (typeof completion !== 'object' || completion === null || !Array.isArray((completion as { choices?: unknown }).choices)) {
      // a gateway or DashScope that answers 200 with `{"error": ...}` or `{"code", "message"}`: its own words, not
      // a hint to check the URL, say what went wrong
      if (isErrorBody(completion)) {
        const { code, message } = errorDetails(completion, this.secrets);
        throw new ModelError(redact(`${this.provider} ${this.endpointLabel}: answered 200 with an error${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, this.secrets), { status: 200, code: 'E_MODEL_ANSWER' });
      }
      const what = typeof completion === 'string' && /^\s*</.test(completion) ? 'an HTML page' : 'not a chat completion';
      throw new ModelError(`${this.provider} ${this.endpointLabel}: the reply is ${what}, not an answer (check the endpoint URL)`, { code: 'E_MODEL_ANSWER' });
    }
    const choice = completion.choices[0];
    const content = choice?.message?.content as unknown;
    const refusal = (choice?.message as { refusal?: unknown } | undefined)?.refusal;
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((c) => (c as { text?: string }).text ?? '').join('') : '';
    return {
      text,
      usage: {
        ...(completion?.usage?.prompt_tokens !== undefined ? { promptTokens: completion.usage.prompt_tokens } : {}),
        ...(completion?.usage?.completion_tokens !== undefined ? { completionTokens: completion.usage.completion_tokens } : {}),
      },
      ...(choice?.finish_reason ? { finishReason: choice.finish_reason } : {}),
      ...(typeof refusal === 'string' && refusal.trim() ? { refusal } : {}),
      ...(completion?.model ? { model: completion.model } : {}),
    };
  }

  /** `mod`: the SDK, whose error classes tell what went wrong. */
  private toModelError(err: unknown, request: VlmRequest, deadline: AbortSignal, mod: typeof import('openai')): ModelError {
    const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = mod;
    const where = `${this.provider} ${this.endpointLabel}`;
    if (request.signal?.aborted) {
      return new ModelError(`${where}: request aborted`, { cause: err, retryable: false, code: 'E_MODEL_ABORTED' });
    }
    if (err instanceof APIConnectionTimeoutError || deadline.aborted) {
      return new ModelError(`${where}: no answer within ${fmtSec(request.timeoutMs)} ([QwenVL] TimeoutSec)`, { retryable: true, code: 'E_MODEL_TIMEOUT' });
    }
    if (err instanceof APIConnectionError) return connectionError(where, err, this.secrets);
    if (err instanceof APIError && typeof err.status === 'number') {
      const headers = err.headers as Headers | undefined;
      if (isRedirect(err.status)) return redirectError(this.provider, this.endpointLabel, err.status, headers?.get('location'), this.baseURL, this.secrets);
      return httpModelError(this.provider, this.endpointLabel, err.status, err.error ?? err.message, retryAfterMs((n) => headers?.get(n)), this.secrets, this.authorization !== null);
    }
    if (err instanceof APIUserAbortError) {
      return new ModelError(`${where}: request aborted`, { cause: err, retryable: false, code: 'E_MODEL_ABORTED' });
    }
    // the connection dropped while the answer was arriving (undici's `terminated`): a dropped connection, retried
    const dropped = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
    if (err instanceof TypeError && (err.message === 'terminated' || dropped?.code === 'UND_ERR_SOCKET')) {
      return new ModelError(redact(`${where}: connection failed: ${dropped?.message ?? err.message} (in the middle of the answer)`, this.secrets), { retryable: true, code: 'E_MODEL_CONNECTION' });
    }
    const message = err instanceof Error ? err.message : String(err);
    const hint = err instanceof SyntaxError ? ' (the reply is not JSON: is the endpoint an OpenAI-compatible API?)' : '';
    return new ModelError(redact(`${where}: ${message}${hint}`, this.secrets), { retryable: false, code: 'E_MODEL_ANSWER' });
  }
}

export function fmtSec(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

/**
 * fetch, with a body in another charset than UTF-8 re-encoded, and an error body that lacks OpenAI's `{ "error": ... }` wrapper (DashScope's and PAI-EAS's
 * `{ "code", "message" }`) wrapped in one: the SDK keeps only `body.error`, so such an answer read
 * `401 status code (no body)`, its code and message lost.
 */
async function keepErrorBodies(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const res = await fetchFollowingSameOrigin(input, init);
  const type = res.headers.get('content-type');
  // the SDK reads every body as UTF-8: one in another charset is handed on re-encoded
  if (res.ok && namesOtherCharset(type)) {
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    headers.set('content-type', (type ?? '').replace(/;\s*charset\s*=\s*"?[^";\s]+"?/i, '; charset=utf-8'));
    return new Response(decodeBody(new Uint8Array(await res.arrayBuffer()), type), { status: res.status, statusText: res.statusText, headers });
  }
  if (res.ok || !(type ?? '').includes('json')) return res;
  const text = decodeBody(new Uint8Array(await res.arrayBuffer()), type);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const wrapped = body !== null && typeof body === 'object' && !Array.isArray(body) && !('error' in body) ? JSON.stringify({ error: body }) : text;
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  return new Response(wrapped, { status: res.status, statusText: res.statusText, headers });
}
