import type { App } from '../app.js';
import { ConfigError } from '../core/index.js';

/** The stage names of --force (repeatable, comma-separated, spaces around names ignored), checked against the pipeline's. */
export async function forcedStages(app: App, flags: readonly string[] | undefined): Promise<string[]> {
  const force = (flags ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
  if (force.length === 0) return force;
  await app.loadPlugins();
  const known = new Set(['all', 'acquire', ...app.stages().map((s) => s.name)]);
  const unknown = force.filter((f) => !known.has(f));
  if (unknown.length) throw new ConfigError(`--force ${unknown.join(',')}: no such stage; stages: ${[...known].join(', ')}`);
  return force;
}
