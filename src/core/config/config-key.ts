import { z } from 'zod';

/**
 * One config key: its zod type (which also coerces the strings an INI file or environment gives), its default,
 * and its documentation. The sections under `sections/` are the single truth for config.ini, environment
 * variables, flags, `videodex config` and the README's key table.
 */
export interface ConfigKey<T = unknown> {
  readonly schema: z.ZodType<T>;
  readonly default: T;
  readonly doc: string;
  /** Masked in `videodex config`, logs and errors. */
  readonly secret?: boolean;
  /** Extra environment variables read for this key, after `VIDEODEX_<SECTION>_<KEY>`. */
  readonly envAliases?: readonly string[];
  /** What is allowed, for error messages ("an integer from 1 to 64"). */
  readonly allowed: string;
}

type Raw = string | number | boolean | string[] | undefined;

function trimmed(v: unknown): unknown {
  return typeof v === 'string' ? v.trim() : v;
}

export function int(def: number, range: { min?: number; max?: number }, doc: string): ConfigKey<number> {
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const allowed =
    range.max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const schema = z.preprocess(
    (v) => {
      const t = trimmed(v);
      return typeof t === 'string' && /^-?\d+$/.test(t) ? Number(t) : t;
    },
    z.number({ error: allowed }).int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed }),
  );
  return { schema: schema as z.ZodType<number>, default: def, doc, allowed };
}

export function num(def: number, range: { min?: number; max?: number }, doc: string): ConfigKey<number> {
  const min = range.min ?? -Number.MAX_VALUE;
  const max = range.max ?? Number.MAX_VALUE;
  const allowed =
    range.max === undefined ? `a number >= ${min}` : `a number from ${min} to ${max}`;
  const schema = z.preprocess(
    (v) => {
      const t = trimmed(v);
      // plain decimals only: Number() also takes "0x10", "1e2" and "  ", which no one means in a config file
      return typeof t === 'string' && /^[-+]?(\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : t;
    },
    z.number({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed }),
  );
  return { schema: schema as z.ZodType<number>, default: def, doc, allowed };
}

export function bool(def: boolean, doc: string): ConfigKey<boolean> {
  const allowed = 'true or false';
  const schema = z.preprocess((v) => {
    const t = trimmed(v);
    if (typeof t !== 'string') return t;
    const s = t.toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'off', '0'].includes(s)) return false;
    return t;
  }, z.boolean({ error: allowed }));
  return { schema: schema as z.ZodType<boolean>, default: def, doc, allowed };
}

export function str(def: string, doc: string, opts: { secret?: boolean; envAliases?: string[] } = {}): ConfigKey<string> {
  const allowed = 'a string';
  const schema = z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : trimmed(v)), z.string({ error: allowed }));
  return { schema: schema as z.ZodType<string>, default: def, doc, allowed, ...opts };
}

export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  def: T[number],
  doc: string,
): ConfigKey<T[number]> {
  const allowed = `one of ${values.join(', ')}`;
  const schema = z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(values, { error: allowed }));
  return { schema: schema as unknown as z.ZodType<T[number]>, default: def, doc, allowed };
}

/** A comma-separated list in INI and env; an array when given by code. */
export function list(def: string[], doc: string): ConfigKey<string[]> {
  const allowed = 'a comma-separated list';
  const schema = z.preprocess((v) => {
    if (Array.isArray(v)) return v.map((s) => String(s).trim()).filter(Boolean);
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
    return v;
  }, z.array(z.string()));
  return { schema: schema as z.ZodType<string[]>, default: def, doc, allowed };
}

/** A byte size: `0`, `500M`, `2G`, `1048576`. */
export function bytes(def: number, doc: string): ConfigKey<number> {
  const allowed = 'a size in bytes, optionally with K, M, G or T (0 = no limit)';
  const schema = z.preprocess((v) => {
    const t = trimmed(v);
    if (typeof t !== 'string') return t;
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(t);
    if (!m) return t;
    const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
    return Math.round(Number(m[1]) * mult);
  }, z.number({ error: allowed }).int().min(0, { error: allowed }));
  return { schema: schema as z.ZodType<number>, default: def, doc, allowed };
}

export type RawValue = Raw;
