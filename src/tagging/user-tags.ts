import { AppError, USER_TAGS_KEY, type Tag, type Video } from '../core/index.js';
import { normalizeTag } from './words.js';

/**
 * A person's own edits of a record's tags (`videodex tag`): names they added and names they took away. Tagging is
 * recomputed from scratch on every run, so a tag a person removed came back with the next `retag` or `process`, and
 * one they added by hand was kept only as someone else's (with no way to take a computed one away). The edits are
 * kept on the record and applied last on every run: an added name is a tag (source `user`, which rules see like
 * any other), a removed one is never given, whatever a tagger, the model or a rule says.
 */
export { USER_TAGS_KEY };

export interface UserTagEdits {
  add: string[];
  remove: string[];
}

/** A tag name as a person typed it, named as tagging names tags (plurals kept: it is their word). */
export function userTagName(raw: string): string {
  return normalizeTag(raw, { keepPlural: true });
}

/** A name both added and removed in one edit (as typed: each is named as tags are first), if any. */
export function addedAndRemoved(add: readonly string[] = [], remove: readonly string[] = []): string | undefined {
  const removed = new Set(remove.map(userTagName));
  return add.map(userTagName).find((n) => removed.has(n));
}

/** The record's edits, when it has any. */
export function userTagEdits(video: Pick<Video, 'extra'>): UserTagEdits | null {
  const e = video.extra?.[USER_TAGS_KEY] as Partial<UserTagEdits> | undefined;
  if (!e || typeof e !== 'object') return null;
  const names = (xs: unknown) => (Array.isArray(xs) ? xs.filter((x): x is string => typeof x === 'string' && x !== '') : []);
  const add = names(e.add);
  const remove = names(e.remove);
  return add.length || remove.length ? { add, remove } : null;
}

/**
 * The record with these edits made on top of its earlier ones: a name added is no longer removed and the other way
 * round; `clear` forgets the earlier edits first. Names that normalise to nothing are refused (one line naming them).
 */
export function editUserTags(video: Video, edit: { add?: readonly string[]; remove?: readonly string[]; clear?: boolean }): Video {
  const named = (xs: readonly string[] = []) =>
    xs.map((raw) => {
      const name = userTagName(raw);
      if (!name) throw new AppError('E_BAD_TAG', `${JSON.stringify(raw)} is no tag name: it needs a letter or a digit`);
      return name;
    });
  const add = named(edit.add);
  const remove = named(edit.remove);
  const both = addedAndRemoved(add, remove);
  if (both) throw new AppError('E_BAD_TAG', `${both}: both added and removed`);
  const was = edit.clear ? { add: [], remove: [] } : (userTagEdits(video) ?? { add: [], remove: [] });
  const next: UserTagEdits = {
    add: [...was.add.filter((n) => !remove.includes(n) && !add.includes(n)), ...add],
    remove: [...was.remove.filter((n) => !add.includes(n) && !remove.includes(n)), ...remove],
  };
  const { [USER_TAGS_KEY]: _old, ...others } = video.extra ?? {};
  const extra = next.add.length || next.remove.length ? { ...others, [USER_TAGS_KEY]: next } : others;
  return { ...video, extra };
}

/** The tags a person added, as evidence tagging starts from (the rules see them). */
export function userAddedTags(edits: UserTagEdits | null): Tag[] {
  return edits ? edits.add.map((name) => ({ name, source: 'user', confidence: 1, rule: 'user' })) : [];
}

/**
 * Tagging's result with the edits made final: the removed names taken out, and the added ones put back where a
 * rule removed them.
 */
export function withUserEdits(tags: Tag[], edits: UserTagEdits | null): Tag[] {
  if (!edits) return tags;
  const removed = new Set(edits.remove);
  const out = tags.filter((t) => !removed.has(t.name));
  const have = new Set(out.map((t) => t.name));
  for (const t of userAddedTags(edits)) if (!have.has(t.name)) out.push(t);
  return out;
}
