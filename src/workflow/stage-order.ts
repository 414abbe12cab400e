import type { Stage } from './stage.js';

/** The stages in dependency order, keeping registration order where dependencies allow. */
export function orderStages(stages: readonly Stage[], external: readonly string[] = ['acquire']): Stage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  if (byName.size !== stages.length) throw new Error('two stages share a name');
  const ordered: Stage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: Stage, trail: string[]) => {
    const st = state.get(s.name);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`stage dependency cycle: ${[...trail, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const need of s.needs) {
      if (external.includes(need)) continue;
      const dep = byName.get(need);
      if (!dep) throw new Error(`stage ${s.name} needs ${need}, which is not registered`);
      visit(dep, [...trail, s.name]);
    }
    state.set(s.name, 'done');
    ordered.push(s);
  };
  for (const s of stages) visit(s, []);
  return ordered;
}

/** Names of the stages that depend on `name`, directly or not. */
export function dependents(stages: readonly Stage[], name: string): Set<string> {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stages) {
      if (out.has(s.name)) continue;
      if (s.needs.some((n) => n === name || out.has(n))) {
        out.add(s.name);
        grew = true;
      }
    }
  }
  return out;
}
