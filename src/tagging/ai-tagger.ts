import type { Tag, Video } from '../core/index.js';
import type { Tagger, TaggerContext } from './tagger.js';
import { normalizeTag } from './words.js';

/** Built-in synonyms (variant → preferred), extended by the taxonomy file's `synonyms` table. */
export const BUILTIN_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  car: ['automobile', 'auto', 'motorcar'],
  airplane: ['aeroplane', 'plane', 'aircraft', 'jet-plane'],
  motorcycle: ['motorbike'],
  bicycle: ['bike', 'push-bike'],
  child: ['kid', 'youngster'],
  television: ['tv'],
  smartphone: ['cellphone', 'cell-phone', 'mobile-phone'],
  cat: ['kitty', 'kitten-cat'],
  dog: ['doggy', 'doggo', 'hound'],
  beach: ['seashore', 'seaside'],
  gray: ['grey'],
  color: ['colour'],
  football: ['soccer'],
  outdoor: ['outdoors', 'outside'],
  indoor: ['indoors', 'inside'],
  'time-lapse': ['timelapse'],
  'slow-motion': ['slowmo', 'slow-mo'],
};

/** A lookup from normalised variant to preferred tag name. */
export type SynonymTable = ReadonlyMap<string, string>;

/** Builds the lookup from `{ preferred: [variants] }` tables; later tables win. */
export function buildSynonymTable(...tables: ReadonlyArray<Readonly<Record<string, readonly string[]>>>): SynonymTable {
  const map = new Map<string, string>();
  for (const table of tables) {
    for (const [preferred, variants] of Object.entries(table)) {
      const p = normalizeTag(preferred);
      if (!p) continue;
      for (const v of variants) {
        const n = normalizeTag(v);
        if (n && n !== p) map.set(n, p);
      }
    }
  }
  return map;
}

/** A model label as a tag name: case, separators, plural, then the synonym table. */
export function normalizeAiLabel(raw: string, synonyms: SynonymTable, options: { keepPlural?: boolean } = {}): string {
  const n = normalizeTag(raw, options);
  return synonyms.get(n) ?? n;
}

/** The model did not grade its own tags; its tags are strong hints, its actions a little weaker. */
export const AI_TAG_CONFIDENCE = 0.8;
export const AI_ACTION_CONFIDENCE = 0.7;

/** Tags and actions from the model's answer, normalised. Actions keep their -ing form ("running"). */
export function aiTags(video: Pick<Video, 'ai'>, synonyms: SynonymTable): Tag[] {
  const ai = video.ai;
  if (!ai) return [];
  const out: Tag[] = [];
  for (const t of ai.tags ?? []) {
    if (typeof t !== 'string') continue;
    const name = normalizeAiLabel(t, synonyms);
    if (name && name.length <= 64) out.push({ name, source: 'ai', confidence: AI_TAG_CONFIDENCE, rule: 'ai:tags' });
  }
  for (const a of ai.actions ?? []) {
    if (typeof a !== 'string') continue;
    const name = normalizeAiLabel(a, synonyms, { keepPlural: true });
    if (name && name.length <= 64) out.push({ name, source: 'ai', confidence: AI_ACTION_CONFIDENCE, rule: 'ai:actions' });
  }
  return out;
}

export function createAiTagger(synonyms: SynonymTable = buildSynonymTable(BUILTIN_SYNONYMS)): Tagger {
  return { name: 'ai', tag: (video: Video, _ctx: TaggerContext) => aiTags(video, synonyms) };
}
