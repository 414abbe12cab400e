export type { FrameImage, VlmClient, VlmMessage, VlmPart, VlmRequest, VlmResponse, VlmUsage } from './vlm-client.js';
export { OpenAiVlmClient } from './openai-client.js';
export { PaiEasVlmClient, answerText } from './pai-eas-client.js';
export type { EasRequestFormat } from './pai-eas-client.js';
export { ReliableVlm, DEFAULT_RETRY, REFUSED_KEY_MS } from './reliable-vlm.js';
export type { CallOutcome, RetryPolicy } from './reliable-vlm.js';
export { RateLimiter, sharedRateLimiter, sleep } from './rate-limiter.js';
export { createVlmClient, createReliableVlm } from './create-vlm.js';
export { chooseEndpoint, endpointLabel, openAiBaseUrl, resolveAuth, retryAfterMs, isRetryableStatus } from './endpoint.js';
export {
  describeSettings,
  validateDescribeSettings,
  planDescription,
  formatPlan,
  describeInputHash,
  describeVideo,
  NO_VOCABULARY,
} from './describe-video.js';
export type { DescribeSettings, DescribePlan, DescribeDeps, DescribeResult, KeptAnswer, KeptAnswers, PlannedRequest, LabelVocabulary } from './describe-video.js';
export { selectFrames, thinEvenly, evenTimes } from './frame-selection.js';
export type { FramePick, FrameSelection } from './frame-selection.js';
export { jpegSize, jpegBufferSize, renderFrames, targetFrameSize } from './frame-images.js';
export { smartResize, patchTokens, imagesTokens, videoTokens, textTokens, qwenDefaultSampling } from './qwen-tokens.js';
export type { Size, SamplingEstimate } from './qwen-tokens.js';
export { extractJson, parseAnswer, parseCaptions, AnswerSchema } from './json-answer.js';
export type { Answer } from './json-answer.js';
export { loadTemplate, parseTemplate, renderTemplate, listTemplates, shippedTemplatesDir, TEMPLATE_VARIABLES } from './templates.js';
export type { PromptTemplate, TemplateVariable } from './templates.js';
