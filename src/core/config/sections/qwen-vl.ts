import { bool, int, num, oneOf, str } from '../config-key.js';

export const QwenVL = {
  Provider: oneOf(['openai', 'pai-eas'] as const, 'openai', 'openai: any OpenAI-compatible chat completions server; pai-eas: a raw PAI-EAS endpoint.'),
  PublicEndpoint: str('', 'Model endpoint URL. Empty: the describe stage is skipped.'),
  VpcEndpoint: str('', 'Endpoint inside the VPC, used with UseVpc / --use-vpc.'),
  UseVpc: bool(false, 'Use VpcEndpoint instead of PublicEndpoint.'),
  Model: str('qwen2-vl-7b-instruct', 'Model name sent to the server.'),
  AccessKey: str('', 'API key or EAS token. Prefer VIDEODEX_QWEN_ACCESS_KEY or DASHSCOPE_API_KEY.', {
    secret: true,
    envAliases: ['VIDEODEX_QWEN_ACCESS_KEY', 'DASHSCOPE_API_KEY'],
  }),
  DefaultInstruction: str('Describe this video: the setting, the people and objects, and what happens.', 'The instruction put in {{instruction}}.'),
  Template: str('describe', 'Prompt template name (a file under templates/ or TemplatesDir).'),
  MaxFrames: int(16, { min: 1, max: 768 }, 'Most frames sent for one video.'),
  MaxPixelsPerFrame: int(200704, { min: 3136, max: 16_777_216 }, 'Pixel budget of one frame (multiples of 28x28).'),
  MaxTokensPerVideo: int(16384, { min: 1, max: 10_000_000 }, 'Refuse a request whose estimated visual tokens exceed this.'),
  Temperature: num(0.2, { min: 0, max: 2 }, 'Sampling temperature.'),
  MaxOutputTokens: int(512, { min: 1, max: 32768 }, 'Most tokens in an answer.'),
  TimeoutSec: int(120, { min: 1, max: 3600 }, 'Per-request timeout.'),
  Retries: int(4, { min: 0, max: 20 }, 'Retries on 429, 5xx and timeouts.'),
  RequestsPerMinute: int(60, { min: 1, max: 100000 }, 'Requests per minute across the process.'),
  VideoInput: oneOf(['frames', 'images', 'url'] as const, 'images', 'Send frames as a frame-list video, as images, or the video URL itself.'),
  PerScene: bool(false, 'Also caption each scene (stored on scenes[i].description).'),
} as const;
