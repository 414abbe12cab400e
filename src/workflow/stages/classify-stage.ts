import { classifyRecord, classifyInputs, type TaggingSetup } from '../../tagging/index.js';
import { setupHasher, type HashingStage } from './tag-stage.js';

// 2: a category a rule adds takes the vocabulary's name and kind (an action when it names an action label), a
// rule's `category:` condition and `removeCategories` match a category of several words or capitals
// 3: a rule that removes and adds the same category replaces it (its remove blocked its add); a taxonomy's synonyms
// apply to a label they name in another spelling; rules see and remove the categories acquisition gave (yt-dlp's)
export const CLASSIFY_STAGE_VERSION = '3';

/**
 * `classify`: the model's category and actions mapped onto the taxonomy and action vocabulary, list labels
 * and the rules' category actions → `categories`. Runs on final tags, so it needs `tag`.
 */
export function createClassifyStage(setup: TaggingSetup): HashingStage {
  const hasher = setupHasher(setup.fingerprint);
  return {
    name: 'classify',
    version: CLASSIFY_STAGE_VERSION,
    needs: ['tag'],
    resource: 'none',
    inputHash: (video) => hasher.hashDigest(hasher.digestInputs(classifyInputs(video))),
    ...hasher,
    async run(video) {
      return classifyRecord(video, setup);
    },
  };
}
