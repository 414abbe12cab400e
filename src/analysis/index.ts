export { probeVideo, toVideoMetadata, parseRate, parseSar } from './probe/ffprobe-adapter.js';
export type { ProbeOptions } from './probe/ffprobe-adapter.js';
export * from './scenes/index.js';
export {
  createReliableVlm,
  createVlmClient,
  describeInputHash,
  describeSettings,
  describeVideo,
  formatPlan,
  planDescription,
  validateDescribeSettings,
  RateLimiter,
  ReliableVlm,
  OpenAiVlmClient,
  PaiEasVlmClient,
  listTemplates,
  loadTemplate,
  TEMPLATE_VARIABLES,
  NO_VOCABULARY,
} from './vlm/index.js';
export type { DescribePlan, DescribeSettings, KeptAnswer, KeptAnswers, LabelVocabulary, VlmClient, VlmRequest, VlmResponse } from './vlm/index.js';
