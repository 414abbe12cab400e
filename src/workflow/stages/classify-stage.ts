import { classifyRecord, classifyInputs, type TaggingSetup } from '../../tagging/index.js';
import { hashInputs } from '../pipeline-runner.js';
import type { Stage } from '../stage.js';

export const CLASSIFY_STAGE_VERSION = '1';

/**
 * `classify`: the model's category and actions mapped onto the taxonomy and action vocabulary, list labels
 * and the rules' category actions → `categories`. Runs on final tags, so it needs `tag`.
 */
export function createClassifyStage(setup: TaggingSetup): Stage {
  return {
    name: 'classify',
    version: CLASSIFY_STAGE_VERSION,
    needs: ['tag'],
    resource: 'none',
    inputHash: (video) => hashInputs(setup.fingerprint, classifyInputs(video)),
    async run(video) {
      return classifyRecord(video, setup);
    },
  };
}
