import type { Video } from '../../core/index.js';
import { hashInputs } from '../pipeline-runner.js';
import type { Stage } from '../stage.js';

/**
 * The last stage: marks the record complete. Stores refresh their search indexes on every save, so this stage
 * has no work of its own beyond stating that the record, as every earlier stage left it, is indexed; its
 * input hash covers the searchable fields, so it re-runs (cheaply) whenever they change.
 */
export const indexStage: Stage = {
  name: 'index',
  version: '1',
  needs: ['probe'],
  resource: 'none',
  inputHash: (video: Video) =>
    hashInputs(video.metadata, video.tags, video.categories, video.ai?.description ?? null, video.scenes.length, video.source.title ?? null),
  async run() {
    return {};
  },
};
