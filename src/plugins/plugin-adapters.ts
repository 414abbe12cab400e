import type { Tag, Video, VideoPatch } from '../core/index.js';
import type { Tagger, TaggerContext } from '../tagging/index.js';
import type { Stage, StageContext } from '../workflow/index.js';
import type { PluginExporter, PluginTagger, VideodexPlugin } from './plugin-api.js';
import { PluginError } from './plugin-error.js';
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
      try {
        patch = await stage.run(video, ctx);
      } catch (err) {
        throw PluginError.from(plugin.name, `stage ${stage.name}`, err);
      }
      if (patch === undefined || patch === null) return {};
      if (typeof patch !== 'object') throw new PluginError(plugin.name, `stage ${stage.name}: returned ${typeof patch}, not a patch object`);
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

function creditTags(pluginName: string, video: Video, patch: VideoPatch): VideoPatch {
  if (!Array.isArray(patch.tags)) return patch;
  const before = new Set(video.tags.map((t) => t.name));
  const added: Tag[] = [];
  for (const t of patch.tags as unknown[]) {
    const tag = typeof t === 'string' ? { name: t } : (t as Partial<Tag>);
    if (!tag || typeof tag.name !== 'string' || !tag.name || before.has(tag.name)) continue;
    added.push({ name: tag.name, source: 'plugin', rule: tag.rule ?? pluginName, ...(typeof tag.confidence === 'number' ? { confidence: tag.confidence } : {}) });
  }
  const extra = { ...video.extra, ...(patch.extra ?? {}) };
  const mine = extra[pluginName] && typeof extra[pluginName] === 'object' ? (extra[pluginName] as Record<string, unknown>) : {};
  const previous = Array.isArray(mine.tags) ? (mine.tags as Tag[]).filter((t) => !added.some((a) => a.name === (typeof t === 'string' ? t : t.name))) : [];
  extra[pluginName] = { ...mine, tags: [...previous, ...added] };
  const { tags: _dropped, ...rest } = patch;
  return { ...rest, tags: [...video.tags, ...added], extra };
}

/** A plugin tagger as the `tag` stage sees it: errors name the plugin, tags are checked and credited. */
export function adaptPluginTagger(plugin: VideodexPlugin, tagger: PluginTagger): Tagger & { version: string } {
  const check = (result: unknown): Tag[] => {
    if (!Array.isArray(result)) throw new PluginError(plugin.name, `tagger ${tagger.name}: returned ${typeof result}, not a list of tags`);
    const out: Tag[] = [];
    for (const t of result) {
      const tag = typeof t === 'string' ? { name: t } : (t as Partial<Tag>);
      if (!tag || typeof tag.name !== 'string') throw new PluginError(plugin.name, `tagger ${tagger.name}: a tag without a name`);
      if (!tag.name) continue;
      const confidence = typeof tag.confidence === 'number' && tag.confidence >= 0 && tag.confidence <= 1 ? tag.confidence : undefined;
      out.push({ name: tag.name, source: 'plugin', rule: tag.rule ?? `${plugin.name}/${tagger.name}`, ...(confidence !== undefined ? { confidence } : {}) });
    }
    return out;
  };
  return {
    name: `${plugin.name}/${tagger.name}`,
    version: `${tagger.version ?? ''}+${plugin.version}`,
    async tag(video: Video, ctx: TaggerContext): Promise<Tag[]> {
      let result: unknown;
      try {
        result = await tagger.tag(video, ctx);
      } catch (err) {
        throw PluginError.from(plugin.name, `tagger ${tagger.name}`, err);
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
      try {
        return await exporter.write(records, out, ctx);
      } catch (err) {
        throw PluginError.from(plugin.name, `exporter ${exporter.name}`, err);
      }
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
