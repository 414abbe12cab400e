/** The record: one JSON document per video, the same in every store (see DESIGN.md). */
import { isDeepStrictEqual } from 'node:util';

export type SourceKind = 'http' | 'ytdlp' | 'hls' | 'local';

export interface SourceInfo {
  url: string;
  kind: SourceKind;
  title?: string;
  uploader?: string;
  uploadedAt?: string;
  pageUrl?: string;
  description?: string;
  /** Duration the site states (yt-dlp), before any trimming; the probed one is metadata.durationSec. */
  durationSec?: number;
  fetchedAt: string;
  /**
   * Set when the input came from a labelled list (Kinetics-style CSV). `trim` says how start/end were cut:
   * `copy` (stream copy, a keyframe sat at the start) or `reencode`.
   */
  list?: { file: string; label?: string; split?: string; start?: number; end?: number; row?: number; trim?: 'copy' | 'reencode' };
}

export interface FileInfo {
  path: string;
  bytes: number;
  sha256: string;
  /** How the file reached the media folder. */
  storage?: 'reference' | 'link' | 'copy' | 'download';
}

export interface AudioInfo {
  codec: string;
  channels: number;
  sampleRate: number;
}

export interface VideoMetadata {
  durationSec: number;
  container: string;
  bitRate: number | null;
  /** Display size: after rotation, and with non-square pixels stretched as players show them. */
  width: number;
  height: number;
  /** The pixels' shape (width:height) when they are not square (DVD, HDV, broadcast: "32:27", "4:3"); absent when square. */
  sampleAspectRatio?: string;
  fps: number;
  /** Frames, when the container says or it can be derived. */
  frameCount?: number;
  /** Clockwise degrees (0, 90, 180, 270) the stored picture is turned for display, as the legacy rotate tag says. */
  rotation: number;
  videoCodec: string;
  pixelFormat?: string;
  bitDepth?: number;
  interlaced?: boolean;
  variableFrameRate?: boolean;
  /**
   * Seconds from the file's start (where players and ffmpeg's `-ss` count from) to the video's first frame, when
   * the video starts later than another stream (audio first, an empty edit). Scene frames and times count from the
   * video's first frame; seeks into the file add this. Absent when 0.
   */
  videoStartSec?: number;
  /**
   * The file's stream index of the video, when it is not the first video stream (a cover picture listed before
   * it: an MP4 whose metadata comes before its tracks). Decoding and seeking map this stream, not `0:v:0`.
   */
  videoStreamIndex?: number;
  /**
   * The file ends before its header says (cut short): what the header promised. `durationSec` and `frameCount`
   * are then what is really there.
   */
  truncated?: { headerSec: number; headerFrames: number };
  audio: AudioInfo | null;
  creationTime?: string;
  containerTags: Record<string, string>;
}

export type Transition = 'cut' | 'fade' | 'dissolve' | 'start';

export interface Scene {
  index: number;
  startSec: number;
  endSec: number;
  startFrame: number;
  /** Exclusive. */
  endFrame: number;
  keyframe?: string;
  transition: Transition;
  score: number;
  description?: string;
}

export interface AiDescription {
  model: string;
  /** Host and path only: no secrets, no query string. */
  endpoint: string;
  provider: string;
  template: string;
  templateHash?: string;
  instruction: string;
  description: string;
  tags: string[];
  category?: string;
  actions: string[];
  promptTokens: number;
  completionTokens: number;
  estimatedTokens?: number;
  framesSent: number;
  /** The answer stopped at [QwenVL] MaxOutputTokens: the description may end mid-sentence. */
  cutOff?: boolean;
  at: string;
}

/** `user`: a person's own edit (`videodex tag`), which tagging keeps over every other source. */
export type TagSource = 'filename' | 'metadata' | 'rule' | 'ai' | 'plugin' | 'list' | 'user';

export interface Tag {
  name: string;
  source: TagSource;
  confidence?: number;
  /** The rule (or plugin) that made it. */
  rule?: string;
}

export interface Category {
  name: string;
  source: TagSource | string;
  confidence?: number;
  rule?: string;
  /** 'action' for labels from the action vocabulary, 'category' for the others; absent on categories from outside tagging (acquisition). */
  kind?: 'category' | 'action';
  /** The model's own words when they were mapped (or could not be mapped: name 'unmapped'). */
  label?: string;
  /** How a model answer was mapped: exact, synonym, fuzzy, parent (ancestor of a mapped category), open. */
  match?: 'exact' | 'synonym' | 'fuzzy' | 'parent' | 'open' | 'none';
}

export type StageStatus = 'done' | 'failed' | 'skipped';

export interface StageEntry {
  status: StageStatus;
  version: string;
  inputHash: string;
  /**
   * For stages whose `inputHash` combines a digest of the record's inputs with the stage's setup (tag, classify):
   * that digest, so the hash under another setup is computed without reading the record again (see retag.ts).
   */
  inputDigest?: string;
  at: string;
  ms: number;
  error?: string;
  errorCode?: string;
  /** Why a stage was skipped (e.g. no model endpoint configured). */
  reason?: string;
}

export interface Video {
  id: string;
  source: SourceInfo;
  /** Other places the same content was reached from. */
  alsoFrom: SourceInfo[];
  file: FileInfo;
  metadata: VideoMetadata | null;
  scenes: Scene[];
  contactSheet?: string;
  ai: AiDescription | null;
  tags: Tag[];
  categories: Category[];
  /** Free-form results of plugin analysers, keyed by plugin name. */
  extra: Record<string, unknown>;
  stages: Record<string, StageEntry>;
  createdAt: string;
  updatedAt: string;
}

/** What a stage returns: the fields it changes. */
export type VideoPatch = Partial<Omit<Video, 'id' | 'stages' | 'createdAt' | 'updatedAt'>>;

export function newVideo(id: string, source: SourceInfo, file: FileInfo, now = new Date().toISOString()): Video {
  return {
    id,
    source,
    alsoFrom: [],
    file,
    metadata: null,
    scenes: [],
    ai: null,
    tags: [],
    categories: [],
    extra: {},
    stages: {},
    createdAt: now,
    updatedAt: now,
  };
}

/** The file name a person would call the video by. */
export function displayName(video: Pick<Video, 'id' | 'source' | 'file'>): string {
  return video.source.title ?? video.file.path.split(/[\\/]/).pop() ?? video.id;
}

/**
 * Where a record keeps a person's own tag edits (`videodex tag`, see tagging/user-tags.ts). Only the edit itself
 * changes them (`VideoStore.updateUserTags`): every other write of the record keeps what is stored, since a writer
 * holding an older copy (a `process` in its slow stages) would otherwise put the edits back as they were.
 */
export const USER_TAGS_KEY = '_userTags';

/**
 * `video` with the hand edits `from` has (none when `from` has none), the same object when they are already those.
 * How a store keeps the stored edits over a full write of a copy.
 */
export function withUserTagsOf<V extends Pick<Video, 'extra'>>(video: V, from: Pick<Video, 'extra'> | null | undefined): V {
  const has = from?.extra != null && Object.hasOwn(from.extra, USER_TAGS_KEY);
  const kept = has ? from!.extra[USER_TAGS_KEY] : undefined;
  const had = video.extra != null && Object.hasOwn(video.extra, USER_TAGS_KEY);
  // by value whatever the key order (PostgreSQL's jsonb gives keys back in its own order)
  if (has === had && isDeepStrictEqual(kept, had ? video.extra[USER_TAGS_KEY] : undefined)) return video;
  const { [USER_TAGS_KEY]: _given, ...others } = video.extra ?? {};
  return { ...video, extra: has ? { ...others, [USER_TAGS_KEY]: kept } : others };
}
