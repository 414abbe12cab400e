import { ConfigError } from '../../core/index.js';
import type { DescribeSettings } from './describe-video.js';
import { endpointLabel } from './endpoint.js';
import { OpenAiVlmClient } from './openai-client.js';
import { PaiEasVlmClient } from './pai-eas-client.js';
import { sharedRateLimiter, type RateLimiter } from './rate-limiter.js';
import { DEFAULT_RETRY, ReliableVlm } from './reliable-vlm.js';
import type { VlmClient } from './vlm-client.js';

/** The client for the configured provider. Throws ConfigError when no endpoint is set or it is not a URL. */
export function createVlmClient(s: DescribeSettings): VlmClient {
  if (!s.endpoint) throw new ConfigError('no model endpoint: set [QwenVL] PublicEndpoint (or VpcEndpoint with --use-vpc)');
  if (s.provider === 'pai-eas') {
    return new PaiEasVlmClient({
      endpoint: s.endpoint,
      accessKey: s.accessKey,
      authHeader: s.authHeader,
      requestFormat: s.easRequestFormat,
      responsePath: s.easResponsePath,
      frameListFormat: s.frameListFormat,
    });
  }
  return new OpenAiVlmClient({ endpoint: s.endpoint, accessKey: s.accessKey, authHeader: s.authHeader, frameListFormat: s.frameListFormat });
}

/**
 * The client wrapped with retries and the requests-per-minute limiter shared by every caller in the process
 * for this endpoint.
 */
export function createReliableVlm(s: DescribeSettings, options: { client?: VlmClient; limiter?: RateLimiter } = {}): ReliableVlm {
  const client = options.client ?? createVlmClient(s);
  const limiter = options.limiter ?? sharedRateLimiter(endpointLabel(s.endpoint), s.requestsPerMinute);
  return new ReliableVlm(client, limiter, { ...DEFAULT_RETRY, retries: s.retries, baseDelayMs: s.backoffMs });
}
