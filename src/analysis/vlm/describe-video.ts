import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  ModelError,
  describeError,
  displayName,
  stableHash,
  withoutControlChars,
  type AiDescription,
  type AuditEntry,
  type Config,
  type Scene,
  type Video,
} from '../../core/index.js';
import { chooseEndpoint, endpointLabel, endpointQuery, parseEndpoint, type AuthHeader, type Provider } from './endpoint.js';
import { renderFrames, targetFrameSize } from './frame-images.js';
import { selectFrames, type FramePick, type FrameSelection } from './frame-selection.js';
import { parseAnswer, parseCaptions, withoutReasoning, type Answer, type AnswerField, type ParseResult } from './json-answer.js';
import type { EasRequestFormat } from './pai-eas-client.js';
import { imagesTokens, qwenDefaultSampling, textTokens, videoTokens, type Size } from './qwen-tokens.js';
import type { CallOutcome, ReliableVlm } from './reliable-vlm.js';
import { loadTemplate, renderTemplate, type PromptTemplate, type TemplateValues } from './templates.js';
import type { FrameImage, VlmMessage, VlmPart, VlmUsage } from './vlm-client.js';
import type { FrameListFormat } from './wire-format.js';

/** Everything describing needs from the config, in one plain object. */
export interface DescribeSettings {
  provider: Provider;
  /** The endpoint in use (VPC or public); empty when none is configured. */
  endpoint: string;
  accessKey: string;
  authHeader: AuthHeader;
  model: string;
  instruction: string;
  template: string;
  sceneTemplate: string;
  templatesDir: string;
  maxFrames: number;
  minFrames: number;
  maxPixelsPerFrame: number;
  maxTokensPerVideo: number;
  temperature: number;
  maxOutputTokens: number;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  requestsPerMinute: number;
  videoInput: 'frames' | 'images' | 'url';
  frameListFormat: FrameListFormat;
  perScene: boolean;
  sceneBatchSize: number;
  easRequestFormat: EasRequestFormat;
  easResponsePath: string;
  /** The user's labels for {{taxonomy}}, {{taxonomyGuide}} and {{actionLabels}}. */
  vocabulary: LabelVocabulary;
}

/**
 * The user's label vocabulary as the templates show it. The composition root builds it from the tagging
 * setup, so the model is offered exactly the categories and actions that classification later maps onto
 * (one parser for the taxonomy file, not two that could disagree).
 */
export interface LabelVocabulary {
  /** Category names, parents before their children. */
  categories: readonly string[];
  /** The categories as an indented tree with descriptions and keywords. */
  categoryGuide: string;
  actions: readonly string[];
}

export const NO_VOCABULARY: LabelVocabulary = { categories: [], categoryGuide: '', actions: [] };

/** Reads the describe settings from the config. Throws ConfigError for --use-vpc without a VPC endpoint. */
export function describeSettings(config: Config, vocabulary: LabelVocabulary = NO_VOCABULARY): DescribeSettings {
  const q = config.QwenVL;
  return {
    provider: q.Provider,
    endpoint: chooseEndpoint(q),
    accessKey: q.AccessKey,
    authHeader: q.AuthHeader,
    model: q.Model,
    instruction: q.DefaultInstruction,
    template: q.Template,
    sceneTemplate: q.SceneTemplate,
    templatesDir: config.Paths.TemplatesDir,
    maxFrames: q.MaxFrames,
    minFrames: q.MinFrames,
    maxPixelsPerFrame: q.MaxPixelsPerFrame,
    maxTokensPerVideo: q.MaxTokensPerVideo,
    temperature: q.Temperature,
    maxOutputTokens: q.MaxOutputTokens,
    timeoutMs: Math.round(q.TimeoutSec * 1000),
    retries: q.Retries,
    backoffMs: q.BackoffMs,
    requestsPerMinute: q.RequestsPerMinute,
    videoInput: q.VideoInput,
    frameListFormat: q.FrameListFormat,
    perScene: q.PerScene,
    sceneBatchSize: q.SceneBatchSize,
    easRequestFormat: q.EasRequestFormat,
    easResponsePath: q.EasResponsePath,
    vocabulary,
  };
}

/** Fewest frames DashScope takes in a frame list (`{"type":"video","video":[...]}`). */
const DASHSCOPE_MIN_FRAMES = 4;

/**
 * Checks what can be checked before any call: the templates exist and use only known variables, label
 * files the templates use are readable, the endpoint parses, a DashScope frame list can have its 4 frames.
 * Throws ConfigError.
 */
export function validateDescribeSettings(s: DescribeSettings): void {
  if (s.endpoint) {
    const u = parseEndpoint(s.endpoint);
    // fetch refuses a URL with credentials: every video would fail (and be retried) with that at run time
    if (u.username || u.password) {
      throw new ConfigError(`[QwenVL] endpoint ${endpointLabel(s.endpoint)} has a user name or password in it, which HTTP clients refuse; put the key in [QwenVL] AccessKey (or VIDEODEX_QWEN_ACCESS_KEY) instead`);
    }
    // the openai client is made at the first video: a parameter given twice failed every video with this instead
    if (s.provider === 'openai') endpointQuery(s.endpoint);
  }
  // DashScope refuses a frame list of fewer than 4 frames (HTTP 400): every video with fewer scenes would fail
  const fewest = Math.min(s.minFrames, s.maxFrames);
  if (s.videoInput === 'frames' && s.frameListFormat === 'dashscope' && fewest < DASHSCOPE_MIN_FRAMES) {
    throw new ConfigError(
      `[QwenVL] VideoInput = frames sends a DashScope frame list, which takes at least ${DASHSCOPE_MIN_FRAMES} frames, but ${s.maxFrames < s.minFrames ? `MaxFrames = ${s.maxFrames}` : `MinFrames = ${s.minFrames}`} lets fewer go; raise it to ${DASHSCOPE_MIN_FRAMES} or more, or use VideoInput = images (or FrameListFormat = vllm for a vLLM server)`,
    );
  }
  const templates = [loadTemplate(s.template, s.templatesDir)];
  if (s.perScene) templates.push(loadTemplate(s.sceneTemplate, s.templatesDir));
  for (const t of templates) {
    if (t.variables.includes('actionLabels') && s.vocabulary.actions.length === 0) {
      throw new ConfigError(`template ${t.name} uses {{actionLabels}} but no action labels are configured; set [Tagging] ActionLabels to a label file or list actions in the taxonomy`);
    }
  }
}

/** One request the plan makes. */
export interface PlannedRequest {
  purpose: 'describe' | 'scene-captions';
  template: PromptTemplate;
  prompt: string;
  picks: FramePick[];
  visualTokens: number;
  textTokens: number;
}

export interface DescribePlan {
  selection: FrameSelection;
  /** Size every frame is sent at (null for VideoInput=url). */
  frameSize: Size | null;
  videoInput: DescribeSettings['videoInput'];
  /** The video URL sent with VideoInput=url. */
  videoUrl?: string;
  requests: PlannedRequest[];
  estimatedTokens: number;
  /** Frames sent over all requests. */
  framesSent: number;
  /** Set when the estimate exceeds MaxTokensPerVideo: why the video will be refused. */
  refusal?: string;
}

function fmtTime(t: number): string {
  return `${(Math.round(t * 10) / 10).toFixed(1)} s`;
}

/**
 * `frames`: what the model is shown when the server samples the video itself (VideoInput = url) rather than
 * the picks: the prompt said "You are looking at 0 frames ... Frame times: ." of a video it was shown.
 */
function templateValues(video: Video, s: DescribeSettings, template: PromptTemplate, picks: readonly FramePick[], frames?: { count: string; times: string }): TemplateValues {
  const md = video.metadata;
  const uses = (v: string) => template.variables.includes(v as never);
  const list = (names: string[]) => (names.length ? names.join(', ') : 'none');
  return {
    title: displayName(video),
    filename: path.basename(video.file.path),
    durationSec: md ? String(Math.round(md.durationSec * 10) / 10) : 'unknown',
    sceneCount: String(video.scenes.length),
    width: md ? String(md.width) : 'unknown',
    height: md ? String(md.height) : 'unknown',
    tags: list([...new Set(video.tags.filter((t) => t.source !== 'ai').map((t) => t.name))]),
    instruction: s.instruction,
    taxonomy: uses('taxonomy') ? list([...s.vocabulary.categories]) : '',
    taxonomyGuide: uses('taxonomyGuide') ? s.vocabulary.categoryGuide || 'none' : '',
    actionLabels: uses('actionLabels') ? list([...s.vocabulary.actions]) : '',
    frameCount: frames?.count ?? String(picks.length),
    frameTimes: frames?.times ?? picks.map((p, i) => `${i + 1}: ${fmtTime(p.timeSec)}`).join(', '),
  };
}

/**
 * A URL the server can fetch this very video from: a direct http(s) download, not a page yt-dlp read the video
 * from nor an HLS playlist (neither is a video file a server can take), nor a list row cut to a clip (the URL
 * holds the whole video: the model described what the clip was cut from).
 */
function videoUrlFor(video: Video): string | undefined {
  const direct = [video.source, ...video.alsoFrom].find(
    (s) => s.kind === 'http' && /^https?:\/\//i.test(s.url) && s.list?.start === undefined && s.list?.end === undefined && s.list?.trim === undefined,
  );
  return direct?.url;
}

/** DashScope's limit on an inlined video: the base64 text, a third larger than the file. */
const INLINE_VIDEO_LIMIT = 10 * 1024 * 1024;

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * What describing this video would send: frames, their size, prompts and the estimated tokens, and whether
 * the budget refuses it. Reads only the record, the templates and keyframe headers: no process, no call.
 */
export function planDescription(video: Video, s: DescribeSettings): DescribePlan {
  const md = video.metadata;
  if (!md) throw new ModelError(`${displayName(video)}: no metadata (the probe stage has not run)`, { code: 'E_MODEL_INPUT' });
  const template = loadTemplate(s.template, s.templatesDir);
  // frame times count from the video's first frame, as scene times do: over the video's own length, not the file's
  // (a video starting 2 s into a 5 s file had its frames spread over 5 s, the last ones past its end)
  const videoSec = Math.max(0, md.durationSec - (md.videoStartSec ?? 0));
  const selection = selectFrames(videoSec, video.scenes, { maxFrames: s.maxFrames, minFrames: s.minFrames });
  const videoSize = md.width > 0 && md.height > 0 ? { width: md.width, height: md.height } : null;
  const requests: PlannedRequest[] = [];
  let frameSize: Size | null = null;
  let videoUrl: string | undefined;

  if (s.videoInput === 'url') {
    videoUrl = videoUrlFor(video);
    // the file's size was compared with the limit, so a 9 MB file went out as 12 MB of base64 and was refused
    if (!videoUrl && base64Length(video.file.bytes) > INLINE_VIDEO_LIMIT) {
      throw new ModelError(
        `${displayName(video)}: VideoInput = url needs a direct http(s) download of the video (not a yt-dlp page, an HLS playlist or a trimmed clip) or a file under 7.5 MB to inline (10 MB as base64); use VideoInput = images or frames`,
        { code: 'E_MODEL_INPUT' },
      );
    }
    const sampling = qwenDefaultSampling(md.durationSec, videoSize ?? { width: 448, height: 252 }, md.frameCount);
    const prompt = renderTemplate(template, templateValues(video, s, template, [], { count: `about ${sampling.frames}`, times: 'spread evenly over the video (sampled by the server)' }));
    requests.push({ purpose: 'describe', template, prompt, picks: [], visualTokens: sampling.tokens, textTokens: textTokens(prompt) });
  } else {
    frameSize = targetFrameSize(selection.picks, videoSize, s.maxPixelsPerFrame);
    const prompt = renderTemplate(template, templateValues(video, s, template, selection.picks));
    const n = selection.picks.length;
    const visual = s.videoInput === 'frames' ? videoTokens(n, frameSize) : imagesTokens(Array(n).fill(frameSize));
    requests.push({ purpose: 'describe', template, prompt, picks: selection.picks, visualTokens: visual, textTokens: textTokens(prompt) });
  }

  if (s.perScene && video.scenes.length > 0) {
    const sceneTemplate = loadTemplate(s.sceneTemplate, s.templatesDir);
    const scenePicks: FramePick[] = video.scenes.map((sc) => ({
      timeSec: Math.round(((sc.startSec + sc.endSec) / 2) * 1000) / 1000,
      sceneIndex: sc.index,
      ...(sc.keyframe ? { keyframe: sc.keyframe } : {}),
    }));
    frameSize ??= targetFrameSize(scenePicks, videoSize, s.maxPixelsPerFrame);
    for (let i = 0; i < scenePicks.length; i += s.sceneBatchSize) {
      const batch = scenePicks.slice(i, i + s.sceneBatchSize);
      const prompt = renderTemplate(sceneTemplate, templateValues(video, s, sceneTemplate, batch));
      requests.push({
        purpose: 'scene-captions',
        template: sceneTemplate,
        prompt,
        picks: batch,
        visualTokens: imagesTokens(Array(batch.length).fill(frameSize)),
        textTokens: textTokens(prompt),
      });
    }
  }

  const estimatedTokens = requests.reduce((sum, r) => sum + r.visualTokens + r.textTokens, 0);
  const framesSent = requests.reduce((sum, r) => sum + r.picks.length, 0);
  const plan: DescribePlan = { selection, frameSize, videoInput: s.videoInput, requests, estimatedTokens, framesSent, ...(videoUrl ? { videoUrl } : {}) };
  if (estimatedTokens > s.maxTokensPerVideo) {
    const what = s.videoInput === 'url' ? `the whole video sampled by the server at 2 fps` : `${framesSent} frames at ${frameSize!.width}x${frameSize!.height}`;
    const captions = requests.slice(1);
    const captionTokens = captions.reduce((sum, r) => sum + r.visualTokens + r.textTokens, 0);
    // PerScene captions every scene whatever MaxFrames says: with hundreds of scenes they were most of the
    // estimate, and the advice to lower MaxFrames left the video refused
    const split = captions.length ? `: ${estimatedTokens - captionTokens} for the video, ${captionTokens} for the captions of its ${video.scenes.length} scenes (PerScene)` : '';
    const advice = captionTokens > s.maxTokensPerVideo / 2 ? 'lower MaxPixelsPerFrame, set PerScene = false or detect fewer scenes ([SceneDetection] Threshold, MinSceneLen)' : 'lower MaxFrames or MaxPixelsPerFrame';
    plan.refusal =
      `estimated ${estimatedTokens} prompt tokens (${what}, ${requests.length} request${requests.length > 1 ? 's' : ''}${split}) exceed [QwenVL] MaxTokensPerVideo = ${s.maxTokensPerVideo}; ` +
      `${advice}, or raise MaxTokensPerVideo`;
  }
  return plan;
}

/** One line for --dry-run. */
export function formatPlan(plan: DescribePlan): string {
  const main = plan.requests[0]!;
  const source =
    plan.videoInput === 'url'
      ? 'the video URL (server samples 2 fps)'
      : plan.selection.from === 'scenes'
        ? `${main.picks.length} frames from ${plan.selection.sceneCount} scene${plan.selection.sceneCount === 1 ? "" : "s"} at ${plan.frameSize!.width}x${plan.frameSize!.height} as ${plan.videoInput}`
        : `${main.picks.length} evenly spaced frames (no scenes) at ${plan.frameSize!.width}x${plan.frameSize!.height} as ${plan.videoInput}`;
  const scenes = plan.requests.length > 1 ? ` + ${plan.requests.length - 1} scene-caption request(s)` : '';
  const verdict = plan.refusal ? ` REFUSED: ${plan.refusal}` : '';
  return `${source}, template ${main.template.name}${scenes}, ~${plan.estimatedTokens} tokens${verdict}`;
}

/**
 * Hash of everything the answer depends on: the frames chosen and their size, the template texts, the
 * instruction, model and the provider settings that change the answer (not the endpoint nor the key: the
 * public and VPC URLs of one service give the same answers).
 */
export function describeInputHash(video: Video, s: DescribeSettings): string {
  const template = loadTemplate(s.template, s.templatesDir);
  const md = video.metadata;
  const selection = md ? selectFrames(md.durationSec, video.scenes, { maxFrames: s.maxFrames, minFrames: s.minFrames }) : null;
  const uses = (v: string) => template.variables.includes(v as never);
  let frameSize: Size | null = null;
  try {
    frameSize = selection && md && s.videoInput !== 'url' ? targetFrameSize(selection.picks, { width: md.width, height: md.height }, s.maxPixelsPerFrame) : null;
  } catch {
    frameSize = null;
  }
  return stableHash({
    content: video.file.sha256,
    frames: selection?.picks.map((p) => [p.timeSec, p.sceneIndex ?? null, p.keyframe ? 'k' : 'v']) ?? null,
    frameSize,
    template: template.text,
    sceneTemplate: s.perScene ? loadTemplate(s.sceneTemplate, s.templatesDir).text : null,
    scenes: s.perScene ? video.scenes.map((sc) => [sc.index, sc.startSec, sc.endSec]) : null,
    instruction: uses('instruction') ? s.instruction : null,
    taxonomy: uses('taxonomy') ? s.vocabulary.categories : null,
    taxonomyGuide: uses('taxonomyGuide') ? s.vocabulary.categoryGuide : null,
    actionLabels: uses('actionLabels') ? s.vocabulary.actions : null,
    model: s.model,
    temperature: s.temperature,
    maxOutputTokens: s.maxOutputTokens,
    videoInput: s.videoInput,
    frameListFormat: s.videoInput === 'frames' ? s.frameListFormat : null,
    eas: s.provider === 'pai-eas' ? [s.easRequestFormat, s.easResponsePath] : null,
  });
}

/** A usable answer kept from an earlier attempt at the same description, and what it cost. */
export interface KeptAnswer {
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** The model stopped at MaxOutputTokens (a text answer, kept as far as it went). */
  cutOff?: boolean;
  /** The audit lines of the calls that gave this answer which could not be written then: written when it is used. */
  unaudited?: AuditEntry[];
}

/**
 * Answers kept by request (a key of its prompt and frames: the whole-video request, each scene-caption batch). A
 * description that fails after some requests succeeded (a caption batch refused, a crash) then pays for those
 * again on the next run only if they were not kept; one whose other template changed asks only the requests
 * that changed.
 */
export interface KeptAnswers {
  get(request: string): KeptAnswer | undefined;
  /** Keeps an answer of the attempt under way. */
  put(request: string, answer: KeptAnswer): void;
  /** The description is complete (and cached whole by the runner): its requests' answers are kept for later ones. */
  complete(requests: readonly string[]): void;
}

export interface DescribeDeps {
  vlm: ReliableVlm;
  kept?: KeptAnswers;
  /**
   * Where each request is recorded (the audit trail); never given the key. `ready` throws while the trail cannot
   * be written: no request is sent then.
   */
  audit: { append(entry: AuditEntry): void; ready?(): void };
  ffmpeg: string;
  /** For frames cut from a file without an index (MPEG-TS), which are decoded from the key frame before them. */
  ffprobe?: string;
  /** Runs each frame's ffmpeg job under the pipeline's `[Concurrency] Cpu` limit; at once when absent. */
  toolSlot?: <T>(job: () => Promise<T>) => Promise<T>;
  signal?: AbortSignal;
  now?: () => Date;
  /** Told what went wrong that the description survives (an answer the cache could not keep). */
  warn?: (message: string) => void;
}

export interface DescribeResult {
  ai: AiDescription;
  /** Requests answered from `kept` (no call made). */
  reused: number;
  /** The record's scenes with captions, in PerScene mode. */
  scenes?: Scene[];
}

const REPAIR_ANSWER_CHARS = 6000;

function shapeOf(required: readonly AnswerField[]): string {
  const fields: Record<AnswerField, string> = {
    description: '"description": "<text>"',
    tags: '"tags": ["<tag>", ...]',
    category: '"category": "<name>" or null',
    actions: '"actions": ["<verb>", ...]',
  };
  const req = required.length ? ` It must have ${required.join(', ')}.` : '';
  return `{${Object.values(fields).join(', ')}}.${req}`;
}

function repairPrompt(shape: string, error: string, answer: string): string {
  return (
    `Your previous answer was meant to be a single JSON object of the form ${shape}\n` +
    `It is not usable: ${error}.\n` +
    `Reply with only the corrected JSON object and no other text.\n\nPrevious answer:\n${answer.slice(0, REPAIR_ANSWER_CHARS)}`
  );
}

/**
 * What identifies a request among a video's descriptions with the same inputs: its prompt and the frames it sends
 * (which scenes, times, keyframes, size). A kept answer is reused only for the same request, whatever batches the
 * scenes fall into now.
 */
function requestKey(req: PlannedRequest, plan: DescribePlan): string {
  return stableHash([req.purpose, req.template.hash, req.prompt, req.picks.map((p) => [p.sceneIndex ?? null, p.timeSec, p.keyframe ?? null]), plan.frameSize, plan.videoInput, plan.videoUrl ?? null]);
}

/**
 * Describes one video: chooses frames, refuses it when the estimate exceeds the budget, sends the request
 * (retried by `ReliableVlm`), parses a JSON answer with one repair request, and in PerScene mode captions the
 * scenes in batches. Every request goes to the audit trail.
 * @throws ModelError (E_MODEL_BUDGET when refused, E_MODEL_JSON when the answer stays invalid) naming the video.
 */
export async function describeVideo(video: Video, s: DescribeSettings, deps: DescribeDeps): Promise<DescribeResult> {
  const name = displayName(video);
  const plan = planDescription(video, s);
  if (plan.refusal) throw new ModelError(`${name}: ${plan.refusal}`, { code: 'E_MODEL_BUDGET' });
  const now = deps.now ?? (() => new Date());
  const usage = { prompt: 0, completion: 0 };
  /** The audit line of this description's last call, when it could not be written, and why. */
  let unaudited: { entry: AuditEntry; error: unknown } | null = null;
  // The call was paid for and its answer is usable, but the trail lacks its line: the answer is kept (with the
  // line, written when the answer is used) and the stage fails rather than goes on, as the trail is a requirement;
  // the AuditLog then refuses the run's later calls. A later run (--retry-failed), once the trail can be written, asks nothing.
  const failForAudit = (answer: string): never => {
    throw new ModelError(
      `${name}: the model answered but its call could not be recorded: ${describeError(unaudited!.error)}; ${answer}`,
      { code: 'E_AUDIT', cause: unaudited!.error },
    );
  };

  const frameCache = new Map<string, FrameImage>();
  const framesFor = async (picks: FramePick[]): Promise<FrameImage[]> => {
    const key = (p: FramePick) => `${p.keyframe ?? ''}@${p.timeSec}`;
    const missing = picks.filter((p) => !frameCache.has(key(p)));
    if (missing.length) {
      const rendered = await renderFrames(missing, {
        ffmpeg: deps.ffmpeg,
        videoPath: video.file.path,
        size: plan.frameSize!,
        ...(video.metadata?.container ? { container: video.metadata.container } : {}),
        ...(video.metadata?.videoStartSec ? { videoStartSec: video.metadata.videoStartSec } : {}),
        ...(video.metadata?.videoStreamIndex !== undefined ? { streamIndex: video.metadata.videoStreamIndex } : {}),
        ...(deps.ffprobe ? { ffprobe: deps.ffprobe } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(deps.toolSlot ? { toolSlot: deps.toolSlot } : {}),
      });
      missing.forEach((p, i) => frameCache.set(key(p), rendered[i]!));
    }
    return picks.map((p) => frameCache.get(key(p))!);
  };

  const send = async (
    req: PlannedRequest,
    messages: VlmMessage[],
    purpose: string,
    frames: number,
    estimated: number,
  ): Promise<{ text: string; promptTokens: number; completionTokens: number; finishReason?: string }> => {
    try {
      deps.audit.ready?.();
    } catch (err) {
      throw new ModelError(`${name}: ${describeError(err)}; no model call sent until it can be`, { code: 'E_AUDIT', cause: err });
    }
    const outcome: CallOutcome = await deps.vlm.call({
      model: s.model,
      messages,
      maxOutputTokens: s.maxOutputTokens,
      temperature: s.temperature,
      timeoutMs: s.timeoutMs,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const u: VlmUsage = outcome.usage;
    usage.prompt += u.promptTokens ?? 0;
    usage.completion += u.completionTokens ?? 0;
    // a call refused before it was sent (the key was refused moments ago) is not a call: no audit line
    if (outcome.ok || !outcome.notSent) {
      const entry: AuditEntry = {
        at: now().toISOString(),
        videoId: video.id,
        provider: deps.vlm.provider,
        endpoint: deps.vlm.endpointLabel,
        model: s.model,
        template: req.template.name,
        templateHash: req.template.hash,
        purpose,
        frames,
        estimatedTokens: estimated,
        ...(u.promptTokens !== undefined ? { promptTokens: u.promptTokens } : {}),
        ...(u.completionTokens !== undefined ? { completionTokens: u.completionTokens } : {}),
        latencyMs: outcome.latencyMs,
        status: outcome.ok ? 'ok' : 'error',
        ...(outcome.status !== undefined ? { httpStatus: outcome.status } : {}),
        retries: outcome.retries,
        ...(outcome.ok ? {} : { error: outcome.error.message, errorCode: outcome.error.code }),
      };
      try {
        deps.audit.append(entry);
      } catch (error) {
        unaudited = { entry, error };
      }
    }
    if (!outcome.ok) {
      const lost = unaudited ? `; and its call could not be recorded: ${describeError(unaudited.error)}` : '';
      throw new ModelError(`${name}: ${outcome.error.message}${lost}`, {
        cause: outcome.error,
        retryable: outcome.error.retryable,
        code: outcome.error.code,
        ...(outcome.error.status !== undefined ? { status: outcome.error.status } : {}),
        ...(outcome.error.providerCode !== undefined ? { providerCode: outcome.error.providerCode } : {}),
      });
    }
    return {
      text: outcome.response.text,
      promptTokens: u.promptTokens ?? 0,
      completionTokens: u.completionTokens ?? 0,
      ...(outcome.response.finishReason ? { finishReason: outcome.response.finishReason } : {}),
    };
  };

  /** Keeps a usable answer, with the audit line of its call when that could not be written. */
  const keep = (slot: string, answer: KeptAnswer): void => {
    if (!unaudited) {
      try {
        deps.kept?.put(slot, answer);
      } catch (err) {
        // The answer is in hand: the description goes on and is stored with the record, so the call is not lost.
        // Failing here (a full disk) threw the paid answer away, and the next run asked again.
        deps.warn?.(`${name}: the model's answer could not be kept in the cache (${describeError(err)}); it is used, but a run stopped before this video's description is stored would ask again`);
      }
      return;
    }
    try {
      deps.kept?.put(slot, { ...answer, unaudited: [...(answer.unaudited ?? []), unaudited.entry] });
    } catch (err) {
      // a full disk often holds the cache too: say so, rather than the cache's raw error alone
      failForAudit(`the answer could not be kept either (${describeError(err)})`);
    }
    failForAudit(deps.kept ? 'the answer is kept: once the trail can be written, --retry-failed uses it without a new call' : 'the answer is lost (no cache to keep it)');
  };

  let reused = 0;
  /**
   * A kept answer, once used: counted as spent in this description's usage (it was paid for). The audit lines of
   * its calls that could not be written when they were made are written now (late, with their own time).
   * @throws ModelError (E_AUDIT) when they still cannot be; the answer stays kept.
   */
  const useKept = (slot: string, k: KeptAnswer): string => {
    if (k.unaudited?.length) {
      const rest = [...k.unaudited];
      try {
        while (rest.length) {
          deps.audit.append({ ...rest[0]!, late: true });
          rest.shift();
        }
      } catch (err) {
        deps.kept?.put(slot, { ...k, unaudited: rest });
        throw new ModelError(`${name}: the model's kept answer cannot be used until its call is recorded: ${describeError(err)}`, { code: 'E_AUDIT', cause: err });
      }
      const { unaudited: _written, ...whole } = k;
      deps.kept?.put(slot, whole);
    }
    reused++;
    usage.prompt += k.promptTokens;
    usage.completion += k.completionTokens;
    return k.text;
  };

  /**
   * Sends a request whose answer must parse; one text-only repair request when it does not. A usable answer is
   * kept under the request's key until the description is complete; an unusable one is not, so a later run asks again.
   */
  const sendParsed = async <T>(req: PlannedRequest, messages: () => Promise<VlmMessage[]>, estimated: number, parse: (t: string) => ParseResult<T>, shape: string): Promise<T> => {
    const slot = requestKey(req, plan);
    const kept = deps.kept?.get(slot);
    const keptParsed = kept === undefined ? undefined : parse(kept.text);
    if (kept && keptParsed?.ok) {
      useKept(slot, kept);
      return keptParsed.value;
    }
    // (the frames are rendered only for a request that is sent)
    const got = await send(req, await messages(), req.purpose, req.picks.length, estimated);
    const first = parse(got.text);
    if (first.ok) {
      keep(slot, { text: got.text, promptTokens: got.promptTokens, completionTokens: got.completionTokens });
      return first.value;
    }
    // no repair request goes out when this call could not be recorded
    if (unaudited) failForAudit('the answer was not usable, not kept');
    // Cut at MaxOutputTokens: a repair request restates the same answer and is cut at the same place, paid for
    // nothing, and the error said only "cut off", not which setting cut it.
    if (got.finishReason === 'length') {
      throw new ModelError(
        `${name}: the model's answer for template ${req.template.name} was cut at [QwenVL] MaxOutputTokens = ${s.maxOutputTokens} before it was usable (${first.error}); raise MaxOutputTokens`,
        { code: 'E_MODEL_JSON' },
      );
    }
    const prompt = repairPrompt(shape, first.error, got.text);
    const repaired = await send(req, [{ role: 'user', content: [{ type: 'text', text: prompt }] }], 'repair', 0, textTokens(prompt));
    const second = parse(repaired.text);
    if (second.ok) {
      keep(slot, { text: repaired.text, promptTokens: got.promptTokens + repaired.promptTokens, completionTokens: got.completionTokens + repaired.completionTokens });
      return second.value;
    }
    if (unaudited) failForAudit('the answer was not usable, not kept');
    throw new ModelError(`${name}: the model's answer for template ${req.template.name} is not usable even after one repair request: ${second.error}`, {
      code: 'E_MODEL_JSON',
    });
  };

  // The description of the whole video.
  const main = plan.requests[0]!;
  const mainMessages = async (): Promise<VlmMessage[]> => {
    let visual: VlmPart;
    if (plan.videoInput === 'url') {
      visual = { type: 'video-url', url: plan.videoUrl ?? `data:video/${path.extname(video.file.path).slice(1) || 'mp4'};base64,${readFileSync(video.file.path).toString('base64')}` };
    } else {
      const frames = await framesFor(main.picks);
      visual = plan.videoInput === 'frames' ? { type: 'frames', frames } : { type: 'images', frames };
    }
    return [{ role: 'user', content: [visual, { type: 'text', text: main.prompt }] }];
  };
  const mainEstimate = main.visualTokens + main.textTokens;
  let answer: Answer;
  let cutOff = false;
  if (main.template.format === 'json') {
    answer = await sendParsed(main, mainMessages, mainEstimate, (t) => parseAnswer(t, main.template.required), shapeOf(main.template.required));
  } else {
    const kept = deps.kept?.get(requestKey(main, plan));
    let text = kept ? useKept(requestKey(main, plan), kept) : undefined;
    if (kept?.cutOff) cutOff = true;
    if (text === undefined) {
      const got = await send(main, await mainMessages(), 'describe', main.picks.length, mainEstimate);
      if (!withoutControlChars(withoutReasoning(got.text)).trim()) {
        if (unaudited) failForAudit('the answer was not usable, not kept');
        throw new ModelError(`${name}: the model's answer holds only its reasoning (<think>...</think>), no description${got.finishReason === 'length' ? `: it used all ${s.maxOutputTokens} tokens; raise [QwenVL] MaxOutputTokens` : ''}`, {
          code: 'E_MODEL_EMPTY',
        });
      }
      // a description cut at the token limit is still worth keeping, but the record says so
      cutOff = got.finishReason === 'length';
      keep(requestKey(main, plan), { text: got.text, promptTokens: got.promptTokens, completionTokens: got.completionTokens, ...(cutOff ? { cutOff } : {}) });
      text = got.text;
    }
    answer = { description: withoutControlChars(withoutReasoning(text)).trim() };
  }

  // Captions per scene, several scenes a request.
  let scenes: Scene[] | undefined;
  const captionRequests = plan.requests.slice(1);
  if (captionRequests.length > 0) {
    const captions = new Map<number, string>();
    for (const req of captionRequests) {
      const n = req.picks.length;
      const messages = async (): Promise<VlmMessage[]> => [{ role: 'user', content: [{ type: 'images', frames: await framesFor(req.picks) }, { type: 'text', text: req.prompt }] }];
      const got = await sendParsed(req, messages, req.visualTokens + req.textTokens, (t) => parseCaptions(t, n), `{"captions": [${n} strings, one per image in order]}.`);
      req.picks.forEach((p, j) => captions.set(p.sceneIndex!, got[j]!));
    }
    scenes = video.scenes.map((sc) => (captions.has(sc.index) ? { ...sc, description: captions.get(sc.index)! } : sc));
  }

  const ai: AiDescription = {
    model: s.model,
    endpoint: deps.vlm.endpointLabel,
    provider: deps.vlm.provider,
    template: main.template.name,
    templateHash: main.template.hash,
    instruction: s.instruction,
    description: answer.description?.trim() ?? '',
    tags: answer.tags ?? [],
    ...(answer.category ? { category: answer.category } : {}),
    actions: answer.actions ?? [],
    promptTokens: usage.prompt,
    completionTokens: usage.completion,
    estimatedTokens: plan.estimatedTokens,
    framesSent: plan.framesSent,
    ...(cutOff ? { cutOff: true } : {}),
    at: now().toISOString(),
  };
  try {
    deps.kept?.complete(plan.requests.map((r) => requestKey(r, plan)));
  } catch (err) {
    // the description is whole and about to be stored: only later descriptions lose the cached answers
    deps.warn?.(`${name}: the model's answers could not be kept for later descriptions (${describeError(err)}); this one is complete`);
  }
  return { ai, reused, ...(scenes ? { scenes } : {}) };
}
