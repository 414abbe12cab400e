import { tagRecord, taggingInputs, type Tagger, type TaggingSetup } from '../../tagging/index.js';
import { sha256Hex } from '../../core/index.js';
import type { Stage } from '../stage.js';

export const TAG_STAGE_VERSION = '1';

/** A stage whose input hash can be taken from its inputs string, which retag builds once and hashes under several setups. */
export interface HashingStage extends Stage {
  /** `inputHash` of a record whose inputs string (`taggingInputs`, `classifyInputs`) is `inputs`. */
  hashInputs(inputs: string): string;
}

/**
 * `tag`: every built-in tagger, the plugin taggers and the user rules → `tags`. Needs only `probe`, and is
 * registered after `scenes` and `describe` so it sees their results; its input hash covers the model answer,
 * so a later successful `describe` re-runs it, while a failed `describe` does not leave a video untagged.
 * Plugin taggers arrive wrapped (a throw names the plugin and fails this stage for this video only).
 */
export function createTagStage(setup: TaggingSetup, pluginTaggers: ReadonlyArray<Tagger & { version?: string }> = []): HashingStage {
  const taggerIds = pluginTaggers.map((t) => `${t.name}@${t.version ?? ''}`).join(',');
  const hashInputs = (inputs: string) => sha256Hex(`${setup.fingerprint}\n${taggerIds}\n${inputs}`).slice(0, 32);
  return {
    name: 'tag',
    version: TAG_STAGE_VERSION,
    needs: ['probe'],
    resource: pluginTaggers.length > 0 ? 'cpu' : 'none',
    // a plain digest of strings: retag computes this for every stored record, so no generic stable stringify
    inputHash: (video) => hashInputs(taggingInputs(video)),
    hashInputs,
    async run(video, ctx) {
      return tagRecord(video, setup, { config: ctx.config, logger: ctx.logger }, pluginTaggers);
    },
  };
}
