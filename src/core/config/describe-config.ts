import type { ConfigKey } from './config-key.js';
import { envName, type LoadedConfig } from './load-config.js';
import { CONFIG_SPEC } from './sections/index.js';

export interface ConfigRow {
  section: string;
  key: string;
  value: string;
  source: string;
  env: string;
  doc: string;
}

/** Masks a secret: a URL keeps its shape with the password starred; anything else becomes ***. */
export function maskSecret(value: string): string {
  if (!value) return '';
  try {
    const u = new URL(value);
    if (u.password) {
      u.password = '***';
      return u.toString();
    }
    if (u.protocol && value.includes('://')) return value;
  } catch {
    // not a URL: mask whole
  }
  return '***';
}

function show(v: unknown): string {
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** Rows for `videodex config`: every key, its effective value (secrets masked) and where it came from. */
export function describeConfig(loaded: LoadedConfig): ConfigRow[] {
  const rows: ConfigRow[] = [];
  for (const [section, keys] of Object.entries(CONFIG_SPEC)) {
    for (const [key, spec] of Object.entries(keys as Record<string, ConfigKey>)) {
      const raw = (loaded.config as unknown as Record<string, Record<string, unknown>>)[section]![key];
      const value = spec.secret ? maskSecret(show(raw)) : show(raw);
      rows.push({ section, key, value, source: loaded.sources[`${section}.${key}`] ?? 'default', env: envName(section, key), doc: spec.doc });
    }
  }
  return rows;
}

/** Every secret value in the config, so logs and errors can scrub them wherever they appear. */
export function secretValues(loaded: LoadedConfig): string[] {
  const out: string[] = [];
  for (const [section, keys] of Object.entries(CONFIG_SPEC)) {
    for (const [key, spec] of Object.entries(keys as Record<string, ConfigKey>)) {
      if (!spec.secret) continue;
      const raw = String((loaded.config as unknown as Record<string, Record<string, unknown>>)[section]![key] ?? '');
      if (!raw) continue;
      try {
        const u = new URL(raw);
        if (u.password) out.push(decodeURIComponent(u.password), u.password);
        else if (!raw.includes('://')) out.push(raw);
      } catch {
        out.push(raw);
      }
    }
  }
  return [...new Set(out.filter((s) => s.length >= 4))];
}
