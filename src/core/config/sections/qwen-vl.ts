import { bool, int, num, oneOf, str } from '../config-key.js';

/** The vision-language model (Qwen2-VL and friends) used by the describe stage. See docs/model.md. */
export const QwenVL = {
  Provider: oneOf(
    ['openai', 'pai-eas'] as const,
    'openai',
    'openai: any OpenAI-compatible chat completions server (DashScope compatible mode, PAI-EAS vLLM/BladeLLM, vLLM, Ollama, LM Studio); pai-eas: a raw PAI-EAS endpoint (see EasRequestFormat).',
  ),
  PublicEndpoint: str('', 'Model endpoint URL (flag --endpoint). Empty: the describe stage is skipped. A .../v1 base or the full .../chat/completions URL.'),
  VpcEndpoint: str('', 'Endpoint inside the VPC (e.g. <service>.<uid>.vpc.<region>.pai-eas.aliyuncs.com), used with UseVpc / --use-vpc.'),
  UseVpc: bool(false, 'Use VpcEndpoint instead of PublicEndpoint (flag --use-vpc).'),
  Model: str('qwen2-vl-7b-instruct', 'Model name sent to the server (flag --model).'),
  AccessKey: str('', 'API key or EAS token. Prefer the environment: VIDEODEX_QWEN_ACCESS_KEY or DASHSCOPE_API_KEY. Never logged or stored.', {
    secret: true,
    envAliases: ['VIDEODEX_QWEN_ACCESS_KEY', 'DASHSCOPE_API_KEY'],
  }),
  AuthHeader: oneOf(
    ['auto', 'bearer', 'token', 'none'] as const,
    'auto',
    'How the key is sent: bearer (Authorization: Bearer <key>), token (Authorization: <key>, as PAI-EAS wants), none; auto = token for the pai-eas provider and *.pai-eas.aliyuncs.com hosts, else bearer.',
  ),
  DefaultInstruction: str(
    'Describe this video: the setting, the people and objects, and what happens.',
    'The instruction put in {{instruction}} (flag --qwen-instruction).',
  ),
  Template: str('describe', 'Prompt template: a name (a file <name>.txt under TemplatesDir or the shipped templates/) or a path (flag --template).'),
  MaxFrames: int(16, { min: 1, max: 768 }, 'Most frames sent for one video: one keyframe per scene, thinned evenly to this.'),
  MinFrames: int(4, { min: 1, max: 768 }, 'Fewest frames sent: with fewer scenes, evenly spaced frames are added from the video.'),
  MaxPixelsPerFrame: int(200704, { min: 3136, max: 16_777_216 }, 'Pixel budget of one frame; frames are resized to multiples of 28 within it (200704 = 256 patches of 28x28).'),
  MaxTokensPerVideo: int(16384, { min: 1, max: 10_000_000 }, 'Refuse a request whose estimated prompt tokens (visual + text) exceed this.'),
  Temperature: num(0.2, { min: 0, max: 2 }, 'Sampling temperature.'),
  MaxOutputTokens: int(512, { min: 1, max: 32768 }, 'Most tokens in an answer.'),
  TimeoutSec: num(120, { min: 0.05, max: 3600 }, 'Per-request timeout in seconds.'),
  Retries: int(4, { min: 0, max: 20 }, 'Retries on 429, 5xx, PAI-EAS 450 (queue full), timeouts and dropped connections (never on 400, 401, 403).'),
  BackoffMs: int(1000, { min: 0, max: 600_000 }, 'First retry delay; doubles each retry (with jitter, at most 60 s). A Retry-After header from the server asking for longer wins, up to 300 s (a longer one fails the call at once).'),
  RequestsPerMinute: int(60, { min: 1, max: 1_000_000 }, 'Requests per minute to one endpoint, shared by every worker in the process.'),
  VideoInput: oneOf(
    ['frames', 'images', 'url'] as const,
    'images',
    'How frames go to the model: images (one image part per frame, every server), frames (one video part made of the frames; half the tokens), url (the video URL itself; the server samples it).',
  ),
  FrameListFormat: oneOf(
    ['dashscope', 'vllm'] as const,
    'dashscope',
    'Wire form of VideoInput=frames: dashscope ({"type":"video","video":[...]}) or vllm (video_url with data:video/jpeg;base64,<f1>,<f2>,...).',
  ),
  PerScene: bool(false, 'Also caption each scene (stored on scenes[i].description), several scenes per request.'),
  SceneBatchSize: int(8, { min: 1, max: 64 }, 'Scenes captioned per request in PerScene mode.'),
  SceneTemplate: str('scene-captions', 'Template for PerScene captions (a JSON answer {"captions":[...]}).'),
  EasRequestFormat: oneOf(
    ['openai', 'dashscope', 'prompt'] as const,
    'openai',
    'pai-eas body: openai (chat completions messages), dashscope ({model,input:{messages},parameters}), prompt ({prompt,images,max_new_tokens,temperature}).',
  ),
  EasResponsePath: str('', 'pai-eas: dotted path of the answer text in the JSON reply (e.g. output.text). Empty: try the known shapes.'),
} as const;
