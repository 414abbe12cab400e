import { ModelError, redact, urlSecrets } from '../../core/index.js';
import { authorizationValue, connectionError, decodeBody, endpointLabel, errorDetails, fetchFollowingSameOrigin, httpModelError, isErrorBody, isRedirect, redirectError, parseEndpoint, resolveAuth, retryAfterMs, type AuthHeader } from './endpoint.js';
import { fmtSec } from './openai-client.js';
import type { VlmClient, VlmRequest, VlmResponse, VlmUsage } from './vlm-client.js';
import { allFrames, dashScopeMessages, openAiMessages, promptText, type FrameListFormat } from './wire-format.js';

export type EasRequestFormat = 'openai' | 'dashscope' | 'prompt';

export interface PaiEasClientOptions {
  /** The full URL the deployment serves, e.g. https://svc.123.cn-hangzhou.pai-eas.aliyuncs.com/api/predict/svc. */
  endpoint: string;
  accessKey: string;
  authHeader: AuthHeader;
  requestFormat: EasRequestFormat;
  /** Dotted path of the answer text in the reply; empty: try the known shapes. */
  responsePath: string;
  frameListFormat: FrameListFormat;
}

/**
 * A raw PAI-EAS endpoint: a POST of JSON to the configured URL with `Authorization: <token>` (no Bearer).
 *
 * Request mapping (`[QwenVL] EasRequestFormat`):
 * - `openai`:    `{model, messages:[...chat completions parts...], max_tokens, temperature}`
 * - `dashscope`: `{model, input:{messages:[{role, content:[{image}|{video:[...]}|{text}]}]}, parameters:{max_tokens, temperature}}`
 * - `prompt`:    `{prompt, images:[<base64 jpeg>...], max_new_tokens, temperature}` (custom Qwen-VL-Chat images)
 *
 * Response mapping: `[QwenVL] EasResponsePath` (e.g. `output.text`), else the first of
 * `choices[0].message.content`, `output.choices[0].message.content`, `output.text`, `response`, `text`,
 * `answer`, `result`, or the body itself when it is plain text. Usage from `usage.prompt_tokens|input_tokens`
 * and `usage.completion_tokens|output_tokens`; the finish reason from `choices.0.finish_reason`,
 * `output.choices.0.finish_reason` or `output.finish_reason`.
 */
export class PaiEasVlmClient implements VlmClient {
  readonly provider = 'pai-eas';
  readonly endpointLabel: string;
  private readonly url: string;
  private readonly authorization: string | null;
  private readonly secrets: string[];

  constructor(private readonly options: PaiEasClientOptions) {
    this.url = parseEndpoint(options.endpoint).toString();
    this.endpointLabel = endpointLabel(this.url);
    this.authorization = authorizationValue(resolveAuth(options.authHeader, 'pai-eas', this.url, options.accessKey), options.accessKey);
    // the key, and any password or key written into the endpoint URL (fetch's own errors quote the URL)
    this.secrets = [options.accessKey, ...urlSecrets(options.endpoint)].filter((s) => s.length >= 4);
  }

  /** The JSON body for a request, per EasRequestFormat. */
  requestBody(request: VlmRequest): Record<string, unknown> {
    switch (this.options.requestFormat) {
      case 'openai':
        return {
          model: request.model,
          messages: openAiMessages(request.messages, this.options.frameListFormat),
          max_tokens: request.maxOutputTokens,
          temperature: request.temperature,
        };
      case 'dashscope':
        return {
          model: request.model,
          input: { messages: dashScopeMessages(request.messages) },
          parameters: { max_tokens: request.maxOutputTokens, temperature: request.temperature },
        };
      case 'prompt':
        return {
          prompt: promptText(request.messages),
          images: allFrames(request.messages).map((f) => f.jpegBase64),
          max_new_tokens: request.maxOutputTokens,
          temperature: request.temperature,
        };
    }
  }

  async describe(request: VlmRequest): Promise<VlmResponse> {
    const where = `${this.provider} ${this.endpointLabel}`;
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.authorization) headers.authorization = this.authorization;
    let res: Response;
    let raw: string;
    try {
      res = await fetchFollowingSameOrigin(this.url, { method: 'POST', headers, body: JSON.stringify(this.requestBody(request)), signal });
      raw = decodeBody(new Uint8Array(await res.arrayBuffer()), res.headers.get('content-type'));
    } catch (err) {
      if (request.signal?.aborted) throw new ModelError(`${where}: request aborted`, { cause: err, code: 'E_MODEL_ABORTED' });
      if (timeout.aborted) {
        throw new ModelError(`${where}: no answer within ${fmtSec(request.timeoutMs)} ([QwenVL] TimeoutSec)`, { retryable: true, code: 'E_MODEL_TIMEOUT' });
      }
      throw connectionError(where, err, this.secrets);
    }
    let body: unknown = raw;
    try {
      body = raw.trim() ? JSON.parse(raw) : '';
    } catch {
      // plain text reply
    }
    if (isRedirect(res.status)) throw redirectError(this.provider, this.endpointLabel, res.status, res.headers.get('location'), this.url, this.secrets);
    if (!res.ok) {
      throw httpModelError(this.provider, this.endpointLabel, res.status, body, retryAfterMs((n) => res.headers.get(n)), this.secrets, this.authorization !== null);
    }
    if (typeof body === 'string' && /^\s*</.test(body)) {
      throw new ModelError(`${where}: the reply is an HTML page, not an answer (check the endpoint URL)`, { code: 'E_MODEL_ANSWER' });
    }
    const text = answerText(body, this.options.responsePath);
    // a custom processor that fails often says so with 200 and {"error": ...} or {"code", "message"}: that read as
    // a reply whose answer was elsewhere, and sent the user to EasResponsePath
    if (text === undefined && isErrorBody(body)) {
      const { code, message } = errorDetails(body, this.secrets);
      throw new ModelError(redact(`${where}: answered 200 with an error${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, this.secrets), { status: 200, code: 'E_MODEL_ANSWER' });
    }
    if (text === undefined) {
      const path = this.options.responsePath ? `at ${this.options.responsePath}` : 'in any known shape';
      throw new ModelError(`${where}: the reply has no answer text ${path}; set [QwenVL] EasResponsePath`, { code: 'E_MODEL_ANSWER' });
    }
    const finishReason = ['choices.0.finish_reason', 'output.choices.0.finish_reason', 'output.finish_reason'].map((p) => at(body, p)).find((v) => typeof v === 'string' && v);
    const refusal = ['choices.0.message.refusal', 'output.choices.0.message.refusal'].map((p) => at(body, p)).find((v) => typeof v === 'string' && v.trim());
    return { text, usage: usageOf(body), ...(typeof finishReason === 'string' ? { finishReason } : {}), ...(typeof refusal === 'string' ? { refusal } : {}) };
  }
}

const KNOWN_PATHS = ['choices.0.message.content', 'output.choices.0.message.content', 'output.text', 'response', 'text', 'answer', 'result', 'output'];

function at(value: unknown, dotted: string): unknown {
  let cur = value;
  for (const key of dotted.split('.').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const parts = v.map((p) => (typeof p === 'string' ? p : p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : undefined));
    if (parts.some((p) => p !== undefined)) return parts.filter((p) => p !== undefined).join('');
  }
  return undefined;
}

/** The answer text of a raw EAS reply. */
export function answerText(body: unknown, responsePath: string): string | undefined {
  if (typeof body === 'string') return responsePath ? undefined : body;
  if (responsePath) return asText(at(body, responsePath));
  for (const p of KNOWN_PATHS) {
    const t = asText(at(body, p));
    if (t !== undefined) return t;
  }
  // a chat completion with no content (null: a thinking model spent MaxOutputTokens on its reasoning, or it
  // refused) or no choice at all is an empty answer; it sent the user to EasResponsePath, which cannot help
  for (const base of ['choices', 'output.choices']) {
    const choices = at(body, base);
    const message = at(body, `${base}.0.message`);
    if (Array.isArray(choices) && (choices.length === 0 || (message !== null && typeof message === 'object'))) return '';
  }
  return undefined;
}

function usageOf(body: unknown): VlmUsage {
  const u = (at(body, 'usage') ?? {}) as Record<string, unknown>;
  const num = (...keys: string[]) => {
    for (const k of keys) if (typeof u[k] === 'number') return u[k] as number;
    return undefined;
  };
  const promptTokens = num('prompt_tokens', 'input_tokens');
  const completionTokens = num('completion_tokens', 'output_tokens');
  return { ...(promptTokens !== undefined ? { promptTokens } : {}), ...(completionTokens !== undefined ? { completionTokens } : {}) };
}
