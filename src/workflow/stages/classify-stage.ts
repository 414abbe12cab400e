import { classifyRecord, classifyInputs, type TaggingSetup } from '../../tagging/index.js';
import { sha256Hex } from '../../core/index.js';
import type { HashingStage } from './tag-stage.js';

export const CLASSIFY_STAGE_VERSION = '1';

/**
 * `classify`: the model's category and actions mapped onto the taxonomy and action vocabulary, list labels
 * and the rules' category actions → `categories`. Runs on final tags, so it needs `tag`.
 */
export function createClassifyStage(setup: TaggingSetup): HashingStage {
  const hashInputs = (inputs: string) => sha256Hex(`${setup.fingerprint}\n${inputs}`).slice(0, 32);
  return {
    name: 'classify',
    version: CLASSIFY_STAGE_VERSION,
    needs: ['tag'],
    resource: 'none',
    inputHash: (video) => hashInputs(classifyInputs(video)),
    hashInputs,
    async run(video) {
      return classifyRecord(video, setup);
    },
  };
}
