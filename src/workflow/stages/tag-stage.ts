import { tagRecord, taggingInputs, type Tagger, type TaggingSetup } from '../../tagging/index.js';
import { sha256Hex } from '../../core/index.js';
import type { Stage } from '../stage.js';

/**
 * 2: the rule field `title` reads a local file's container title too; a mark stays in its word in tag names.
 * 3: a rule's `category:` condition matches a category of several words or capitals (`street food`).
 * 4: `tagCount` counts the tags of the pass so far, not the record's stored tags (the last run's output); a
 * `category:` condition sees the categories classification starts from; a rule that removes and adds a tag replaces it;
 * globs, regexes and text comparisons match names in either Unicode form (NFC); `buses` is `bus`, `movies` `movie`; carried tags (yt-dlp's) are named like the others.
 * 5: a rule's `tag: dogs` also finds `dog` (the model's tags are stored singular) and `remove: [dogs]` removes it.
 * 6: a `description:` word written in a script without spaces (Chinese, Japanese, Thai, Korean) is found inside the
 * run of letters it is written in.
 */
export const TAG_STAGE_VERSION = '6';

/**
 * A stage whose input hash is a digest of the record's inputs string (`taggingInputs`, `classifyInputs`)
 * combined with the stage's setup. Retag builds the string once and hashes it under several setups, and a record
 * whose digest is stored (`StageEntry.inputDigest`) is checked against another setup without being read again.
 */
export interface HashingStage extends Stage {
  /** The digest of an inputs string, whatever the setup. */
  digestInputs(inputs: string): string;
  /** `inputHash` of a record whose inputs digest is `digest`. */
  hashDigest(digest: string): string;
}

/** `inputHash` of a record whose inputs string is `inputs`. */
export const hashInputsOf = (stage: HashingStage, inputs: string): string => stage.hashDigest(stage.digestInputs(inputs));

/** A stage's setup part and a record's inputs digest, combined: short strings, so a hash costs about a microsecond. */
export function setupHasher(setupId: string): Pick<HashingStage, 'digestInputs' | 'hashDigest'> {
  return {
    digestInputs: (inputs) => sha256Hex(inputs).slice(0, 32),
    hashDigest: (digest) => sha256Hex(`${setupId}\n${digest}`).slice(0, 32),
  };
}

/**
 * `tag`: every built-in tagger, the plugin taggers and the user rules → `tags`. Needs only `probe`, and is
 * registered after `scenes` and `describe` so it sees their results; its input hash covers the model answer,
 * so a later successful `describe` re-runs it, while a failed `describe` does not leave a video untagged.
 * Plugin taggers arrive wrapped (a throw names the plugin and fails this stage for this video only).
 */
export function createTagStage(setup: TaggingSetup, pluginTaggers: ReadonlyArray<Tagger & { version?: string }> = []): HashingStage {
  const taggerIds = pluginTaggers.map((t) => `${t.name}@${t.version ?? ''}`).join(',');
  const hasher = setupHasher(`${setup.fingerprint}\n${taggerIds}`);
  return {
    name: 'tag',
    version: TAG_STAGE_VERSION,
    needs: ['probe'],
    resource: pluginTaggers.length > 0 ? 'cpu' : 'none',
    // a person's edits made while `process` waited on the model are the ones to tag with
    readsUserEdits: true,
    // a plain digest of strings: retag computes this for every stored record, so no generic stable stringify
    inputHash: (video) => hasher.hashDigest(hasher.digestInputs(taggingInputs(video))),
    ...hasher,
    async run(video, ctx) {
      return tagRecord(video, setup, { config: ctx.config, logger: ctx.logger }, pluginTaggers);
    },
  };
}
