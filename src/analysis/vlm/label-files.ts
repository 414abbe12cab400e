import { readFileSync, statSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from '../../core/index.js';

const cache = new Map<string, { mtimeMs: number; names: string[] }>();

function cached(kind: string, file: string, read: (text: string) => string[]): string[] {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  const hit = cache.get(`${kind}:${file}`);
  if (hit && hit.mtimeMs === mtimeMs) return hit.names;
  const names = read(readFileSync(file, 'utf8'));
  cache.set(`${kind}:${file}`, { mtimeMs, names });
  return names;
}

/**
 * Category names of a taxonomy file (YAML or JSON), for {{taxonomy}}. Tolerant of the common shapes:
 * a list of names, a list of {name}, a {categories: ...} wrapper, or a map whose keys are the names;
 * nested `children`/`subcategories` are included.
 */
export function taxonomyNames(file: string): string[] {
  if (!file) return [];
  return cached('taxonomy', file, (text) => {
    let doc: unknown;
    try {
      doc = YAML.parse(text);
    } catch (err) {
      throw new ConfigError(`${file}: not YAML or JSON: ${(err as Error).message}`, { cause: err });
    }
    const out: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) {
          if (typeof item === 'string') out.push(item);
          else if (item && typeof item === 'object') {
            const o = item as Record<string, unknown>;
            if (typeof o.name === 'string') out.push(o.name);
            walk(o.children ?? o.subcategories ?? o.categories);
          }
        }
      } else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if ('categories' in o) return walk(o.categories);
        for (const [k, v] of Object.entries(o)) {
          out.push(k);
          if (v && typeof v === 'object') walk(Array.isArray(v) ? v : ((v as Record<string, unknown>).children ?? (v as Record<string, unknown>).subcategories));
        }
      }
    };
    walk(doc);
    return [...new Set(out.map((s) => s.trim()).filter(Boolean))];
  });
}

/** Action labels, one a line (blank lines and # comments skipped), for {{actionLabels}}. */
export function actionLabels(file: string): string[] {
  if (!file) return [];
  return cached('actions', file, (text) => [
    ...new Set(
      text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    ),
  ]);
}
