import type { Tag, Video, VideoPatch } from '../core/index.js';
import { normalizeTag, TAGGING_STATE_KEY, type Tagger, type TaggerContext } from '../tagging/index.js';
import type { Stage, StageContext } from '../workflow/index.js';
import type { PluginExporter, PluginTagger, VideodexPlugin } from './plugin-api.js';
import { PluginError } from './plugin-error.js';
import { unlessStalled } from './plugin-stall-guard.js';
import type { LoadedPlugin } from './plugin-loader.js';

/**
 * A plugin stage as the runner sees it. The version carries the plugin's version (upgrading a plugin re-runs
 * its stages); anything the plugin throws, from any method, becomes a PluginError naming it, and fails this
 * stage for this video only. Tags in the returned patch are credited to the plugin and remembered in
 * `extra[plugin].tags`, where the `tag` stage finds them again on every run.
 */
export function adaptPluginStage(plugin: VideodexPlugin, stage: Stage): Stage {
  const deferred = new WeakMap<Video, unknown>();
  const guard = <T>(video: Video, what: string, fallback: T, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      deferred.set(video, PluginError.from(plugin.name, `stage ${stage.name}: ${what}`, err));
      return fallback;
    }
  };
  const adapted: Stage = {
    name: stage.name,
    version: `${stage.version}+${plugin.name}@${plugin.version}`,
    needs: [...stage.needs],
    resource: stage.resource,
    inputHash: (video, config) => guard(video, 'inputHash', 'plugin-error', () => String(stage.inputHash(video, config))),
    async run(video: Video, ctx: StageContext): Promise<VideoPatch> {
      const early = deferred.get(video);
      if (early) {
        deferred.delete(video);
        throw early;
      }
      let patch: VideoPatch;
      const limit = timeLimit(plugin, stage, ctx);
      try {
        patch = await limit.run((limited) => stage.run(video, limited));
      } catch (err) {
        throw PluginError.from(plugin.name, `stage ${stage.name}`, err);
      } finally {
        limit.done();
      }
      if (patch === undefined || patch === null) return {};
      if (typeof patch !== 'object' || Array.isArray(patch)) throw new PluginError(plugin.name, `stage ${stage.name}: returned ${Array.isArray(patch) ? 'a list' : typeof patch}, not a patch object`);
      const wrong = patchProblem(patch);
      if (wrong) throw new PluginError(plugin.name, `stage ${stage.name}: returned a patch ${wrong}`);
      return creditTags(plugin.name, video, patch);
    },
  };
  if (stage.skipReason) {
    const skip = stage.skipReason.bind(stage);
    adapted.skipReason = (video, config) => guard(video, 'skipReason', null, () => skip(video, config));
  }
  if (stage.plan) {
    const plan = stage.plan.bind(stage);
    adapted.plan = async (video, ctx) => {
      try {
        return await plan(video, ctx);
      } catch (err) {
        throw PluginError.from(plugin.name, `stage ${stage.name}: plan`, err);
      }
    };
  }
  if (stage.cacheable) return { ...adapted, cacheable: true };
  return adapted;
}

/**
 * `[Plugins] StageTimeoutSec` around one run of a plugin's stage: a stage stuck on something that never answers (a
 * socket, a child process) held its concurrency slot, and the whole run, for ever. Past the limit the run fails
 * for that video and the stage's signal is aborted, so one that honours it stops its work. The timer does not keep
 * the process alive: a stage whose promise can never settle is still told at once (see cli/stuck-run.ts).
 */
function timeLimit(plugin: VideodexPlugin, stage: Stage, ctx: StageContext): { run: <T>(job: (ctx: StageContext) => Promise<T>) => Promise<T>; done: () => void } {
  const sec = ctx.config.Plugins?.StageTimeoutSec ?? 0;
  const limit = deadline(sec, () => new PluginError(plugin.name, `stage ${stage.name}: still running after ${sec} s ([Plugins] StageTimeoutSec); stopped`), ctx.signal);
  if (!limit) return { run: (job) => job(ctx), done: () => undefined };
  limit.arm();
  const limited: StageContext = { ...ctx, signal: limit.signal };
  return { run: (job) => Promise.race([job(limited), limit.expired]), done: limit.clear };
}

/**
 * A `[Plugins] StageTimeoutSec` deadline for a plugin's stage, tagger or exporter: `expired` rejects with `error()` once it
 * passes, after aborting `signal` with it; `arm` starts it (over: an exporter's next record).
 * A tagger waiting on a socket, or an exporter on a service, that never answers held `process`, `retag` or
 * `export` for ever. The timer does not keep the process alive: a promise that can never settle is still told at
 * once (`unlessStalled`). `signal` also follows `outer` (Ctrl-C). Null when the limit is 0.
 */
function deadline(sec: number, error: () => PluginError, outer?: AbortSignal): { expired: Promise<never>; signal: AbortSignal; arm: () => void; clear: () => void } | null {
  if (!(sec > 0)) return null;
  const controller = new AbortController();
  const follow = () => controller.abort(outer!.reason);
  if (outer?.aborted) follow();
  else outer?.addEventListener('abort', follow, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let fail: (err: PluginError) => void = () => undefined;
  const expired = new Promise<never>((_, reject) => (fail = reject));
  // (a rejection nobody waits for any more, once the work has finished first)
  expired.catch(() => undefined);
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const err = error();
      controller.abort(err);
      fail(err);
    }, sec * 1000);
    timer.unref();
  };
  return {
    expired,
    signal: controller.signal,
    arm,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', follow);
    },
  };
}

/** What each field a stage may return must be (a plain JavaScript plugin is not held to the types). */
const PATCH_FIELDS: Record<string, (x: unknown) => boolean> = {
  source: (x) => isObject(x),
  alsoFrom: Array.isArray,
  file: (x) => isObject(x) && typeof (x as { path?: unknown }).path === 'string',
  metadata: (x) => x === null || isObject(x),
  scenes: Array.isArray,
  contactSheet: (x) => typeof x === 'string',
  ai: (x) => x === null || isObject(x),
  tags: Array.isArray,
  categories: Array.isArray,
  extra: (x) => isObject(x),
};

function isObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Why a stage's patch cannot be applied, or null. Applied as it was, `{ id }` saved the video under another id,
 * `{ stages }` rewrote the run's bookkeeping, and `{ extra: "..." }` or `{ scenes: 3 }` broke every later reader
 * of the record: the plugin's stage fails for that video instead, naming the field.
 */
function patchProblem(patch: object): string | null {
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const check = PATCH_FIELDS[key];
    if (!check) return ['id', 'stages', 'createdAt', 'updatedAt'].includes(key) ? `with "${key}", which videodex keeps and a stage may not change` : `with "${key}", which is not a field of the record (keep findings in extra.<plugin name>)`;
    if (!check(value)) return `whose "${key}" is ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}, not what the record holds there`;
    if (key === 'scenes') {
      const bad = (value as unknown[]).map((scene, i) => [i, sceneProblem(scene)] as const).find(([, why]) => why !== null);
      if (bad) return `whose scenes[${bad[0]}] ${bad[1]} (a scene is { index, startSec, endSec, startFrame, endFrame, transition, score }, as videodex's)`;
    }
    if (key === 'categories') {
      const i = (value as unknown[]).findIndex((c) => !isObject(c) || typeof (c as { name?: unknown }).name !== 'string');
      if (i >= 0) return `whose categories[${i}] has no name`;
    }
  }
  return null;
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/**
 * Why a scene a stage returned is not one, or null. Kept as given, `{ start, end }` made every later reader of the
 * record fail: `export --format scenes-csv` of the whole library stopped with "Cannot read properties of undefined".
 */
function sceneProblem(scene: unknown): string | null {
  if (!isObject(scene)) return 'is not an object';
  const s = scene as Record<string, unknown>;
  for (const k of ['index', 'startFrame', 'endFrame'] as const) if (!isCount(s[k])) return `has no ${k} (a whole number from 0)`;
  for (const k of ['startSec', 'endSec'] as const) if (!isTime(s[k])) return `has no ${k} (seconds from 0)`;
  if ((s.endSec as number) < (s.startSec as number) || (s.endFrame as number) < (s.startFrame as number)) return 'ends before it starts';
  if (typeof s.transition !== 'string') return 'has no transition (start, cut, fade or dissolve)';
  if (typeof s.score !== 'number' || !Number.isFinite(s.score)) return 'has no score (a number)';
  for (const k of ['keyframe', 'description'] as const) if (s[k] !== undefined && typeof s[k] !== 'string') return `has a ${k} that is not text`;
  return null;
}

/** Longest tag name a plugin may give: past it, the plugin is answering with something that is not a tag. */
const MAX_TAG_NAME = 100;

/**
 * A tag a plugin gave, as every tag is stored: its name normalised as tag names are (lower case, words joined by
 * `-`; a plural stays, the plugin chose its words), a confidence only within 0..1, credited to the plugin. Null for a name with
 * nothing left (`"  "`); a name too long to be a tag fails the plugin's stage for this video.
 */
function pluginTag(pluginName: string, what: string, raw: Partial<Tag>, rule: string): Tag | null {
  const name = normalizeTag(raw.name!, { keepPlural: true });
  if (!name) return null;
  if (name.length > MAX_TAG_NAME) throw new PluginError(pluginName, `${what}: a tag name of ${name.length} characters (at most ${MAX_TAG_NAME}): ${name.slice(0, 40)}...`);
  const confidence = typeof raw.confidence === 'number' && raw.confidence >= 0 && raw.confidence <= 1 ? raw.confidence : undefined;
  return { name, source: 'plugin', rule: typeof raw.rule === 'string' && raw.rule ? raw.rule : rule, ...(confidence !== undefined ? { confidence } : {}) };
}

/**
 * A plugin stage's tags replace the ones its last run gave (on the record, in `extra[plugin].tags`, and in the
 * tags tagging carries over, where one dropped since would otherwise live on); the `tag` stage merges them with
 * the other taggers' (the strongest evidence of a name wins), so a name another tagger gave is credited too.
 */
function creditTags(pluginName: string, video: Video, patch: VideoPatch): VideoPatch {
  if (!Array.isArray(patch.tags)) return patch;
  const added: Tag[] = [];
  for (const t of patch.tags as unknown[]) {
    const raw = typeof t === 'string' ? { name: t } : (t as Partial<Tag>);
    if (!raw || typeof raw.name !== 'string') continue;
    const tag = pluginTag(pluginName, 'stage', raw, pluginName);
    if (tag && !added.some((a) => a.name === tag.name)) added.push(tag);
  }
  const extra = { ...video.extra, ...(patch.extra ?? {}) };
  const mine = extra[pluginName] && typeof extra[pluginName] === 'object' ? (extra[pluginName] as Record<string, unknown>) : {};
  const last = video.extra?.[pluginName] as { tags?: unknown } | undefined;
  const before: unknown[] = Array.isArray(last?.tags) ? last.tags : [];
  const given = new Set(before.map((p) => (typeof p === 'string' ? `${p}\u001f${pluginName}` : `${(p as Tag).name}\u001f${(p as Tag).rule ?? pluginName}`)));
  const wasGiven = (t: Tag) => t.source === 'plugin' && given.has(`${t.name}\u001f${t.rule ?? pluginName}`);
  extra[pluginName] = { ...mine, tags: added };
  const state = extra[TAGGING_STATE_KEY] as { carried?: unknown } | undefined;
  if (state && Array.isArray(state.carried)) extra[TAGGING_STATE_KEY] = { ...state, carried: (state.carried as Tag[]).filter((t) => !wasGiven(t)) };
  const { tags: _dropped, ...rest } = patch;
  return { ...rest, tags: [...video.tags.filter((t) => !wasGiven(t)), ...added], extra };
}

/** A plugin tagger as the `tag` stage sees it: errors name the plugin, tags are checked and credited. */
export function adaptPluginTagger(plugin: VideodexPlugin, tagger: PluginTagger): Tagger & { version: string } {
  const check = (result: unknown): Tag[] => {
    if (!Array.isArray(result)) throw new PluginError(plugin.name, `tagger ${tagger.name}: returned ${typeof result}, not a list of tags`);
    const out: Tag[] = [];
    for (const t of result) {
      const raw = typeof t === 'string' ? { name: t } : (t as Partial<Tag>);
      if (!raw || typeof raw.name !== 'string') throw new PluginError(plugin.name, `tagger ${tagger.name}: a tag without a name`);
      const tag = pluginTag(plugin.name, `tagger ${tagger.name}`, raw, `${plugin.name}/${tagger.name}`);
      if (tag) out.push(tag);
    }
    return out;
  };
  return {
    name: `${plugin.name}/${tagger.name}`,
    version: `${tagger.version ?? ''}+${plugin.version}`,
    async tag(video: Video, ctx: TaggerContext): Promise<Tag[]> {
      const sec = ctx.config.Plugins?.StageTimeoutSec ?? 0;
      const limit = deadline(sec, () => new PluginError(plugin.name, `tagger ${tagger.name}: still running after ${sec} s ([Plugins] StageTimeoutSec); stopped`), ctx.signal);
      let result: unknown;
      try {
        const given = tagger.tag(video, limit ? { ...ctx, signal: limit.signal } : ctx);
        // most taggers are synchronous: no timer for them (retag calls each for every record)
        const pending = limit && typeof (given as Partial<PromiseLike<unknown>> | null)?.then === 'function';
        if (pending) limit.arm();
        const work = unlessStalled(given, () => new Error('never finished: its promise never settles and nothing is left running'));
        result = await (pending ? Promise.race([work, limit.expired]) : work);
      } catch (err) {
        throw PluginError.from(plugin.name, `tagger ${tagger.name}`, err);
      } finally {
        limit?.clear();
      }
      return check(result);
    },
  };
}

/** A plugin exporter with errors naming the plugin. */
export function adaptPluginExporter(plugin: VideodexPlugin, exporter: PluginExporter): PluginExporter {
  return {
    name: exporter.name,
    ...(exporter.description ? { description: exporter.description } : {}),
    ...(exporter.extension ? { extension: exporter.extension } : {}),
    async write(records, out, ctx) {
      let taken = 0;
      let allTaken = false;
      // a whole export may rightly take hours: the limit is on each record (from taking one to taking the next)
      // and on finishing after the last, as a stage's is on each video
      const sec = ctx.config.Plugins?.StageTimeoutSec ?? 0;
      const limit = deadline(sec, () =>
        new PluginError(
          plugin.name,
          `exporter ${exporter.name}: ${allTaken ? `not finished ${sec} s after its last record` : `took no record for ${sec} s${taken ? ` after record ${taken}` : ''}`} ([Plugins] StageTimeoutSec); stopped`,
        ),
        ctx.signal,
      );
      limit?.arm();
      const counted = (async function* () {
        for await (const v of records) {
          taken++;
          limit?.arm();
          yield v;
        }
        allTaken = true;
        limit?.arm();
      })();
      let n: unknown;
      try {
        const work = unlessStalled(exporter.write(counted, out, limit ? { ...ctx, signal: limit.signal } : ctx), () => new Error('never finished: its promise never settles and nothing is left running'));
        n = await (limit ? Promise.race([work, limit.expired]) : work);
      } catch (err) {
        throw PluginError.from(plugin.name, `exporter ${exporter.name}`, err);
      } finally {
        limit?.clear();
      }
      // a plain JavaScript exporter that forgot its count was reported as "exported undefined record(s)"
      return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : taken;
    },
  };
}

/** Every stage of the loaded plugins, adapted. */
export function pluginStages(loaded: readonly LoadedPlugin[]): Stage[] {
  return loaded.flatMap(({ plugin }) => (plugin.stages ?? []).map((s) => adaptPluginStage(plugin, s)));
}

/** Every tagger of the loaded plugins, adapted. */
export function pluginTaggers(loaded: readonly LoadedPlugin[]): Array<Tagger & { version: string }> {
  return loaded.flatMap(({ plugin }) => (plugin.taggers ?? []).map((t) => adaptPluginTagger(plugin, t)));
}

/** Every exporter of the loaded plugins, adapted, by name. */
export function pluginExporters(loaded: readonly LoadedPlugin[]): Map<string, PluginExporter> {
  const out = new Map<string, PluginExporter>();
  for (const { plugin } of loaded) for (const e of plugin.exporters ?? []) out.set(e.name, adaptPluginExporter(plugin, e));
  return out;
}
