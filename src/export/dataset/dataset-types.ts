/** Types shared by the dataset builder's parts. */

export type SplitName = 'train' | 'val' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

/** Where a clip's label comes from. */
export type LabelSource =
  | { kind: 'category' }
  | { kind: 'action' }
  | { kind: 'list' }
  | { kind: 'tag'; prefix: string };

/** How clips are cut from a video. */
export type ClipMode = { kind: 'scene' } | { kind: 'window'; seconds: number; strideSec: number };

export type SplitSpec =
  | { kind: 'ratio'; ratios: Record<SplitName, number> }
  | { kind: 'list'; fallback: Record<SplitName, number> };

export type DatasetFormat = 'folder' | 'mmaction' | 'webdataset' | 'manifest';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['folder', 'mmaction', 'webdataset', 'manifest'];

export interface EncodeSettings {
  /** 0 = keep the source rate. */
  fps: number;
  /** 0 = keep the source size. */
  shortSide: number;
  copy: boolean;
  audio: boolean;
  crf: number;
  preset: string;
}

export interface DatasetOptions {
  outDir: string;
  labels: LabelSource;
  clip: ClipMode;
  minClipSec: number;
  maxClipSec: number;
  encode: EncodeSettings;
  maxClipsPerVideo: number;
  maxClipsPerClass: number;
  split: SplitSpec;
  seed: number;
  formats: DatasetFormat[];
  dedup: { enabled: boolean; threshold: number; frames: number };
  shardSize: number;
  /** Clips encoded at once ([Concurrency] Cpu). */
  concurrency: number;
  /**
   * Split every video again, as into a new folder, instead of keeping the split each source video had in the
   * earlier build there. An act of this build, not a setting: not kept in dataset.json's options.
   */
  resplit?: boolean;
}

/** A clip the planner chose, before splitting. */
export interface PlannedClip {
  /** `<videoId>_<startMs>_<endMs>`: no dots, so it is also a WebDataset key. */
  id: string;
  videoId: string;
  sourcePath: string;
  sourceUrl: string;
  /** YouTube id when the source is a YouTube page, for Kinetics CSVs. */
  youtubeId: string | null;
  label: string;
  /** Every label the source gave, primary first. */
  labels: string[];
  /** Seconds into the record's file (`sourcePath`), the file the clip is cut from. */
  startSec: number;
  endSec: number;
  /**
   * Where the record's file starts in the source (`sourceUrl`), in seconds: the list row's start when
   * acquisition cut the file to that row (`source.list.trim`), else 0 (also when absent). Source time = file
   * time + this.
   */
  sourceOffsetSec?: number;
  /**
   * Where the video starts in its file (`metadata.videoStartSec`; absent: 0). Clip times and frames count from the
   * video's first frame, as scene times do; seeks into the file add this.
   */
  videoStartSec?: number;
  /** The video stream to cut (`metadata.videoStreamIndex`: not a cover picture listed first); absent: the first. */
  streamIndex?: number;
  /** Frames of the record's file (at the source rate), end exclusive. */
  startFrame: number;
  endFrame: number;
  sourceFps: number;
  /**
   * The file's container seeks by a search over its bytes (MPEG-TS, MPEG-PS): an input seek may land after the
   * clip's first frame, so the cut seeks a key frame and a margin before it, and is not stream-copied.
   */
  inexactSeek?: boolean;
  /**
   * The file's frame rate varies (or Matroska/WebM, where it cannot be told): scene detection numbered its frames
   * on the average rate's grid (frame n at n / fps), so the cut resamples to that grid too before taking frames.
   */
  variableRate?: true;
  /**
   * False when a stream copy cannot start exactly on a key frame of the file: only MP4/MOV index every sample,
   * elsewhere (Matroska/WebM, MPEG-TS) ffmpeg's seek lands on an earlier key frame. Such clips are re-encoded.
   */
  streamCopy?: false;
  /** Scene index the clip was cut from, or null for windows. */
  scene: number | null;
  description: string | null;
}

export interface AssignedClip extends PlannedClip {
  split: SplitName;
}

/** A clip on disk, as listed in dataset.json. */
export interface DatasetClip {
  id: string;
  /** Relative to the dataset folder. */
  path: string;
  split: SplitName;
  label: string;
  labelIndex: number;
  labels: string[];
  videoId: string;
  source: string;
  youtubeId: string | null;
  /**
   * Seconds into the record's video, from its first frame as scene times count (for a list row cut at acquisition:
   * into that cut, from 0). A video that starts after its file (audio first) is `videoStartSec` further in the file.
   */
  startSec: number;
  endSec: number;
  /** The same range in seconds into the source video (`source`): start/end plus where the record's file starts in it. */
  sourceStartSec: number;
  sourceEndSec: number;
  /** Where the video starts in the record's file (`metadata.videoStartSec`); absent when it starts with it. */
  videoStartSec?: number;
  /** Time range actually written (differs from start/end when stream copy snapped to a keyframe). */
  writtenStartSec: number;
  durationSec: number;
  scene: number | null;
  description: string | null;
  bytes: number;
  /** dHash of the sampled frames, hex, one 16-char hash per frame. */
  hash: string | null;
  mode: 'encode' | 'copy';
}

export interface DuplicateRemoval {
  clip: string;
  videoId: string;
  split: SplitName;
  duplicateOf: string;
  duplicateOfSplit: SplitName;
  /** Mean differing bits per sampled frame. */
  distance: number;
  crossSplit: boolean;
}

export interface SkippedVideo {
  videoId: string;
  name: string;
  reason: string;
}

export interface DatasetProgress {
  phase: 'plan' | 'clips' | 'dedup' | 'write';
  done: number;
  total: number;
}

/** How a build's splits relate to the earlier build in its folder (`splits` in dataset.json). */
export interface SplitHistory {
  /**
   * `new`: no earlier build had clips to keep; `kept`: each source video of the earlier build kept its split and
   * only new ones were dealt out; `resplit`: every video was split again (`--resplit`).
   */
  mode: 'new' | 'kept' | 'resplit';
  /** When the earlier build was made (its `createdAt`), or null. */
  earlierBuild: string | null;
  /** Source videos of this build in the split they had before. */
  kept: number;
  /** Source videos of this build in another split than before: by a list row's split column, or re-split. */
  moved: number;
  /** Source videos new to the dataset, dealt out by this build. */
  added: number;
  /** Source videos of the earlier build not in this one (removed from the library, or no longer matched). */
  left: number;
}

export interface DatasetReport {
  outDir: string;
  videos: number;
  clips: number;
  perSplit: Record<SplitName, number>;
  perClass: Record<string, Record<SplitName, number>>;
  encoded: number;
  reused: number;
  copied: number;
  duplicates: DuplicateRemoval[];
  skipped: SkippedVideo[];
  /** Clips that could not be cut: the video's id and display name (file name or title), and why. */
  failed: Array<{ clip: string; videoId: string; name: string; error: string }>;
  files: string[];
  splits: SplitHistory;
  /**
   * Splits `--split` gives a share that got no clip (every clip of a video goes to one split, and a class's few
   * videos go to train first): a trainer pointed at their lists finds none.
   */
  emptySplits: Array<{ split: SplitName; ratio: number }>;
  ms: number;
}
