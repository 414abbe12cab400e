import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { ConfigKey } from './config-key.js';
import { readIni } from './read-ini.js';
import { CONFIG_SPEC } from './sections/index.js';

type Spec = typeof CONFIG_SPEC;
type ValueOf<K> = K extends ConfigKey<infer T> ? T : never;
export type Config = { readonly [S in keyof Spec]: { readonly [K in keyof Spec[S]]: ValueOf<Spec[S][K]> } };
export type SectionName = keyof Spec;
export type ValueSource = 'default' | 'file' | 'env' | 'flag';

export interface LoadedConfig {
  readonly config: Config;
  /** Where each "Section.Key" came from. */
  readonly sources: Readonly<Record<string, ValueSource>>;
  /** The config file read, if any. */
  readonly file: string | null;
}

export interface LoadConfigOptions {
  /** Explicit file (--config); when absent VIDEODEX_CONFIG, then ./config.ini if it exists. */
  file?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Flag values keyed "Section.Key"; undefined entries are ignored. */
  overrides?: Readonly<Record<string, unknown>>;
  /** The flag that gave each override ("Section.Key" to `--scene-threshold`), so a bad value is said as typed. */
  flagNames?: Readonly<Record<string, string>>;
  cwd?: string;
}

const SECTIONS = Object.keys(CONFIG_SPEC) as SectionName[];

function keySpec(section: SectionName, key: string): ConfigKey | undefined {
  return (CONFIG_SPEC[section] as Record<string, ConfigKey>)[key];
}

function findCaseInsensitive<T extends string>(names: readonly T[], wanted: string): T | undefined {
  const lower = wanted.toLowerCase();
  return names.find((n) => n.toLowerCase() === lower);
}

function suggest(names: readonly string[], wanted: string): string {
  const w = wanted.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(n.toLowerCase(), w);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(w.length / 3)) ? ` (did you mean ${best}?)` : '';
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

function parseValue(where: string, section: SectionName, key: string, spec: ConfigKey, raw: unknown): unknown {
  const result = (spec.schema as z.ZodType).safeParse(raw);
  if (!result.success) {
    const shown = spec.secret ? '***' : JSON.stringify(raw);
    throw new ConfigError(`${where}: [${section}] ${key} = ${shown} is not allowed: expected ${spec.allowed}`);
  }
  return result.data;
}

/** `VIDEODEX_*` variables that are not settings: the config file, the launcher's mark, test and bench set-up. */
const NOT_SETTINGS = /^VIDEODEX_(CONFIG|NODE_RELAUNCHED)$|^VIDEODEX_(TEST|BENCH)_/;

/**
 * A `VIDEODEX_*` variable whose section videodex does not know (`VIDEODEX_DATABSE_PATH`) would be ignored, and
 * the run would go on with the default the user meant to replace: it stops the run, as an unknown key does.
 */
function checkEnvSections(env: NodeJS.ProcessEnv): void {
  const aliases = new Set(SECTIONS.flatMap((s) => Object.keys(CONFIG_SPEC[s]).flatMap((k) => keySpec(s, k)?.envAliases ?? [])));
  const prefixes = SECTIONS.map((s) => `VIDEODEX_${s.toUpperCase()}_`);
  for (const name of Object.keys(env)) {
    if (!name.startsWith('VIDEODEX_') || NOT_SETTINGS.test(name) || aliases.has(name) || prefixes.some((p) => name.startsWith(p))) continue;
    const known = SECTIONS.flatMap((s) => Object.keys(CONFIG_SPEC[s]).map((k) => envName(s, k)));
    throw new ConfigError(`environment: ${name} is not a setting videodex knows${suggest(known, name)}; settings are VIDEODEX_<SECTION>_<KEY>, sections: ${SECTIONS.join(', ')}`);
  }
}

/** The env var for a key: VIDEODEX_<SECTION>_<KEY>, upper case. */
export function envName(section: string, key: string): string {
  return `VIDEODEX_${section.toUpperCase()}_${key.toUpperCase()}`;
}

/**
 * Reads config.ini, then the environment, then flags, validating every value against the one schema.
 * Throws ConfigError naming file, section, key and what is allowed; nothing has run yet when it does.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const values: Record<string, Record<string, unknown>> = {};
  const sources: Record<string, ValueSource> = {};
  for (const s of SECTIONS) {
    values[s] = {};
    for (const [k, spec] of Object.entries(CONFIG_SPEC[s] as Record<string, ConfigKey>)) {
      values[s]![k] = spec.default;
      sources[`${s}.${k}`] = 'default';
    }
  }

  // an empty variable counts as unset, as every variable does; an empty --config (an unset "$CFG") is a mistake
  if (options.file === '') throw new ConfigError('--config names no file (an empty path)');
  const explicit = options.file ?? env.VIDEODEX_CONFIG;
  let file: string | null = null;
  if (explicit) {
    file = path.resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError(`${explicit}: config file not found`);
  } else if (existsSync(path.join(cwd, 'config.ini'))) {
    file = path.join(cwd, 'config.ini');
  }

  if (file) {
    let parsed: Record<string, unknown>;
    const relative = path.relative(cwd, file);
    const where = relative && !relative.startsWith('..') ? relative : file;
    try {
      const bytes = readFileSync(file);
      // Windows editors save "Unicode" as UTF-16, which read as UTF-8 is a line of noise in every message
      if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) throw new ConfigError(`${where}: the file is UTF-16; save it as UTF-8`);
      parsed = readIni(bytes.toString('utf8').replace(/^\uFEFF/, ''), where, (s, k) => {
        const section = findCaseInsensitive(SECTIONS, s);
        if (!section) return true; // the unknown section is the error, named alone
        const keys = Object.keys(CONFIG_SPEC[section]);
        return findCaseInsensitive(keys, k) !== undefined || suggest(keys, k) !== '';
      });
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${file}: cannot read config file: ${(err as Error).message}`, { cause: err });
    }
    for (const [rawSection, body] of Object.entries(parsed)) {
      const section = findCaseInsensitive(SECTIONS, rawSection);
      if (!section) {
        throw new ConfigError(
          `${where}: [${rawSection}] is not a section videodex knows${suggest(SECTIONS, rawSection)}; sections: ${SECTIONS.join(', ')}`,
        );
      }
      if (typeof body !== 'object' || body === null) {
        throw new ConfigError(`${where}: ${rawSection} = ... sits outside any section; put it under a [Section] header`);
      }
      const keys = Object.keys(CONFIG_SPEC[section]);
      for (const [rawKey, raw] of Object.entries(body as Record<string, unknown>)) {
        const key = findCaseInsensitive(keys, rawKey);
        if (!key) {
          throw new ConfigError(
            `${where}: [${section}] ${rawKey} is not a key videodex knows${suggest(keys, rawKey)}; keys: ${keys.join(', ')}`,
          );
        }
        values[section]![key] = parseValue(where, section, key, keySpec(section, key)!, raw);
        sources[`${section}.${key}`] = 'file';
      }
    }
  }

  checkEnvSections(env);
  for (const s of SECTIONS) {
    const keys = Object.keys(CONFIG_SPEC[s]);
    const prefix = `VIDEODEX_${s.toUpperCase()}_`;
    for (const name of Object.keys(env)) {
      if (name.startsWith(prefix) && !keys.some((k) => envName(s, k) === name)) {
        throw new ConfigError(`environment: ${name} is not a key videodex knows; keys of [${s}]: ${keys.join(', ')}`);
      }
    }
    for (const k of keys) {
      const spec = keySpec(s, k)!;
      for (const name of [envName(s, k), ...(spec.envAliases ?? [])]) {
        const raw = env[name];
        if (raw !== undefined && raw !== '') {
          values[s]![k] = parseValue(`environment ${name}`, s, k, spec, raw);
          sources[`${s}.${k}`] = 'env';
          break;
        }
      }
    }
  }

  for (const [dotted, raw] of Object.entries(options.overrides ?? {})) {
    if (raw === undefined) continue;
    const [s, k] = dotted.split('.') as [SectionName, string];
    const spec = keySpec(s, k);
    if (!spec) throw new Error(`internal: flag maps to unknown config key ${dotted}`);
    const flag = options.flagNames?.[dotted];
    if (flag) {
      const result = (spec.schema as z.ZodType).safeParse(raw);
      if (!result.success) throw new ConfigError(`${flag} ${spec.secret ? '***' : JSON.stringify(String(raw))} is not allowed: expected ${spec.allowed}, as for [${s}] ${k}`);
      values[s]![k] = result.data;
    } else values[s]![k] = parseValue('flag', s, k, spec, raw);
    sources[dotted] = 'flag';
  }

  // A path written in a config file is relative to that file's folder (`--config /srv/lib/config.ini` with
  // `DataDir = data` is /srv/lib/data wherever videodex runs, not a new empty library beside the caller); one from
  // a flag or the environment, or a default, to the working folder.
  const fileDir = file ? path.dirname(file) : cwd;
  deriveDefaults(values, cwd, (section, key) => (sources[`${section}.${key}`] === 'file' ? fileDir : cwd));
  const config = deepFreeze(values) as unknown as Config;
  return { config, sources: Object.freeze(sources), file };
}

/** The folder a key's relative path is relative to. */
type BaseOf = (section: SectionName, key: string) => string;

function deriveDefaults(values: Record<string, Record<string, unknown>>, cwd: string, baseOf: BaseOf): void {
  const paths = values.Paths!;
  // empty means the default, as it does for every other path (not the working folder, which would fill it)
  const dataDir = paths.DataDir ? path.resolve(baseOf('Paths', 'DataDir'), String(paths.DataDir)) : path.resolve(cwd, String(keySpec('Paths', 'DataDir')!.default));
  paths.DataDir = dataDir;
  const within = (section: SectionName, key: string, name: string) => {
    const v = values[section]![key];
    return v ? path.resolve(baseOf(section, key), String(v)) : path.join(dataDir, name);
  };
  paths.MediaDir = within('Paths', 'MediaDir', 'media');
  paths.CacheDir = within('Paths', 'CacheDir', 'cache');
  paths.KeyframesDir = within('Paths', 'KeyframesDir', 'keyframes');
  paths.TemplatesDir = within('Paths', 'TemplatesDir', 'templates');
  const db = values.Database!;
  db.Path = within('Database', 'Path', 'videodex.db');
  const log = values.Logging!;
  log.File = within('Logging', 'File', 'videodex.log');
  log.AuditFile = within('Logging', 'AuditFile', 'audit.jsonl');
  // Node's recursive mkdir never returns under procfs or sysfs (it loops on their ENOENT): say so instead of hanging
  const places: Array<[string, Record<string, unknown>, string]> = [
    ...(['DataDir', 'MediaDir', 'CacheDir', 'KeyframesDir', 'TemplatesDir'] as const).map((k): [string, Record<string, unknown>, string] => ['Paths', paths, k]),
    ['Database', db, 'Path'],
    ['Logging', log, 'File'],
    ['Logging', log, 'AuditFile'],
  ];
  for (const [section, v, key] of places) {
    const p = String(v[key]);
    const pseudo = /^\/(proc|sys)(\/|$)/.exec(p)?.[1];
    if (pseudo) throw new ConfigError(`[${section}] ${key} = ${p} is under /${pseudo}, a kernel file system where videodex cannot make its files: choose another folder`);
  }
  for (const key of ['RulesFile', 'Taxonomy', 'ActionLabels'] as const) {
    const v = values.Tagging![key];
    if (v) values.Tagging![key] = path.resolve(baseOf('Tagging', key), String(v));
  }
  // Keys that take a name or a path (a tool on PATH, a shipped template): a relative path (one with a separator, or
  // a template's .txt file) is relative as other paths are; names stay as they are.
  const pathLike = (v: string, txt: boolean) => !path.isAbsolute(v) && (/[\\/]/.test(v) || (txt && v.endsWith('.txt')));
  for (const [section, key, txt] of [['Paths', 'Ffmpeg', false], ['Paths', 'Ffprobe', false], ['Sources', 'YtDlp', false], ['QwenVL', 'Template', true], ['QwenVL', 'SceneTemplate', true]] as const) {
    const v = values[section]![key];
    if (typeof v === 'string' && pathLike(v, txt)) values[section]![key] = path.resolve(baseOf(section, key), v);
  }
  // Plugin modules given as relative paths are relative as other paths are; package names stay as they are.
  values.Plugins!.Modules = (values.Plugins!.Modules as string[]).map((m) => (/^\.{1,2}[\\/]/.test(m) ? path.resolve(baseOf('Plugins', 'Modules'), m) : m));
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}

/** A default config, for tests and library users: defaults plus the given section values. */
export function configWith(overrides: { [S in SectionName]?: Partial<Record<keyof Spec[S], unknown>> } = {}, cwd?: string): Config {
  const flat: Record<string, unknown> = {};
  for (const [s, body] of Object.entries(overrides)) {
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) flat[`${s}.${k}`] = v;
  }
  return loadConfig({ env: {}, overrides: flat, ...(cwd ? { cwd } : {}), file: undefined }).config;
}

export { CONFIG_SPEC };
