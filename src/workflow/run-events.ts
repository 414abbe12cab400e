import type { InputItem } from '../sources/index.js';

export type StageOutcome = 'done' | 'cached' | 'up-to-date' | 'failed' | 'failed-before' | 'skipped' | 'blocked';

export type RunEvent =
  | { type: 'start'; inputs: number; stages: string[] }
  | { type: 'input-problem'; raw: string; message: string }
  | { type: 'stage-start'; input: InputItem; videoId: string | null; stage: string }
  | { type: 'stage-progress'; input: InputItem; videoId: string | null; stage: string; fraction: number }
  /** `repeat`: the input already ended this stage in this run (its tagging ran again after a hand edit of its tags). */
  | { type: 'stage-end'; input: InputItem; videoId: string | null; stage: string; outcome: StageOutcome; ms: number; error?: string; errorCode?: string; repeat?: boolean }
  | { type: 'plan'; input: InputItem; videoId: string | null; lines: string[] }
  | { type: 'input-end'; input: InputItem; videoId: string | null; status: InputStatus; ran: number }
  /** A record of the video that was at the input's path before it was replaced in place (see `displacedBy`). */
  | { type: 'replaced'; input: InputItem; videoId: string; replaced: string; repointedTo?: string };

/** done: every stage done or skipped; failed: some stage failed; unchanged: nothing needed to run. */
export type InputStatus = 'done' | 'unchanged' | 'failed' | 'planned' | 'aborted';

export interface Failure {
  input: string;
  videoId: string | null;
  stage: string;
  error: string;
  /** True when the failure is from an earlier run, not retried (use --retry-failed). */
  earlier: boolean;
  /** The video's name as its stage's message may start with it (`clip.mp4: ...`), for grouping causes. */
  videoName?: string;
}

export interface RunSummary {
  inputs: number;
  videos: string[];
  done: number;
  unchanged: number;
  failed: number;
  /** Stage runs made in this run (not skipped as up to date). */
  stagesRun: number;
  stagesUpToDate: number;
  stagesSkipped: number;
  failures: Failure[];
  problems: Array<{ raw: string; message: string }>;
  /** Records of videos whose file an input replaced in place: removed, or re-pointed at a copy they list. */
  replaced: Array<{ input: string; id: string; by: string; repointedTo?: string }>;
  ms: number;
  /** --dry-run: model tokens the planned stages estimate, in total. */
  estimatedTokens?: number;
}
