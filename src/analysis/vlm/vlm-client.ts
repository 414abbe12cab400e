/** One frame ready to send: a JPEG at its final size (multiples of 28). */
export interface FrameImage {
  /** Base64 of the JPEG bytes. */
  jpegBase64: string;
  width: number;
  height: number;
  /** Where in the video the frame is, seconds. */
  timeSec: number;
}

/** A piece of a message, independent of any wire format. Providers map these to their own shapes. */
export type VlmPart =
  | { type: 'text'; text: string }
  /** Frames sent as separate images (every server accepts these). */
  | { type: 'images'; frames: readonly FrameImage[] }
  /** Frames sent as one video (DashScope frame list or vLLM's comma-joined data URL). */
  | { type: 'frames'; frames: readonly FrameImage[] }
  /** The whole video by URL (http(s) or data:video/...;base64). */
  | { type: 'video-url'; url: string };

export interface VlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: readonly VlmPart[];
}

export interface VlmRequest {
  model: string;
  messages: readonly VlmMessage[];
  maxOutputTokens: number;
  temperature: number;
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** Aborts the attempt (the run is stopping). */
  signal?: AbortSignal;
}

export interface VlmUsage {
  promptTokens?: number;
  completionTokens?: number;
}

export interface VlmResponse {
  text: string;
  usage: VlmUsage;
  /** Why the model stopped ("stop", "length"...), when the server says. */
  finishReason?: string;
  /** The model's refusal (OpenAI's `message.refusal`), given instead of an answer. */
  refusal?: string;
  /** The model name the server reports, when it does. */
  model?: string;
}

/**
 * A vision-language model server. One call is one HTTP request: no retries, no rate limiting (see
 * `ReliableVlm` for those).
 */
export interface VlmClient {
  /** 'openai' or 'pai-eas'. */
  readonly provider: string;
  /** The endpoint as host and path: safe to log, store and print (no key, no query string, no userinfo). */
  readonly endpointLabel: string;
  /**
   * Sends one request and returns the answer text and the usage the server reported.
   * @throws ModelError with `status`, `providerCode` and `retryable` set (429, 5xx, timeouts and
   *   dropped connections are retryable; 400, 401, 403 are not), `retryAfterMs` from a Retry-After header.
   *   Messages never contain the key.
   */
  describe(request: VlmRequest): Promise<VlmResponse>;
}
