export type { Stage, StageContext } from './stage.js';
export { PipelineRunner, hashInputs, ACQUIRE_VERSION } from './pipeline-runner.js';
export type { RunnerDeps, RunOptions } from './pipeline-runner.js';
export type { RunEvent, RunSummary, Failure, InputStatus, StageOutcome } from './run-events.js';
export { orderStages, dependents } from './stage-order.js';
export { mergeSourceInto, mergeTagged } from './record-merge.js';
export { probeStage } from './stages/probe-stage.js';
export { indexStage } from './stages/index-stage.js';
