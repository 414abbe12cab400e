import { ModelError, withoutControlChars } from '../../core/index.js';
import { RateLimiter, sleep } from './rate-limiter.js';
import type { VlmClient, VlmRequest, VlmResponse, VlmUsage } from './vlm-client.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First delay; doubles each retry, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured; a longer one is waited for this long. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 1000, maxDelayMs: 60_000, maxRetryAfterMs: 300_000 };

/**
 * `usage`: the tokens of every answer the server sent during the call, kept or not (an empty answer that was
 * retried, an answer too long to keep: both were billed). `notSent`: failed without a request (the key was
 * refused moments before, or the run stopped while the call waited for its turn): no call to audit.
 */
export type CallOutcome =
  | { ok: true; response: VlmResponse; usage: VlmUsage; retries: number; latencyMs: number; status: number }
  | { ok: false; error: ModelError; usage: VlmUsage; retries: number; latencyMs: number; status?: number; notSent?: true };

/**
 * How long a key the server refused (E_MODEL_AUTH: 401, 403, DashScope's Arrearage), or an endpoint whose host
 * does not resolve, keeps later calls from being sent: a run over a thousand videos with a wrong key asked the
 * server a thousand times, each video failing with the same 401. A minute, not for ever: a long-lived worker or
 * server sends again once the key (or the DNS) is put right.
 */
export const REFUSED_KEY_MS = 60_000;

/**
 * A VlmClient with the reliability a batch run needs: the process-wide requests-per-minute limiter before
 * every attempt, a per-attempt timeout (in the request), and retries with exponential backoff and jitter on
 * 429, 5xx, timeouts, dropped connections and empty answers, honouring Retry-After (for every caller sharing the
 * limiter). 400, 401 and 403 are never retried.
 */
export class ReliableVlm {
  constructor(
    readonly client: VlmClient,
    private readonly limiter: RateLimiter,
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private refused: { error: ModelError; until: number } | null = null;

  /** The failure to give without sending while a refusal of the key (or a long wait the server asked for) holds, else null. */
  private refusal(): CallOutcome | null {
    const r = this.refused;
    if (!r || this.now() >= r.until) return null;
    const what =
      r.error.code === 'E_MODEL_AUTH'
        ? 'the server refused this key moments ago, fix it and run again with --retry-failed'
        : r.error.code === 'E_MODEL_CONNECTION'
          ? "the endpoint's host did not resolve moments ago, fix it and run again with --retry-failed"
          : `it asked that of an earlier call, ${Math.ceil((r.until - this.now()) / 1000)} s of it still to go`;
    const error = withMessage(r.error, `${r.error.message}; not sent: ${what}`);
    return { ok: false, error, usage: {}, retries: 0, latencyMs: 0, notSent: true, ...(r.error.status !== undefined ? { status: r.error.status } : {}) };
  }

  get provider(): string {
    return this.client.provider;
  }

  get endpointLabel(): string {
    return this.client.endpointLabel;
  }

  /**
   * The delay before retry number `retry` (1-based): backoff with jitter, or the Retry-After when it asks for
   * longer. A Retry-After is the least wait: one of 0 (or a date already past) retried at once, and a server
   * that kept saying so used up every retry within milliseconds.
   */
  delayFor(retry: number, err: ModelError): number {
    const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (retry - 1));
    // Half fixed, half random: spreads workers apart without ever retrying at once.
    const backoff = ceiling / 2 + (this.random() * ceiling) / 2;
    if (err.retryAfterMs !== undefined) return Math.min(Math.max(err.retryAfterMs, backoff), this.policy.maxRetryAfterMs);
    return backoff;
  }

  /** Sends the request, retrying what may succeed later. Never throws: the outcome says what happened. */
  async call(request: VlmRequest): Promise<CallOutcome> {
    // the model's time: the attempts themselves, not the wait for a turn under the rate limit or between retries
    // (three instant answers were logged at 78, 851 and 1725 ms: the queue of a 60-a-minute limit)
    let latency = 0;
    let retries = 0;
    let usage: VlmUsage = {};
    let sentAny = false;
    const early = this.refusal();
    if (early) return early;
    for (;;) {
      let error: ModelError;
      try {
        await this.limiter.acquire(request.signal);
        // a caller that queued for its turn while another's call was refused is refused too, unsent
        const refused = this.refusal();
        if (refused) return { ...refused, usage, retries };
        const sent = performance.now();
        sentAny = true;
        const response = await this.client.describe(request).finally(() => (latency += performance.now() - sent));
        usage = addUsage(usage, response.usage);
        // control characters alone are nothing too: they are dropped from every answer, and such an answer was
        // kept as an empty description
        if (!withoutControlChars(response.text).trim()) {
          // stopped by the token limit (a thinking model spent it all on reasoning) or by a content filter: asked
          // again, the same request stops the same way, each attempt billed
          if (response.finishReason === 'length') {
            throw new ModelError(`${this.provider} ${this.endpointLabel}: empty answer: the model used all ${request.maxOutputTokens} tokens ([QwenVL] MaxOutputTokens) before answering; raise MaxOutputTokens`, { status: 200, code: 'E_MODEL_EMPTY' });
          }
          // a refusal is the model's answer to this request: asked again, it refuses again, each attempt billed
          if (response.refusal) {
            throw new ModelError(`${this.provider} ${this.endpointLabel}: empty answer: the model refused: ${JSON.stringify(response.refusal.trim().slice(0, 200))}`, { status: 200, code: 'E_MODEL_EMPTY' });
          }
          if (response.finishReason === 'content_filter') {
            throw new ModelError(`${this.provider} ${this.endpointLabel}: empty answer: the server's content filter withheld it`, { status: 200, code: 'E_MODEL_EMPTY' });
          }
          throw new ModelError(`${this.provider} ${this.endpointLabel}: empty answer`, { retryable: true, status: 200, code: 'E_MODEL_EMPTY' });
        }
        // no token is 32 characters: an answer past that is not the model's (a 50 MB reply was stored whole)
        const most = request.maxOutputTokens * 32 + 4096;
        if (response.text.length > most) {
          throw new ModelError(`${this.provider} ${this.endpointLabel}: the answer is ${response.text.length} characters, more than ${request.maxOutputTokens} tokens ([QwenVL] MaxOutputTokens) can be; not kept`, { status: 200, code: 'E_MODEL_ANSWER' });
        }
        return { ok: true, response, usage, retries, latencyMs: Math.round(latency), status: 200 };
      } catch (err) {
        error =
          err instanceof ModelError
            ? err
            : new ModelError(request.signal?.aborted ? 'request aborted' : `${this.provider} ${this.endpointLabel}: ${(err as Error).message}`, {
                cause: err,
                code: request.signal?.aborted ? 'E_MODEL_ABORTED' : 'E_MODEL',
              });
      }
      // a wait longer than the cap would hold the run (and an AI slot) for the cap at every retry, silently: the
      // video fails now, and a later run (--retry-failed) asks again
      if (error.retryable && error.retryAfterMs !== undefined && error.retryAfterMs > this.policy.maxRetryAfterMs) {
        const wait = error.retryAfterMs;
        const asks = `the server asks to wait ${Math.ceil(wait / 1000)} s, longer than the ${Math.round(this.policy.maxRetryAfterMs / 1000)} s videodex waits; run again later (--retry-failed)`;
        error = withMessage(error, `${error.message}: ${asks}`);
        // the endpoint's word for every caller: each other video sent its request, got the same answer and failed
        this.refused = { error, until: this.now() + wait };
        return { ok: false, error, usage, retries, latencyMs: Math.round(latency), ...(error.status !== undefined ? { status: error.status } : {}) };
      }
      // failures of the endpoint, not of this video: a key refused, a host name that does not resolve
      if (error.code === 'E_MODEL_AUTH' || (error.code === 'E_MODEL_CONNECTION' && !error.retryable)) this.refused = { error, until: this.now() + REFUSED_KEY_MS };
      const giveUp = !error.retryable || retries >= this.policy.retries || request.signal?.aborted;
      if (giveUp) {
        const tried = retries > 0 ? ` (after ${retries + 1} attempts)` : '';
        const final = retries > 0 ? withMessage(error, `${error.message}${tried}`) : error;
        // stopped (Ctrl-C) while waiting for its turn under the rate limit: no request went out, no call to audit
        const unsent = !sentAny && request.signal?.aborted ? { notSent: true as const } : {};
        return { ok: false, error: final, usage, retries, latencyMs: Math.round(latency), ...unsent, ...(error.status !== undefined ? { status: error.status } : {}) };
      }
      retries += 1;
      const delay = this.delayFor(retries, error);
      // the server's own word on when it takes requests again holds for every caller of this endpoint; so does a
      // 429 without one (a rate limit is the account's: the other workers' requests were refused in turn, each
      // spending one of its video's retries), for this caller's backoff
      if (error.retryAfterMs !== undefined || error.status === 429) this.limiter.pause(delay);
      try {
        await sleep(delay, request.signal);
      } catch {
        // aborted while waiting: the next loop gives up
      }
    }
  }
}

function addUsage(a: VlmUsage, b: VlmUsage): VlmUsage {
  const sum = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : x + y);
  const promptTokens = sum(a.promptTokens, b.promptTokens);
  const completionTokens = sum(a.completionTokens, b.completionTokens);
  return { ...(promptTokens !== undefined ? { promptTokens } : {}), ...(completionTokens !== undefined ? { completionTokens } : {}) };
}

function withMessage(err: ModelError, message: string): ModelError {
  return new ModelError(message, {
    cause: err.cause,
    retryable: err.retryable,
    code: err.code,
    ...(err.status !== undefined ? { status: err.status } : {}),
    ...(err.providerCode !== undefined ? { providerCode: err.providerCode } : {}),
  });
}
