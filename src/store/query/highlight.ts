import type { Video } from '../../core/index.js';
import type { TextTerm } from './query-plan.js';
import { UNSPACED_CLASS } from '../../core/unspaced-scripts.js';
import { normalizeText } from './text.js';

/** A word, or one character (with its marks) of a script written without spaces, as the tokenizer splits them. */
const WORD = new RegExp(`[${UNSPACED_CLASS}]\\p{M}*|(?:(?![${UNSPACED_CLASS}])[\\p{L}\\p{N}\\p{M}])+`, 'gu');
export const SNIPPET_CHARS = 160;

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The query's words, prefixes and phrases (a phrase's words in order, as its tokens are indexed). */
function matchers(terms: TextTerm[]): { exact: Set<string>; prefixes: string[]; phrases: string[][] } {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const phrases: string[][] = [];
  for (const t of terms) {
    if (t.prefix) prefixes.push(t.value);
    else if (t.value.includes(' ')) phrases.push(t.value.split(' '));
    else exact.add(t.value);
  }
  return { exact, prefixes, phrases };
}

/** A snippet cut in pieces: the words and phrases the query matched (`match`), and the text between them. */
export type SnippetPart = { text: string; match: boolean };

/**
 * A snippet of the record's description (else title, else file name) around the first matching word, with
 * every matching word and phrase in it marked `[like this]` (a phrase only where its words follow each other).
 * Computed the same way for every store. Undefined when no term matches those texts (e.g. a tag-only match).
 */
export function highlight(video: Video, terms: TextTerm[], width = SNIPPET_CHARS): string | undefined {
  return highlightParts(video, terms, width)?.map((p) => (p.match ? `[${p.text}]` : p.text)).join('');
}

/**
 * `highlight` in pieces, for a page that marks the matches itself: a bracket of the text (a title "[4K] Beach")
 * cannot be told from a mark in the bracketed string.
 */
export function highlightParts(video: Video, terms: TextTerm[], width = SNIPPET_CHARS): SnippetPart[] | undefined {
  if (terms.length === 0) return undefined;
  const { exact, prefixes, phrases } = matchers(terms);
  const longest = Math.max(1, ...phrases.map((p) => p.length));
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
    const words = hay.matchAll(WORD);
    const toks: Array<{ token: string; start: number; end: number }> = [];
    let done = false;
    // the tokens up to `n`, read as they are needed: a phrase looks ahead of the word it starts at
    const readTo = (n: number): void => {
      while (!done && toks.length <= n) {
        const m = words.next();
        if (m.done) done = true;
        else toks.push({ token: normalizeText(m.value[0]), start: m.value.index, end: m.value.index + m.value[0].length });
      }
    };
    const hits: Array<[number, number]> = [];
    const mark = (a: number, b: number): void => {
      // a phrase, or the characters of a word written without spaces (each a token): one mark around the whole
      const last = hits.at(-1);
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else hits.push([a, b]);
    };
    for (let i = 0; ; i++) {
      readTo(i + longest - 1);
      const tok = toks[i];
      if (!tok || (hits.length > 0 && tok.start > hits[0]![0] + width)) break;
      if (exact.has(tok.token) || prefixes.some((p) => tok.token.startsWith(p))) mark(tok.start, tok.end);
      for (const p of phrases) {
        if (p.every((w, k) => toks[i + k]?.token === w)) mark(tok.start, toks[i + p.length - 1]!.end);
      }
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
    const parts: SnippetPart[] = [];
    let at = start;
    for (const [a, b] of hits) {
      if (a < start || b > end) continue;
      parts.push({ text: hay.slice(at, a), match: false }, { text: hay.slice(a, b), match: true });
      at = b;
    }
    parts.push({ text: hay.slice(at, end), match: false });
    // runs of white space (line breaks) are one space, and the snippet has none at either end
    for (const p of parts) p.text = p.text.replace(/\s+/g, ' ');
    parts[0]!.text = parts[0]!.text.trimStart();
    parts.at(-1)!.text = parts.at(-1)!.text.trimEnd();
    if (start > 0) parts.unshift({ text: '…', match: false });
    if (end < text.length) parts.push({ text: '…', match: false });
    return parts.filter((p) => p.text !== '');
  }
  return undefined;
}
