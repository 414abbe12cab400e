import {
  createReliableVlm,
  describeInputHash,
  describeSettings,
  describeVideo,
  formatPlan,
  planDescription,
  validateDescribeSettings,
  type DescribePlan,
  type KeptAnswer,
  type KeptAnswers,
  type LabelVocabulary,
  type RateLimiter,
  type ReliableVlm,
  type VlmClient,
} from '../../analysis/index.js';
import { ContentCache, stableHash, type Config, type Video, type VideoPatch } from '../../core/index.js';
import type { Stage, StageContext, StagePlan } from '../stage.js';

export interface DescribeStageOptions {
  /** Wait for the keyframes stage (when the pipeline has one) so scenes' keyframes are used. */
  afterKeyframes?: boolean;
  /** A client to use instead of the configured provider (tests, library users). */
  client?: VlmClient;
  /** A limiter to use instead of the process-wide one. */
  limiter?: RateLimiter;
  /** The taxonomy and action labels the templates offer the model (from the tagging setup); none by default. */
  vocabulary?: LabelVocabulary;
}

const DESCRIBE_VERSION = '1';

export const NO_ENDPOINT_REASON =
  'no model endpoint configured: set [QwenVL] PublicEndpoint (or VIDEODEX_QWENVL_PUBLICENDPOINT, or --endpoint) to describe videos';

/**
 * The describe stage: Qwen2-VL (or any OpenAI-compatible vision model) describes each video from frames
 * chosen from its scenes. Skipped when no endpoint is configured. The answer is cached by the runner under
 * the input hash (content, frames, template text, instruction, model and answer-changing settings).
 * @throws ConfigError at construction when the template or its label files are unusable (before any call).
 */
export function createDescribeStage(config: Config, options: DescribeStageOptions = {}): Stage & { planDetails(video: Video, config: Config): DescribePlan } {
  const settingsOf = (cfg: Config) => describeSettings(cfg, options.vocabulary);
  const initial = settingsOf(config);
  // with a client of its own the stage runs without an endpoint: its templates are checked all the same (they
  // failed each video instead, one ConfigError a record)
  if (initial.endpoint || options.client) validateDescribeSettings(initial);
  let vlm: { key: string; value: ReliableVlm } | null = null;

  const vlmFor = (settings: ReturnType<typeof settingsOf>): ReliableVlm => {
    const key = stableHash([settings.provider, settings.endpoint, settings.accessKey, settings.authHeader, settings.retries, settings.backoffMs, settings.requestsPerMinute, settings.easRequestFormat, settings.easResponsePath, settings.frameListFormat]);
    if (!vlm || vlm.key !== key) {
      vlm = {
        key,
        value: createReliableVlm(settings, { ...(options.client ? { client: options.client } : {}), ...(options.limiter ? { limiter: options.limiter } : {}) }),
      };
    }
    return vlm.value;
  };

  const noEndpoint = (cfg: Config): string | null => (settingsOf(cfg).endpoint || options.client ? null : NO_ENDPOINT_REASON);

  return {
    name: 'describe',
    version: DESCRIBE_VERSION,
    needs: options.afterKeyframes ? ['probe', 'keyframes'] : ['probe'],
    resource: 'ai',
    cacheable: true,

    skipReason(_video: Video, cfg: Config): string | null {
      return noEndpoint(cfg);
    },

    settingsSkipReason: noEndpoint,

    inputHash(video: Video, cfg: Config): string {
      return describeInputHash(video, settingsOf(cfg));
    },

    planDetails(video: Video, cfg: Config): DescribePlan {
      return planDescription(video, settingsOf(cfg));
    },

    async plan(video: Video, ctx: StageContext): Promise<StagePlan> {
      const plan = planDescription(video, settingsOf(ctx.config));
      return { text: formatPlan(plan), ...(plan.refusal ? {} : { estimatedTokens: plan.estimatedTokens }) };
    },

    async run(video: Video, ctx: StageContext): Promise<VideoPatch> {
      const settings = settingsOf(ctx.config);
      // usable answers are kept, by request, until the description is complete: a run that fails at the third
      // caption batch (or is killed) does not pay again for the whole-video request and the first two, even forced
      const attemptKey = (request: string) => ContentCache.key(video.file.sha256, 'describe-request', DESCRIBE_VERSION, describeInputHash(video, settings), request);
      // then by what the request sends (prompt, frames) and the settings that change an answer, not by the whole
      // description: a changed SceneTemplate asked the whole-video request again too, and a changed Template every
      // caption batch, each paid again. --force describe asks them again.
      const answerSettings = stableHash([
        settings.model,
        settings.temperature,
        settings.maxOutputTokens,
        settings.videoInput,
        settings.videoInput === 'frames' ? settings.frameListFormat : null,
        settings.provider === 'pai-eas' ? [settings.easRequestFormat, settings.easResponsePath] : null,
      ]);
      const answerKey = (request: string) => ContentCache.key(video.file.sha256, 'describe-answer', DESCRIBE_VERSION, answerSettings, request);
      const kept: KeptAnswers = {
        get: (request) => ctx.cache.get<KeptAnswer>(attemptKey(request)) ?? (ctx.forced ? undefined : ctx.cache.get<KeptAnswer>(answerKey(request))),
        put: (request, answer) => ctx.cache.put(attemptKey(request), answer),
        complete: (requests) =>
          requests.forEach((r) => {
            const answer = ctx.cache.get<KeptAnswer>(attemptKey(r));
            // kept for later descriptions before it leaves the attempt: a kill in between loses nothing
            if (answer) ctx.cache.put(answerKey(r), answer);
            ctx.cache.delete(attemptKey(r));
          }),
      };
      const result = await describeVideo(video, settings, {
        vlm: vlmFor(settings),
        kept,
        audit: ctx.audit,
        ffmpeg: ctx.tools.ffmpeg.path,
        ffprobe: ctx.tools.ffprobe.path,
        toolSlot: (job) => ctx.cpu(job),
        signal: ctx.signal,
        warn: (message) => ctx.logger.warn({ video: video.id }, message),
      });
      ctx.logger.info(
        { video: video.id, frames: result.ai.framesSent, estimatedTokens: result.ai.estimatedTokens, promptTokens: result.ai.promptTokens, template: result.ai.template, ...(result.reused ? { answersKeptFromEarlierAttempt: result.reused } : {}) },
        'described',
      );
      return { ai: result.ai, ...(result.scenes ? { scenes: result.scenes } : {}) };
    },
  };
}
