import { CONFIG_SPEC, ConfigError, type Config } from '../../core/index.js';
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
    if (!prefix) throw new ConfigError('--labels tag:<prefix> needs a prefix, e.g. tag:action-');
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
  // an empty place is an error, not skipped: `0.8,,0.2` means no val and 0.2 test, and read as 0.8,0.2 it was val
  const parts = text.split(/[,/:]/).map((s) => s.trim());
  // decimals only: Number() also read 0x10 as 16 and 0b1 as 1, and 1e308,1e308 added up to Infinity (every ratio 0)
  const nums = parts.map((p) => (/^(\d+\.?\d*|\.\d+)$/.test(p) ? Number(p) : NaN));
  if (nums.length < 1 || nums.length > 3 || nums.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new ConfigError(`--split ${JSON.stringify(text)} is not allowed: expected train,val,test ratios like 0.8,0.1,0.1, or list`);
  }
  const [train = 0, val = 0, test = 0] = nums;
  const sum = train + val + test;
  if (!Number.isFinite(sum)) throw new ConfigError(`--split ${JSON.stringify(text)} is not allowed: expected train,val,test ratios like 0.8,0.1,0.1, or list`);
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

/**
 * Flag values of `videodex dataset build`; anything unset falls back to `[Dataset]` in the config. A value may be
 * the flag's text as typed: it is read and checked by the same rule as its `[Dataset]` key (as config.ini and
 * `VIDEODEX_DATASET_*` are), so a flag can never set what the config would refuse.
 */
export interface DatasetFlags {
  labels?: string;
  clip?: string;
  /** Seconds, or a duration like `1s`, `500ms`. */
  minClip?: string | number;
  maxClip?: string | number;
  fps?: string | number;
  shortSide?: string | number;
  copy?: boolean;
  audio?: boolean;
  maxPerVideo?: string | number;
  maxPerClass?: string | number;
  split?: string;
  seed?: string | number;
  format?: string[];
  dedup?: boolean;
  dedupThreshold?: string | number;
  /** Bytes, or a size like `512M`. */
  shardSize?: string | number;
  concurrency?: number;
  /** Split every video again instead of keeping the earlier build's splits (see DatasetOptions.resplit). */
  resplit?: boolean;
}

/**
 * Which `[Dataset]` key each flag overrides, and the flag's name in messages. The key's schema in
 * src/core/config/sections/dataset.ts is the one rule for both; `seconds` flags also take durations (`500ms`).
 */
const FLAG_KEYS = {
  minClip: { key: 'MinClipSec', flag: '--min-clip', seconds: true },
  maxClip: { key: 'MaxClipSec', flag: '--max-clip', seconds: true },
  fps: { key: 'Fps', flag: '--target-fps' },
  shortSide: { key: 'ShortSide', flag: '--short-side' },
  copy: { key: 'Copy', flag: '--copy' },
  audio: { key: 'Audio', flag: '--audio' },
  maxPerVideo: { key: 'MaxClipsPerVideo', flag: '--max-per-video' },
  maxPerClass: { key: 'MaxClipsPerClass', flag: '--max-per-class' },
  seed: { key: 'Seed', flag: '--seed' },
  dedup: { key: 'Dedup', flag: '--no-dedup' },
  dedupThreshold: { key: 'DedupThreshold', flag: '--dedup-threshold' },
  shardSize: { key: 'ShardSize', flag: '--shard-size' },
} as const satisfies Partial<Record<keyof DatasetFlags, { key: keyof Config['Dataset']; flag: string; seconds?: true }>>;

type CheckedFlag = keyof typeof FLAG_KEYS;
type ValueOf<F extends CheckedFlag> = Config['Dataset'][(typeof FLAG_KEYS)[F]['key']];

/**
 * A flag's value, or the config's when the flag is unset, checked by its `[Dataset]` key's schema (which also
 * reads text, as from config.ini). Throws ConfigError naming the flag, the value and what the key allows.
 */
function flagOr<F extends CheckedFlag>(config: Config, flags: DatasetFlags, name: F): ValueOf<F> {
  const entry: { key: keyof Config['Dataset']; flag: string; seconds?: true } = FLAG_KEYS[name];
  const { key, flag } = entry;
  const raw = flags[name];
  if (raw === undefined) return config.Dataset[key] as ValueOf<F>;
  const value = entry.seconds && typeof raw === 'string' ? parseSeconds(raw, flag) : raw;
  const spec = CONFIG_SPEC.Dataset[key];
  const result = spec.schema.safeParse(value);
  if (!result.success) {
    const allowed = spec.allowed + (entry.seconds ? ' (seconds)' : '');
    throw new ConfigError(`${flag} ${JSON.stringify(raw)} is not allowed: expected ${allowed}, as for [Dataset] ${key}`);
  }
  return result.data as ValueOf<F>;
}

/** The builder's options from the config's [Dataset] section and flags. Throws ConfigError on a bad value. */
export function datasetOptions(config: Config, outDir: string, flags: DatasetFlags = {}): DatasetOptions {
  const d = config.Dataset;
  const minClipSec = flagOr(config, flags, 'minClip');
  const maxClipSec = flagOr(config, flags, 'maxClip');
  if (maxClipSec < minClipSec) {
    const min = flags.minClip !== undefined ? '--min-clip' : '[Dataset] MinClipSec';
    const max = flags.maxClip !== undefined ? '--max-clip' : '[Dataset] MaxClipSec';
    throw new ConfigError(`${max} (${maxClipSec} s) is shorter than ${min} (${minClipSec} s)`);
  }
  const concurrency = flags.concurrency ?? config.Concurrency.Cpu;
  return {
    outDir,
    labels: parseLabelSource(flags.labels ?? d.Labels),
    clip: parseClipMode(flags.clip ?? d.Clip),
    minClipSec,
    maxClipSec,
    encode: {
      fps: flagOr(config, flags, 'fps'),
      shortSide: flagOr(config, flags, 'shortSide'),
      copy: flagOr(config, flags, 'copy'),
      audio: flagOr(config, flags, 'audio'),
      crf: d.Crf,
      preset: d.Preset,
    },
    maxClipsPerVideo: flagOr(config, flags, 'maxPerVideo'),
    maxClipsPerClass: flagOr(config, flags, 'maxPerClass'),
    split: parseSplit(flags.split ?? d.Split),
    seed: flagOr(config, flags, 'seed'),
    formats: parseFormats(flags.format && flags.format.length > 0 ? flags.format : d.Formats),
    dedup: { enabled: flagOr(config, flags, 'dedup'), threshold: flagOr(config, flags, 'dedupThreshold'), frames: d.DedupFrames },
    shardSize: flagOr(config, flags, 'shardSize'),
    concurrency: Math.max(1, concurrency),
    ...(flags.resplit ? { resplit: true } : {}),
  };
}
