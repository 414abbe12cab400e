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

/** Query parameters that carry credentials (`?password=`, `?api-key=`, `?sig=`, `?access_token=`...). */
const SECRET_PARAM = /pass|pwd|secret|token|key|sig|auth|credential/i;

/** A URL part decoded; as written when it is not valid percent-encoding (`%zz` stays in a URL as it is). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * A URL's credentials: its password (as written and decoded), `user:password` (what a Basic authorization
 * encodes) and the values of credential-like query parameters. `redact` looks for their encoded forms too.
 */
export function urlSecrets(value: string): string[] {
  if (!value.includes('://')) return [];
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (u.password) {
    const password = decoded(u.password);
    out.push(u.password, password, `${decoded(u.username)}:${password}`);
  }
  for (const [name, v] of u.searchParams) if (SECRET_PARAM.test(name) && v) out.push(v);
  return [...new Set(out)];
}

/** Masks a secret: a URL keeps its shape with its password and credential parameters starred; anything else becomes ***. */
export function maskSecret(value: string): string {
  if (!value) return '';
  if (value.includes('://')) {
    try {
      const u = new URL(value);
      let masked = false;
      if (u.password) {
        u.password = '***';
        masked = true;
      }
      for (const name of [...u.searchParams.keys()]) {
        if (!SECRET_PARAM.test(name)) continue;
        u.searchParams.set(name, '***');
        masked = true;
      }
      // a URL with nothing secret in it is shown as written (serialising it again could re-encode it)
      return masked ? u.toString() : value;
    } catch {
      // not a URL: mask whole
    }
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
      // an endpoint is not a secret, but a password or key written into its URL is
      const value = spec.secret || urlSecrets(show(raw)).length > 0 ? maskSecret(show(raw)) : show(raw);
      rows.push({ section, key, value, source: loaded.sources[`${section}.${key}`] ?? 'default', env: envName(section, key), doc: spec.doc });
    }
  }
  return rows;
}

/**
 * Every secret value in the config, so logs and errors can scrub them wherever they appear: the secret keys'
 * values, and the credentials written into any URL (a database URL's password, an endpoint's `user:pass@` or
 * `?api-key=`), which reach error messages when a connection fails.
 */
export function secretValues(loaded: LoadedConfig): string[] {
  const out: string[] = [];
  for (const [section, keys] of Object.entries(CONFIG_SPEC)) {
    for (const [key, spec] of Object.entries(keys as Record<string, ConfigKey>)) {
      const raw = show((loaded.config as unknown as Record<string, Record<string, unknown>>)[section]![key] ?? '');
      if (!raw) continue;
      const inUrl = urlSecrets(raw);
      out.push(...inUrl);
      if (spec.secret && inUrl.length === 0 && !raw.includes('://')) out.push(raw);
    }
  }
  return [...new Set(out.filter((s) => s.length >= 4))];
}
