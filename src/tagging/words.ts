/**
 * Word handling shared by the taggers and the taxonomy mapper: splitting names into words, tag-name
 * normalisation (case, separators, plurals) and a light stemmer for similarity.
 */
import { remembered } from '../core/remembered.js';

/** Distinct words and names each function below remembers. */
const WORDS_REMEMBERED = 50_000;

/** Words never worth a tag on their own. Extended by `[Tagging] StopWords`. */
export const DEFAULT_STOP_WORDS: readonly string[] = [
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'for', 'from', 'in', 'into', 'is', 'it', 'of', 'on', 'or',
  'the', 'to', 'with', 'without', 'vs', 'via', 'this', 'that', 'my', 'our', 'your', 'his', 'her', 'their',
  // words of paths and file names that say nothing about the content
  'video', 'videos', 'vid', 'clip', 'clips', 'movie', 'movies', 'file', 'files', 'final', 'copy', 'new', 'old',
  'tmp', 'temp', 'home', 'users', 'user', 'downloads', 'download', 'desktop', 'documents', 'media', 'mnt', 'var',
  'data', 'untitled', 'img', 'mov', 'mp4', 'mkv', 'webm', 'avi', 'm4v', 'ts', 'flv', 'wmv', 'part', 'edit', 'export',
  'raw', 'dcim', 'camera', 'private', 'volumes', 'storage', 'www', 'http', 'https', 'com', 'org', 'net',
];

/** Words ending in s that are not plurals (or whose plural form is their own). */
const NOT_PLURAL = new Set([
  'news', 'series', 'species', 'physics', 'mathematics', 'athletics', 'gymnastics', 'aerobics', 'electronics',
  'politics', 'economics', 'glass', 'grass', 'class', 'bass', 'boss', 'chess', 'dress', 'press', 'cross', 'moss',
  'bus', 'gas', 'lens', 'chaos', 'tennis', 'bonus', 'campus', 'virus', 'cactus', 'octopus', 'focus', 'status',
  'canvas', 'christmas', 'texas', 'paris', 'analysis', 'basis', 'crisis', 'thesis', 'axis', 'us', 'is', 'this',
  'yes', 'its', 'has', 'was', 'kudos', 'billiards', 'darts', 'pants', 'shorts', 'jeans', 'scissors', 'clothes',
  'sunglasses', 'goggles', 'skis', 'sports', 'always', 'cutlass', 'compass', 'fitness', 'business', 'process',
  // eyewear, like sunglasses and goggles (a model's "glasses" is the pair on a face far more often than tumblers)
  'glasses',
]);

/** Nouns ending in -ie, whose plural is -ies (`movies` is not `movy`). */
const IE_NOUNS = new Set([
  'movie', 'cookie', 'selfie', 'zombie', 'smoothie', 'brownie', 'hoodie', 'rookie', 'calorie', 'goalie', 'genie',
  'hippie', 'prairie', 'sweetie', 'veggie', 'pixie', 'budgie', 'birdie', 'auntie', 'boogie', 'freebie', 'newbie',
  'yuppie', 'groupie', 'techie', 'foodie', 'indie', 'junkie', 'cutie', 'bootie', 'collie', 'lingerie',
]);

const IRREGULAR_PLURALS: Record<string, string> = {
  people: 'person', children: 'child', men: 'man', women: 'woman', feet: 'foot', teeth: 'tooth', mice: 'mouse',
  geese: 'goose', oxen: 'ox', dice: 'die', leaves: 'leaf', knives: 'knife', wives: 'wife', lives: 'life',
  wolves: 'wolf', shelves: 'shelf', halves: 'half', calves: 'calf', loaves: 'loaf', thieves: 'thief',
  heroes: 'hero', potatoes: 'potato', tomatoes: 'tomato', echoes: 'echo', fish: 'fish', sheep: 'sheep',
  deer: 'deer', cacti: 'cactus', criteria: 'criterion', phenomena: 'phenomenon',
};

/** The singular of an English noun, conservatively: unknown shapes are returned unchanged. */
export const singular: (word: string) => string = remembered((word) => singularOf(word), WORDS_REMEMBERED);

function singularOf(word: string): string {
  const w = word.toLowerCase();
  if (w.length <= 3 || NOT_PLURAL.has(w)) return w;
  const irregular = IRREGULAR_PLURALS[w];
  if (irregular) return irregular;
  // buses, gases, lenses, viruses: the plural of a word that ends in s itself
  if (w.endsWith('es') && NOT_PLURAL.has(w.slice(0, -2))) return w.slice(0, -2);
  if (w.endsWith('ies') && IE_NOUNS.has(w.slice(0, -1))) return w.slice(0, -1);
  if (/(ss|us|is|ous)$/.test(w)) return w;
  if (/[^aeiou]ies$/.test(w)) return w.slice(0, -3) + 'y';
  if (/(ches|shes|xes|zzes|sses)$/.test(w)) return w.slice(0, -2);
  if (/oes$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

/**
 * A crude stem for similarity only (never shown): singular, then -ing/-ed/-er dropped with the doubled
 * consonant undone, so "running", "runs" and "run" meet.
 */
export const stem: (word: string) => string = remembered((word) => stemOf(word), WORDS_REMEMBERED);

function stemOf(word: string): string {
  let w = singular(word);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 5 && w.endsWith('er')) w = w.slice(0, -2);
  if (w.length > 3 && /([bdfglmnprt])\1$/.test(w)) w = w.slice(0, -1);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/**
 * Splits a name into lower-case words: separators (space, _ - . + , etc.), camelCase and letter/digit
 * boundaries. Keeps non-ASCII letters.
 */
export function splitWords(text: string): string[] {
  // ASCII (nearly every file name): one pass over the characters, several times faster than \p{...} regexes
  if (/^[\x00-\x7f]*$/.test(text)) return splitAscii(text);
  const spaced = text
    .normalize('NFKC')
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .replace(/(\p{L})(\p{N})/gu, '$1 $2')
    .replace(/(\p{N})(\p{L})/gu, '$1 $2');
  return spaced
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;

function charClass(c: number): number {
  if (c >= 97 && c <= 122) return LOWER;
  if (c >= 65 && c <= 90) return UPPER;
  if (c >= 48 && c <= 57) return DIGIT;
  return 0;
}

/** splitWords for ASCII text: breaks at separators, lower→Upper, UPPER→Upper+lower, letter↔digit. */
function splitAscii(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const cls = i < n ? charClass(text.charCodeAt(i)) : 0;
    if (cls === 0) {
      if (start >= 0) out.push(text.slice(start, i).toLowerCase());
      start = -1;
      continue;
    }
    if (start < 0) {
      start = i;
      continue;
    }
    const prev = charClass(text.charCodeAt(i - 1));
    const next = i + 1 < n ? charClass(text.charCodeAt(i + 1)) : 0;
    const boundary =
      (cls === UPPER && (prev === LOWER || prev === DIGIT)) ||
      (cls === UPPER && prev === UPPER && next === LOWER) ||
      (cls === DIGIT && prev !== DIGIT) ||
      (cls !== DIGIT && prev === DIGIT);
    if (boundary) {
      out.push(text.slice(start, i).toLowerCase());
      start = i;
    }
  }
  return out;
}

/**
 * A tag name: lower case, words joined by single hyphens, last word singular (unless `keepPlural`).
 * "Golden Retrievers" → "golden-retriever"; "has_audio" → "has-audio". Empty when nothing is left.
 */
export function normalizeTag(raw: string, options: { keepPlural?: boolean } = {}): string {
  return options.keepPlural ? tagNameKeepingPlural(raw) : tagName(raw);
}

function tagNameOf(raw: string, keepPlural: boolean): string {
  const words = raw
    .normalize('NFKC')
    .toLowerCase()
    .trim()
    // marks stay in their word: lower-casing İ gives i and a combining dot, which split off made `i-stanbul`
    .split(/[^\p{L}\p{M}\p{N}:+#.]+/u)
    .map((w) => w.replace(/^[.:]+|[.:]+$/g, ''))
    .filter(Boolean);
  if (words.length === 0) return '';
  if (!keepPlural) {
    const last = words.length - 1;
    words[last] = singular(words[last]!);
  }
  return words.join('-');
}

/** Tag names repeat across a library; normalising them is remembered. */
const tagName = remembered((raw) => tagNameOf(raw, false), WORDS_REMEMBERED);
const tagNameKeepingPlural = remembered((raw) => tagNameOf(raw, true), WORDS_REMEMBERED);

/** Word tokens for similarity: split, stop words dropped, stemmed. */
export function similarityTokens(text: string, stopWords: ReadonlySet<string> = SIMILARITY_STOP_WORDS): string[] {
  return splitWords(text.replace(/-/g, ' '))
    .filter((w) => !stopWords.has(w))
    .map(stem);
}

const SIMILARITY_STOP_WORDS = new Set(['a', 'an', 'the', 'of', 'and', 'or', 'to', 'in', 'on', 'at', 'with', 'for', 'by', 'some', 'someone', 'person', 'people', 'video', 'scene']);

/** Dice coefficient over character bigrams of two words, 0..1. */
export function bigramSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const grams = new Map<string, number>();
  for (let i = 0; i < a.length - 1; i++) {
    const g = a.slice(i, i + 2);
    grams.set(g, (grams.get(g) ?? 0) + 1);
  }
  let shared = 0;
  for (let i = 0; i < b.length - 1; i++) {
    const g = b.slice(i, i + 2);
    const n = grams.get(g) ?? 0;
    if (n > 0) {
      shared++;
      grams.set(g, n - 1);
    }
  }
  return (2 * shared) / (a.length - 1 + b.length - 1);
}

/**
 * Token similarity of two labels, 0..1: each token of the shorter side is paired with its most similar
 * unused token on the other (bigram Dice, counted only from 0.75 up), and the sum is scaled like Dice.
 * "plays the guitar" vs "playing guitar" → 1; "dog" vs "cat" → 0.
 */
export function tokenSimilarity(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const used = new Array<boolean>(long.length).fill(false);
  let sum = 0;
  for (const t of short) {
    let best = 0;
    let bestJ = -1;
    for (let j = 0; j < long.length; j++) {
      if (used[j]) continue;
      const s = bigramSimilarity(t, long[j]!);
      if (s > best) {
        best = s;
        bestJ = j;
      }
    }
    if (bestJ >= 0 && best >= 0.75) {
      used[bestJ] = true;
      sum += best;
    }
  }
  return (2 * sum) / (a.length + b.length);
}
