import type { Video } from '../../core/index.js';
import type { TextTerm } from './query-plan.js';
import { normalizeText } from './text.js';

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
export const SNIPPET_CHARS = 160;

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

function wordMatcher(terms: TextTerm[]): (token: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const t of terms) {
    if (t.prefix) prefixes.push(t.value);
    else for (const w of t.value.split(' ')) exact.add(w);
  }
  return (token) => exact.has(token) || prefixes.some((p) => token.startsWith(p));
}

/**
 * A snippet of the record's description (else title, else file name) around the first matching word, with
 * every matching word in it marked `[like this]`. Computed the same way for every store. Undefined when no
 * term matches those texts (e.g. a tag-only match).
 */
export function highlight(video: Video, terms: TextTerm[], width = SNIPPET_CHARS): string | undefined {
  if (terms.length === 0) return undefined;
  const isMatch = wordMatcher(terms);
  const texts = [
    video.ai?.description,
    ...video.scenes.map((s) => s.description),
    video.source.description,
    video.source.title,
    video.file.path.split(/[\\/]/).pop(),
  ];
  for (const text of texts) {
    if (!text) continue;
    // Only look at a bounded prefix of very long texts: a snippet is for people, not for recall.
    const hay = text.length > 200_000 ? text.slice(0, 200_000) : text;
    const hits: Array<[number, number]> = [];
    for (const m of hay.matchAll(WORD)) {
      const token = normalizeText(m[0]);
      if (isMatch(token)) hits.push([m.index, m.index + m[0].length]);
      if (hits.length > 0 && m.index > hits[0]![0] + width) break;
    }
    if (hits.length === 0) continue;
    const first = hits[0]![0];
    let start = Math.max(0, first - Math.floor(width / 3));
    let end = Math.min(hay.length, start + width);
    if (start > 0) {
      const sp = hay.indexOf(' ', start);
      if (sp >= 0 && sp < first) start = sp + 1;
    }
    if (end < hay.length) {
      const sp = hay.lastIndexOf(' ', end);
      if (sp > first) end = sp;
    }
    // a cut between the halves of an emoji (or any character past U+FFFF) left half of it in the snippet: not a
    // character, so JSON carried "\ude00" and pages and terminals showed U+FFFD
    if (start > 0 && isLow(hay.charCodeAt(start)) && isHigh(hay.charCodeAt(start - 1))) start++;
    if (end < hay.length && isLow(hay.charCodeAt(end)) && isHigh(hay.charCodeAt(end - 1))) end--;
    let out = '';
    let at = start;
    for (const [a, b] of hits) {
      if (a < start || b > end) continue;
      out += hay.slice(at, a) + '[' + hay.slice(a, b) + ']';
      at = b;
    }
    out += hay.slice(at, end);
    out = out.replace(/\s+/g, ' ').trim();
    return (start > 0 ? '…' : '') + out + (end < text.length ? '…' : '');
  }
  return undefined;
}
