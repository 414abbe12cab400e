import type { FrameImage, VlmMessage, VlmPart } from './vlm-client.js';

/** How VideoInput=frames goes on the wire. */
export type FrameListFormat = 'dashscope' | 'vllm';

export function jpegDataUrl(frame: FrameImage): string {
  return `data:image/jpeg;base64,${frame.jpegBase64}`;
}

/** OpenAI chat completions content parts (with the video extensions DashScope and vLLM accept). */
export function openAiContent(part: VlmPart, frameList: FrameListFormat): Record<string, unknown>[] {
  switch (part.type) {
    case 'text':
      return [{ type: 'text', text: part.text }];
    case 'images':
      return part.frames.map((f) => ({ type: 'image_url', image_url: { url: jpegDataUrl(f) } }));
    case 'frames':
      if (frameList === 'vllm') {
        return [{ type: 'video_url', video_url: { url: `data:video/jpeg;base64,${part.frames.map((f) => f.jpegBase64).join(',')}` } }];
      }
      return [{ type: 'video', video: part.frames.map(jpegDataUrl) }];
    case 'video-url':
      return [{ type: 'video_url', video_url: { url: part.url } }];
  }
}

/** Messages in OpenAI chat completions form. A message of only text is sent as a plain string. */
export function openAiMessages(messages: readonly VlmMessage[], frameList: FrameListFormat): Record<string, unknown>[] {
  return messages.map((m) => {
    const onlyText = m.content.every((p) => p.type === 'text');
    if (onlyText || m.role !== 'user') {
      return { role: m.role, content: m.content.map((p) => (p.type === 'text' ? p.text : '')).join('\n') };
    }
    return { role: m.role, content: m.content.flatMap((p) => openAiContent(p, frameList)) };
  });
}

/** Messages in DashScope native form: content items {text} / {image} / {video:[...]}. */
export function dashScopeMessages(messages: readonly VlmMessage[]): Record<string, unknown>[] {
  return messages.map((m) => ({
    role: m.role,
    content: m.content.flatMap((p): Record<string, unknown>[] => {
      switch (p.type) {
        case 'text':
          return [{ text: p.text }];
        case 'images':
          return p.frames.map((f) => ({ image: jpegDataUrl(f) }));
        case 'frames':
          return [{ video: p.frames.map(jpegDataUrl) }];
        case 'video-url':
          return [{ video: p.url }];
      }
    }),
  }));
}

/** All text of the messages, as one prompt (for raw deployments that take a prompt and images). */
export function promptText(messages: readonly VlmMessage[]): string {
  return messages
    .map((m) => {
      const text = m.content.filter((p): p is Extract<VlmPart, { type: 'text' }> => p.type === 'text').map((p) => p.text).join('\n');
      return m.role === 'user' || messages.length === 1 ? text : `${m.role}: ${text}`;
    })
    .filter(Boolean)
    .join('\n\n');
}

/** Every frame in the messages, in order. */
export function allFrames(messages: readonly VlmMessage[]): FrameImage[] {
  return messages.flatMap((m) => m.content.flatMap((p) => (p.type === 'images' || p.type === 'frames' ? [...p.frames] : [])));
}
