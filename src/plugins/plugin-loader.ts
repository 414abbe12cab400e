import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError, describeError, type Config, type Logger } from '../core/index.js';
import { EXPORT_FORMATS } from '../export/index.js';
import { MIN_PLUGIN_API_VERSION, PLUGIN_API_VERSION, type PluginFactory, type VideodexPlugin } from './plugin-api.js';
import { PluginError } from './plugin-error.js';
import { unlessStalled } from './plugin-stall-guard.js';

/** A plugin as loaded: validated, with where it came from. */
export interface LoadedPlugin {
  readonly plugin: VideodexPlugin;
  /** As written in `[Plugins] Modules`. */
  readonly spec: string;
  /** The file imported. */
  readonly file: string;
}

/** Names plugins may not take: they are stage names or record keys of videodex itself. */
export const RESERVED_NAMES = ['acquire', 'probe', 'scenes', 'keyframes', 'describe', 'tag', 'classify', 'index', 'videodex', '_tagging', '_classify'];

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });

const stageSchema = z.looseObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a stage name is lower-case letters, digits, - and _'),
  version: z.string().min(1, 'a stage needs a version string'),
  needs: z.array(z.string()),
  resource: z.enum(['net', 'cpu', 'ai', 'none']),
  inputHash: fn,
  run: fn,
  skipReason: fn.optional(),
  plan: fn.optional(),
  cacheable: z.boolean().optional(),
});

const pluginSchema = z.looseObject({
  name: z
    .string({ error: 'a name (string) is required' })
    .regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, 'a plugin name is lower-case letters, digits, . _ ~ - (an npm scope is allowed)'),
  version: z.string({ error: 'a version (semver string, e.g. 1.0.0) is required' }).regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)*$/, 'version must be semver, e.g. 1.0.0'),
  apiVersion: z.number().int().positive().optional(),
  description: z.string().optional(),
  stages: z.array(stageSchema).optional(),
  taggers: z.array(z.looseObject({ name: z.string().min(1), tag: fn, version: z.string().optional() })).optional(),
  exporters: z.array(z.looseObject({ name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'an exporter name is lower-case letters, digits, - and _'), write: fn })).optional(),
});

function isPathSpec(spec: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|[a-zA-Z]:[\\/]|file:)/.test(spec) || /\.(m?js|cjs)$/.test(spec);
}

/** Finds the entry file of an installed package from `dir` upwards, ESM-only packages included. */
function resolvePackage(spec: string, fromDirs: readonly string[]): string | null {
  for (const dir of fromDirs) {
    try {
      return createRequire(path.join(dir, 'noop.js')).resolve(spec);
    } catch {
      // ESM-only packages (exports without a require condition) fall through to the manual lookup
    }
    const parts = spec.startsWith('@') ? spec.split('/').slice(0, 2) : spec.split('/').slice(0, 1);
    const pkgName = parts.join('/');
    const sub = spec.slice(pkgName.length).replace(/^\//, '');
    let d = dir;
    for (;;) {
      const root = path.join(d, 'node_modules', pkgName);
      const manifest = path.join(root, 'package.json');
      if (existsSync(manifest)) {
        if (sub) return path.join(root, sub);
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown; module?: string; main?: string };
        const entry = exportEntry(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js';
        return path.join(root, entry);
      }
      const up = path.dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  return null;
}

function exportEntry(exports: unknown): string | null {
  if (typeof exports === 'string') return exports;
  if (!exports || typeof exports !== 'object') return null;
  const e = exports as Record<string, unknown>;
  const dot = '.' in e ? e['.'] : e;
  if (typeof dot === 'string') return dot;
  if (dot && typeof dot === 'object') {
    for (const cond of ['import', 'node', 'default']) {
      const v = (dot as Record<string, unknown>)[cond];
      const r = exportEntry(v);
      if (r) return r;
    }
  }
  return null;
}

export interface LoadPluginsOptions {
  config: Config;
  logger: Logger;
  /** Paths in `[Plugins] Modules` are relative to this folder; packages are looked up from here too. */
  cwd?: string;
}

/**
 * Imports every plugin listed, once, validating its shape and API version. Any problem is a ConfigError (or
 * PluginError when the plugin's own factory throws) naming the plugin, raised before any video is touched.
 */
export async function loadPlugins(specs: readonly string[], options: LoadPluginsOptions): Promise<LoadedPlugin[]> {
  const cwd = options.cwd ?? process.cwd();
  const loaded: LoadedPlugin[] = [];
  for (const spec of specs) {
    const file = isPathSpec(spec)
      ? spec.startsWith('file:')
        ? // (a URL's path keeps its escapes: file:///my%20plugins/x.js named a folder "my%20plugins")
          fileURLToPath(spec)
        : path.resolve(cwd, spec)
      : resolvePackage(spec, [cwd, path.dirname(fileURLToPath(import.meta.url))]);
    if (!file || (isPathSpec(spec) && !existsSync(file))) {
      throw new ConfigError(`[Plugins] Modules: ${spec}: not found${isPathSpec(spec) ? ` at ${file}` : '; install it with npm install ' + spec}`);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await unlessStalled(import(pathToFileURL(file).href), () => new Error('its module never finished loading (a top-level await that never settles)'))) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`[Plugins] Modules: ${spec}: cannot import ${file}: ${describeError(err)}`, { cause: err });
    }
    const exported = mod.default !== undefined && (typeof mod.default === 'function' || typeof mod.default === 'object') ? mod.default : mod;
    let candidate: unknown = exported;
    if (typeof exported === 'function') {
      try {
        candidate = await unlessStalled(
          (exported as PluginFactory)({ config: options.config, logger: options.logger.child({ plugin: spec }), apiVersion: PLUGIN_API_VERSION }),
          () => new Error('its factory never finished: the promise it returned never settles and nothing is left running'),
        );
      } catch (err) {
        throw PluginError.from(spec, 'setup failed', err);
      }
    }
    const plugin = validatePlugin(candidate, spec);
    if (loaded.some((p) => p.plugin.name === plugin.name)) throw new ConfigError(`[Plugins] Modules: ${spec}: a plugin named ${plugin.name} is already loaded`);
    loaded.push({ plugin, spec, file });
    options.logger.info({ plugin: plugin.name, version: plugin.version, file }, 'plugin loaded');
  }
  checkStageNames(loaded);
  checkExporterNames(loaded);
  return loaded;
}

/** Checks a plugin object's shape and API version; throws ConfigError naming it and the field. */
export function validatePlugin(candidate: unknown, spec: string): VideodexPlugin {
  const r = pluginSchema.safeParse(candidate);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = candidate && typeof candidate === 'object' && typeof (candidate as { name?: unknown }).name === 'string' ? (candidate as { name: string }).name : spec;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new ConfigError(`plugin ${name}: not a valid videodex plugin: ${where ? `${where}: ` : ''}${issue.message}`);
  }
  const plugin = candidate as VideodexPlugin;
  if (RESERVED_NAMES.includes(plugin.name)) throw new ConfigError(`plugin ${plugin.name}: the name is reserved by videodex; rename the plugin`);
  const api = plugin.apiVersion ?? PLUGIN_API_VERSION;
  if (api > PLUGIN_API_VERSION) {
    throw new ConfigError(`plugin ${plugin.name}@${plugin.version} needs plugin API ${api}, this videodex speaks ${PLUGIN_API_VERSION}: upgrade videodex`);
  }
  if (api < MIN_PLUGIN_API_VERSION) {
    throw new ConfigError(`plugin ${plugin.name}@${plugin.version} was written for plugin API ${api}, which this videodex no longer supports (${MIN_PLUGIN_API_VERSION}-${PLUGIN_API_VERSION}): upgrade the plugin`);
  }
  return plugin;
}

function checkStageNames(loaded: readonly LoadedPlugin[]): void {
  const owner = new Map<string, string>();
  for (const { plugin } of loaded) {
    for (const s of plugin.stages ?? []) {
      if (RESERVED_NAMES.includes(s.name)) throw new ConfigError(`plugin ${plugin.name}: stage name ${s.name} is a videodex stage; rename it`);
      const prev = owner.get(s.name);
      if (prev) throw new ConfigError(`plugin ${plugin.name}: stage ${s.name} is also defined by plugin ${prev}`);
      owner.set(s.name, plugin.name);
    }
  }
}

/**
 * `--format <name>` picks one exporter: one named as a built-in format was never reached, and of two of one name the
 * later one silently took the place of the earlier.
 */
function checkExporterNames(loaded: readonly LoadedPlugin[]): void {
  const owner = new Map<string, string>();
  for (const { plugin } of loaded) {
    for (const e of plugin.exporters ?? []) {
      if ((EXPORT_FORMATS as readonly string[]).includes(e.name)) throw new ConfigError(`plugin ${plugin.name}: exporter name ${e.name} is a built-in export format; rename it`);
      const prev = owner.get(e.name);
      if (prev) throw new ConfigError(`plugin ${plugin.name}: exporter ${e.name} is also defined by ${prev === plugin.name ? 'this plugin' : `plugin ${prev}`}`);
      owner.set(e.name, plugin.name);
    }
  }
}

/** Checks that every plugin stage needs only stages that exist (videodex's or other plugins'). */
export function checkPluginNeeds(loaded: readonly LoadedPlugin[], builtinStages: readonly string[]): void {
  const known = new Set([...builtinStages, 'acquire', ...loaded.flatMap((l) => (l.plugin.stages ?? []).map((s) => s.name))]);
  for (const { plugin } of loaded) {
    for (const s of plugin.stages ?? []) {
      const missing = s.needs.find((n) => !known.has(n));
      if (missing) throw new ConfigError(`plugin ${plugin.name}: stage ${s.name} needs ${missing}, which is not a stage here; stages: ${[...known].join(', ')}`);
    }
  }
}
