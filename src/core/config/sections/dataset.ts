import { bool, bytes, int, list, num, oneOf, str } from '../config-key.js';

/** Defaults of `videodex dataset build`; every key also has a flag. See docs/datasets.md. */
export const Dataset = {
  Labels: str('category', 'Where clip labels come from: category, action, list (the labels of a labelled URL list) or tag:<prefix>.'),
  Clip: str('scene', 'How clips are cut: scene (one clip per detected scene) or window:<seconds>[:<stride>] (fixed windows).'),
  MinClipSec: num(1, { min: 0 }, 'Shortest clip kept, seconds; shorter scenes are skipped.'),
  MaxClipSec: num(10, { min: 0.1 }, 'Longest clip, seconds; longer scenes are cut into consecutive clips of at most this length.'),
  Fps: num(0, { min: 0, max: 240 }, 'Frame rate of the clips (0 = keep the source rate).'),
  ShortSide: int(0, { min: 0, max: 4320 }, 'Short side of the clips in pixels, aspect kept (0 = keep the source size). 224 or 256 are usual.'),
  Copy: bool(false, 'Stream-copy clips of MP4/MOV files instead of re-encoding when no fps or size change is asked; starts snap forward to a keyframe and ends back to where the clip can be cut (a few frames early with B-frames).'),
  Audio: bool(false, 'Keep the audio track in clips (re-encoded to AAC).'),
  Crf: int(23, { min: 0, max: 51 }, 'x264 quality of re-encoded clips (lower is better and bigger).'),
  Preset: oneOf(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'] as const, 'veryfast', 'x264 speed preset of re-encoded clips.'),
  MaxClipsPerVideo: int(0, { min: 0 }, 'Most clips taken from one video, evenly spread (0 = no limit).'),
  MaxClipsPerClass: int(0, { min: 0 }, 'Most clips of one label, taken round-robin over videos (0 = no limit).'),
  Split: str('0.8,0.1,0.1', 'train,val,test ratios, or "list" to use the split column of a labelled list (rows without one fall back to 0.8,0.1,0.1).'),
  Seed: int(0, { min: 0 }, 'Seed of the split; the same seed and inputs give the same split.'),
  Formats: list(['folder', 'mmaction', 'manifest'], 'Outputs: folder (split/label/clip.mp4 + Kinetics CSV), mmaction, webdataset, manifest (dataset.json is always written).'),
  Dedup: bool(true, 'Remove near-duplicate clips (dHash of frames); duplicates across splits are removed first.'),
  DedupThreshold: int(10, { min: 0, max: 64 }, 'Mean differing bits (of 64) per sampled frame under which two clips are duplicates.'),
  DedupFrames: int(4, { min: 1, max: 32 }, 'Frames sampled per clip for the duplicate hash.'),
  ShardSize: bytes(256 * 1024 * 1024, 'Largest WebDataset shard before a new one starts (e.g. 256M, 1G).'),
} as const;
