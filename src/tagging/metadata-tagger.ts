import type { Tag, Video, VideoMetadata } from '../core/index.js';
import type { Tagger, TaggerContext } from './tagger.js';
import { normalizeTag, splitWords, DEFAULT_STOP_WORDS } from './words.js';

/** sd below 720 lines, hd 720-1079, fhd 1080-2159, 4k from 2160 (lines = the short side). */
export function resolutionClass(width: number, height: number): 'sd' | 'hd' | 'fhd' | '4k' | null {
  const lines = Math.min(width, height);
  if (!(lines > 0)) return null;
  if (lines >= 2160) return '4k';
  if (lines >= 1080) return 'fhd';
  if (lines >= 720) return 'hd';
  return 'sd';
}

/** Square when the sides differ by less than 5%. */
export function orientation(width: number, height: number): 'portrait' | 'landscape' | 'square' | null {
  if (!(width > 0 && height > 0)) return null;
  if (Math.abs(width - height) / Math.max(width, height) < 0.05) return 'square';
  return width > height ? 'landscape' : 'portrait';
}

/** short under a minute, medium under 20 minutes, long from 20 minutes. */
export function durationClass(seconds: number): 'short' | 'medium' | 'long' | null {
  if (!(seconds > 0)) return null;
  if (seconds < 60) return 'short';
  if (seconds < 20 * 60) return 'medium';
  return 'long';
}

const STANDARD_RATES = [24, 25, 30, 48, 50, 60];

/** The nearest standard rate as "25fps" (23.976 → 24fps), else low-frame-rate / high-frame-rate. */
export function frameRateClass(fps: number): string | null {
  if (!(fps > 0)) return null;
  if (fps < 20) return 'low-frame-rate';
  if (fps > 65) return 'high-frame-rate';
  for (const r of STANDARD_RATES) if (Math.abs(fps - r) <= 0.1 * (r / 24) && Math.abs(fps - r) < 1.01) return `${r}fps`;
  return null;
}

const CODEC_NAMES: Record<string, string> = { h264: 'h264', avc1: 'h264', hevc: 'hevc', h265: 'hevc', vp8: 'vp8', vp9: 'vp9', av1: 'av1', mpeg4: 'mpeg4', mpeg2video: 'mpeg2', prores: 'prores', mjpeg: 'mjpeg' };

/** Container tag keys whose value is a list of keywords. */
const KEYWORD_KEYS = ['keywords', 'keyword', 'genre', 'category', 'categories', 'tags'];
/** Container tag keys whose value is prose: words become weak tags. */
const PROSE_KEYS = ['title', 'comment', 'description', 'synopsis', 'album'];
const PERSON_KEYS = ['artist', 'album_artist', 'composer', 'author'];

function splitList(value: string): string[] {
  return value.split(/[,;|\n]+/).map((s) => s.trim()).filter(Boolean);
}

/** Technical facts are certain; words taken from free text are not. */
const FACT = 1;
const KEYWORD_CONFIDENCE = 0.9;
const PERSON_CONFIDENCE = 0.8;
const PROSE_CONFIDENCE = 0.4;

function technicalTags(m: VideoMetadata): Tag[] {
  const out: Tag[] = [];
  const add = (name: string | null, rule: string): void => {
    if (name) out.push({ name, source: 'metadata', confidence: FACT, rule });
  };
  add(resolutionClass(m.width, m.height), 'resolution-class');
  add(orientation(m.width, m.height), 'orientation');
  add(durationClass(m.durationSec), 'duration-class');
  add(m.audio ? 'has-audio' : 'silent', 'audio');
  if (m.videoCodec) add(CODEC_NAMES[m.videoCodec.toLowerCase()] ?? normalizeTag(m.videoCodec, { keepPlural: true }), 'codec');
  add(frameRateClass(m.fps), 'frame-rate-class');
  if (m.bitDepth && m.bitDepth > 8) add(`${m.bitDepth}-bit`, 'bit-depth');
  if (m.interlaced) add('interlaced', 'interlaced');
  if (m.variableFrameRate) add('variable-frame-rate', 'variable-frame-rate');
  if (m.truncated) add('truncated', 'truncated');
  if (m.rotation && m.rotation % 360 !== 0) add('rotated', 'rotation');
  if (m.audio && m.audio.channels > 2) add('surround-audio', 'audio-channels');
  return out;
}

/** Built once: retag runs this for every stored record. */
const STOP_WORDS: ReadonlySet<string> = new Set(DEFAULT_STOP_WORDS);

function containerTagTags(tags: Record<string, string>): Tag[] {
  const out: Tag[] = [];
  const stop = STOP_WORDS;
  for (const [rawKey, value] of Object.entries(tags)) {
    const key = rawKey.toLowerCase();
    if (!value || typeof value !== 'string') continue;
    if (KEYWORD_KEYS.includes(key)) {
      for (const k of splitList(value)) {
        const name = normalizeTag(k);
        if (name) out.push({ name, source: 'metadata', confidence: KEYWORD_CONFIDENCE, rule: `container:${key}` });
      }
    } else if (PERSON_KEYS.includes(key)) {
      for (const k of splitList(value)) {
        const name = normalizeTag(k, { keepPlural: true });
        if (name) out.push({ name, source: 'metadata', confidence: PERSON_CONFIDENCE, rule: `container:${key}` });
      }
    } else if (PROSE_KEYS.includes(key)) {
      for (const w of splitWords(value)) {
        if (w.length < 3 || /\d/.test(w) || stop.has(w)) continue;
        out.push({ name: normalizeTag(w), source: 'metadata', confidence: PROSE_CONFIDENCE, rule: `container:${key}` });
      }
    }
  }
  return out;
}

/** yt-dlp's tags and categories, wherever the source kept them (source fields or extra.ytdlp). */
function ytdlpTags(video: Video): Tag[] {
  const out: Tag[] = [];
  const bags: unknown[] = [video.source, video.extra?.['ytdlp'], video.extra?.['yt-dlp']];
  for (const bag of bags) {
    if (!bag || typeof bag !== 'object') continue;
    const b = bag as Record<string, unknown>;
    for (const [field, confidence] of [['tags', 0.7], ['categories', 0.8]] as const) {
      const list = b[field];
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        if (typeof item !== 'string') continue;
        const name = normalizeTag(item);
        if (name) out.push({ name, source: 'metadata', confidence, rule: `ytdlp:${field}` });
      }
    }
  }
  return out;
}

/** Tags from technical metadata, container tags and yt-dlp's tags/categories. */
export function metadataTags(video: Video): Tag[] {
  const out: Tag[] = [];
  if (video.metadata) {
    out.push(...technicalTags(video.metadata));
    out.push(...containerTagTags(video.metadata.containerTags ?? {}));
  }
  out.push(...ytdlpTags(video));
  return out;
}

export function createMetadataTagger(): Tagger {
  return { name: 'metadata', tag: (video: Video, _ctx: TaggerContext) => metadataTags(video) };
}
