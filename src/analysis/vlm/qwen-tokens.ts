/**
 * Qwen2-VL's visual token arithmetic, after its preprocessing utilities (qwen-vl-utils vision_process):
 * images and frames are resized so both sides are multiples of 28 and the area fits a pixel budget; each
 * 28x28 patch is one token; video frames go in pairs (temporal patch 2), so a pair costs one frame's tokens.
 */

export const PATCH = 28;
export const PATCH_PIXELS = PATCH * PATCH;
export const IMAGE_MIN_PIXELS = 4 * PATCH_PIXELS;
export const VIDEO_MIN_PIXELS = 128 * PATCH_PIXELS;
export const VIDEO_MAX_PIXELS = 768 * PATCH_PIXELS;
export const VIDEO_TOTAL_PIXELS = 24576 * PATCH_PIXELS;
export const DEFAULT_FPS = 2;
export const FPS_MIN_FRAMES = 4;
export const FPS_MAX_FRAMES = 768;
const MAX_RATIO = 200;
/** Vision start and end markers around each image or video. */
export const VISION_MARKERS = 2;

export interface Size {
  width: number;
  height: number;
}

const roundBy = (n: number, f: number) => Math.round(n / f) * f;
const ceilBy = (n: number, f: number) => Math.ceil(n / f) * f;
const floorBy = (n: number, f: number) => Math.floor(n / f) * f;

/**
 * Both sides multiples of 28, area within [minPixels, maxPixels], aspect ratio kept as well as possible.
 * Extreme aspect ratios (beyond 200:1) are clamped rather than refused.
 */
export function smartResize(size: Size, maxPixels: number, minPixels = IMAGE_MIN_PIXELS): Size {
  let { width, height } = size;
  if (width <= 0 || height <= 0) throw new RangeError(`frame size ${width}x${height} is not a picture`);
  if (Math.max(width, height) / Math.min(width, height) > MAX_RATIO) {
    if (width > height) width = height * MAX_RATIO;
    else height = width * MAX_RATIO;
  }
  let h = Math.max(PATCH, roundBy(height, PATCH));
  let w = Math.max(PATCH, roundBy(width, PATCH));
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(PATCH, floorBy(height / beta, PATCH));
    w = Math.max(PATCH, floorBy(width / beta, PATCH));
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = ceilBy(height * beta, PATCH);
    w = ceilBy(width * beta, PATCH);
  }
  return { width: w, height: h };
}

/** Tokens of one resized image or frame: one per 28x28 patch. */
export function patchTokens(size: Size): number {
  return (size.width / PATCH) * (size.height / PATCH);
}

/** Visual tokens of frames sent as separate images. */
export function imagesTokens(sizes: readonly Size[]): number {
  return sizes.reduce((sum, s) => sum + patchTokens(s) + VISION_MARKERS, 0);
}

/** Visual tokens of frames sent as one video: frames in pairs (an odd last frame is padded). */
export function videoTokens(frameCount: number, size: Size): number {
  if (frameCount === 0) return 0;
  return Math.ceil(frameCount / 2) * patchTokens(size) + VISION_MARKERS;
}

/** A rough count of text tokens (about four characters a token for English prompts). */
export function textTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface SamplingEstimate {
  frames: number;
  size: Size;
  tokens: number;
}

/**
 * What Qwen2-VL's own utilities send for a whole video at their defaults: 2 fps, 4 to 768 frames (even),
 * each frame within 128..768 patches and the whole video within 24576 patches per frame pair.
 * `sourceFrames` caps the count for short clips, as the utilities do.
 */
export function qwenDefaultSampling(durationSec: number, size: Size, sourceFrames?: number): SamplingEstimate {
  const maxFrames = floorBy(Math.min(FPS_MAX_FRAMES, sourceFrames ?? Number.MAX_SAFE_INTEGER), 2);
  const minFrames = ceilBy(FPS_MIN_FRAMES, 2);
  let frames = durationSec * DEFAULT_FPS;
  frames = Math.min(Math.max(frames, minFrames), Math.max(maxFrames, 2));
  frames = Math.max(2, roundBy(frames, 2));
  const maxPixels = Math.max(Math.min(VIDEO_MAX_PIXELS, (VIDEO_TOTAL_PIXELS / frames) * 2), Math.floor(VIDEO_MIN_PIXELS * 1.05));
  const resized = smartResize(size, maxPixels, VIDEO_MIN_PIXELS);
  return { frames, size: resized, tokens: videoTokens(frames, resized) };
}
