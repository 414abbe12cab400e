import type { Video } from '../core/index.js';
import { RuleSubject, type CompiledRule, type RuleSet } from './tag-rules.js';

/**
 * Which records a rule edit can change, told without re-tagging them.
 *
 * Rules run as a fold over the sorted list, and a rule whose condition is false does nothing. Split two rule
 * sets into the rules both hold unchanged (same text) and the changed ones (only in one set). When the unchanged
 * rules run in the same relative order in both, and every changed rule's condition reads only the record (not
 * the tags or categories earlier rules left), then on a record where the changed rules that fire are the same
 * actions at the same places among the unchanged ones, the two folds are the same step for step: the unchanged
 * rules see the same state and do the same, and the changed ones that act, act alike. Such a record's tags and
 * categories under the new rules are exactly those under the old ones, so retag need not recompute it.
 *
 * Conditions that read the state (`tag`, `tags`, `category`, and `tagCount`, the tags so far) make the answer depend
 * on the fold: a changed rule with the first three, or any rule with `tagCount`, gives no plan, and every record is
 * recomputed as before.
 */
export interface RuleEditPlan {
  /** Changed rules (in either set), whose conditions are all a record needs evaluated. */
  readonly changed: number;
  /** True when the record's tags and categories cannot differ between the two rule sets. */
  unaffected(video: Video): boolean;
}

interface Placed {
  rule: CompiledRule;
  /** How many unchanged rules run before it. */
  gap: number;
  /** What the rule does when it fires: its name (tags record it), actions and confidence. */
  action: string;
}

const STATE_WORDS = /"(tag|tags|category)"\s*:/;

/** Whether a condition (as written) may read the tags or categories that earlier rules left. */
function readsState(rule: CompiledRule): boolean {
  const when = (JSON.parse(rule.source) as { when?: unknown }).when;
  return STATE_WORDS.test(JSON.stringify(when ?? null));
}

const actionOf = (r: CompiledRule) => JSON.stringify([r.name, r.add, r.remove, r.categories, r.removeCategories, r.confidence]);

function place(rules: readonly CompiledRule[], common: ReadonlySet<string>): Placed[] {
  const out: Placed[] = [];
  let gap = 0;
  for (const rule of rules) {
    if (common.has(rule.source)) gap++;
    else out.push({ rule, gap, action: actionOf(rule) });
  }
  return out;
}

/**
 * The plan for going from `before` to `after`, or null when records must all be recomputed: the unchanged rules
 * run in another order, a changed rule reads the tagging state, or a rule reads `tagCount`.
 */
export function planRuleEdit(before: RuleSet, after: RuleSet): RuleEditPlan | null {
  if ([...before.rules, ...after.rules].some((r) => r.source.includes('tagCount'))) return null;
  const inBefore = new Set(before.rules.map((r) => r.source));
  const common = new Set(after.rules.map((r) => r.source).filter((s) => inBefore.has(s)));
  const order = (rs: RuleSet) => rs.rules.filter((r) => common.has(r.source)).map((r) => r.source);
  const a = order(before);
  const b = order(after);
  if (a.length !== b.length || a.some((s, i) => s !== b[i])) return null;
  const old = place(before.rules, common);
  const now = place(after.rules, common);
  if ([...old, ...now].some((p) => readsState(p.rule))) return null;
  return {
    changed: old.length + now.length,
    unaffected(video) {
      if (old.length === 0 && now.length === 0) return true;
      const subject = new RuleSubject(video, [], []);
      // the changed rules that fire, in order, from each set; equal lists leave the fold as it was
      let i = 0;
      let j = 0;
      for (;;) {
        while (i < old.length && !old[i]!.rule.when(subject)) i++;
        while (j < now.length && !now[j]!.rule.when(subject)) j++;
        if (i === old.length || j === now.length) return i === old.length && j === now.length;
        if (old[i]!.gap !== now[j]!.gap || old[i]!.action !== now[j]!.action) return false;
        i++;
        j++;
      }
    },
  };
}
