import { ConfigError, type Config } from '../../core/index.js';
import {
  DATASET_FORMATS,
  type ClipMode,
  type DatasetFormat,
  type DatasetOptions,
  type LabelSource,
  type SplitName,
  type SplitSpec,
} from './dataset-types.js';

/** `category`, `action`, `list` or `tag:<prefix>`. */
export function parseLabelSource(text: string): LabelSource {
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === 'category' || lower === 'categories') return { kind: 'category' };
  if (lower === 'action' || lower === 'actions') return { kind: 'action' };
  if (lower === 'list' || lower === 'labels') return { kind: 'list' };
  if (lower.startsWith('tag:')) {
    const prefix = t.slice(4);
    if (!prefix) throw new ConfigError('--labels tag:<prefix> needs a prefix, e.g. tag:action/');
    return { kind: 'tag', prefix };
  }
  throw new ConfigError(`--labels ${JSON.stringify(text)} is not allowed: expected category, action, list or tag:<prefix>`);
}

/** Seconds from `5`, `5s`, `2.5s`, `500ms`, `1m`. */
export function parseSeconds(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) throw new ConfigError(`${what} ${JSON.stringify(text)} is not a duration: expected e.g. 5s, 2.5, 500ms or 1m`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  return unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : n;
}

/** `scene`, `window:5s` or `window:5s:2.5s` (window length and stride). */
export function parseClipMode(text: string): ClipMode {
  const t = text.trim().toLowerCase();
  if (t === 'scene' || t === 'scenes') return { kind: 'scene' };
  if (t.startsWith('window')) {
    const parts = t.split(':');
    const seconds = parseSeconds(parts[1] ?? '', '--clip window length');
    const strideSec = parts[2] ? parseSeconds(parts[2], '--clip window stride') : seconds;
    if (seconds <= 0 || strideSec <= 0) throw new ConfigError(`--clip ${text}: window length and stride must be above 0`);
    return { kind: 'window', seconds, strideSec };
  }
  throw new ConfigError(`--clip ${JSON.stringify(text)} is not allowed: expected scene or window:<seconds>[:<stride>]`);
}

const DEFAULT_RATIOS: Record<SplitName, number> = { train: 0.8, val: 0.1, test: 0.1 };

function parseRatios(text: string): Record<SplitName, number> {
  const parts = text.split(/[,/:]/).map((s) => s.trim()).filter(Boolean);
  const nums = parts.map(Number);
  if (nums.length < 1 || nums.length > 3 || nums.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new ConfigError(`--split ${JSON.stringify(text)} is not allowed: expected train,val,test ratios like 0.8,0.1,0.1, or list`);
  }
  const [train = 0, val = 0, test = 0] = nums;
  const sum = train + val + test;
  if (sum <= 0) throw new ConfigError(`--split ${JSON.stringify(text)}: the ratios add up to 0`);
  return { train: train / sum, val: val / sum, test: test / sum };
}

/** `0.8,0.1,0.1` (normalised to sum 1), or `list` / `list:0.8,0.1,0.1` (the list's split, ratios for the rest). */
export function parseSplit(text: string): SplitSpec {
  const t = text.trim().toLowerCase();
  if (t === 'list') return { kind: 'list', fallback: DEFAULT_RATIOS };
  if (t.startsWith('list:')) return { kind: 'list', fallback: parseRatios(t.slice(5)) };
  return { kind: 'ratio', ratios: parseRatios(t) };
}

export function parseFormats(values: readonly string[]): DatasetFormat[] {
  const out = new Set<DatasetFormat>();
  for (const raw of values.flatMap((v) => v.split(','))) {
    const v = raw.trim().toLowerCase();
    if (!v) continue;
    const alias: Record<string, DatasetFormat> = { kinetics: 'folder', mmaction2: 'mmaction', wds: 'webdataset', json: 'manifest' };
    const f = (alias[v] ?? v) as DatasetFormat;
    if (!DATASET_FORMATS.includes(f)) {
      throw new ConfigError(`--format ${JSON.stringify(raw)} is not allowed: expected ${DATASET_FORMATS.join(', ')}`);
    }
    out.add(f);
  }
  out.add('manifest');
  return [...out];
}

/** Flag values of `videodex dataset build`; anything unset falls back to `[Dataset]` in the config. */
export interface DatasetFlags {
  labels?: string;
  clip?: string;
  minClip?: string | number;
  maxClip?: string | number;
  fps?: number;
  shortSide?: number;
  copy?: boolean;
  audio?: boolean;
  maxPerVideo?: number;
  maxPerClass?: number;
  split?: string;
  seed?: number;
  format?: string[];
  dedup?: boolean;
  dedupThreshold?: number;
  shardSize?: number;
  concurrency?: number;
}

/** The builder's options from the config's [Dataset] section and flags. Throws ConfigError on a bad value. */
export function datasetOptions(config: Config, outDir: string, flags: DatasetFlags = {}): DatasetOptions {
  const d = config.Dataset;
  const secs = (v: string | number | undefined, def: number, what: string) =>
    v === undefined ? def : typeof v === 'number' ? v : parseSeconds(v, what);
  const minClipSec = secs(flags.minClip, d.MinClipSec, '--min-clip');
  const maxClipSec = secs(flags.maxClip, d.MaxClipSec, '--max-clip');
  if (maxClipSec < minClipSec) throw new ConfigError(`--max-clip (${maxClipSec} s) is shorter than --min-clip (${minClipSec} s)`);
  const concurrency = flags.concurrency ?? config.Concurrency.Cpu;
  return {
    outDir,
    labels: parseLabelSource(flags.labels ?? d.Labels),
    clip: parseClipMode(flags.clip ?? d.Clip),
    minClipSec,
    maxClipSec,
    encode: {
      fps: flags.fps ?? d.Fps,
      shortSide: flags.shortSide ?? d.ShortSide,
      copy: flags.copy ?? d.Copy,
      audio: flags.audio ?? d.Audio,
      crf: d.Crf,
      preset: d.Preset,
    },
    maxClipsPerVideo: flags.maxPerVideo ?? d.MaxClipsPerVideo,
    maxClipsPerClass: flags.maxPerClass ?? d.MaxClipsPerClass,
    split: parseSplit(flags.split ?? d.Split),
    seed: flags.seed ?? d.Seed,
    formats: parseFormats(flags.format && flags.format.length > 0 ? flags.format : d.Formats),
    dedup: { enabled: flags.dedup ?? d.Dedup, threshold: flags.dedupThreshold ?? d.DedupThreshold, frames: d.DedupFrames },
    shardSize: flags.shardSize ?? d.ShardSize,
    concurrency: Math.max(1, concurrency),
  };
}
