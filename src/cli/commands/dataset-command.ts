import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, ExitCode } from '../../core/index.js';
import { datasetStats, formatDatasetStats, splitHistoryLine, type DatasetFlags, type DatasetProgress, type DatasetReport } from '../../export/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, collect, err, out, positiveInt, withConfigOptions, type CommonFlags } from '../shared-options.js';

/**
 * The dataset options as flags: `--target-fps` because `--fps` is the search filter. Values that override a
 * `[Dataset]` key stay as typed: datasetOptions reads and checks them by that key's rule, as for config.ini.
 */
interface BuildFlags extends SearchFlags, CommonFlags {
  labels?: string;
  clip?: string;
  minClip?: string;
  maxClip?: string;
  targetFps?: string;
  shortSide?: string;
  copy?: boolean;
  audio?: boolean;
  maxPerVideo?: string;
  maxPerClass?: string;
  split?: string;
  seed?: string;
  format?: string[];
  dedup?: boolean;
  dedupThreshold?: string;
  shardSize?: string;
  concurrency?: number;
  resplit?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const PHASES: Record<DatasetProgress['phase'], string> = { plan: 'planning', clips: 'clips', dedup: 'dedup', write: 'writing' };

/** A bar on a terminal, a line per 10% otherwise; nothing with --quiet. */
function progressReporter(quiet: boolean): { onProgress(p: DatasetProgress): void; stop(): void } {
  const stream = process.stderr;
  if (quiet) return { onProgress() {}, stop() {} };
  let bar: cliProgress.SingleBar | null = null;
  let lastPhase = '';
  let lastTenth = -1;
  return {
    onProgress(p) {
      if (p.phase === 'clips' && stream.isTTY) {
        if (!bar) {
          bar = new cliProgress.SingleBar({ stream, format: ' clips |{bar}| {value}/{total} {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_grey);
          bar.start(p.total, p.done);
        } else bar.update(p.done);
        return;
      }
      if (p.phase === 'plan') return;
      const tenth = p.total ? Math.floor((10 * p.done) / p.total) : 0;
      if (p.phase !== lastPhase || (p.phase === 'clips' && tenth !== lastTenth)) {
        if (bar && p.phase !== 'clips') {
          bar.stop();
          bar = null;
        }
        lastPhase = p.phase;
        lastTenth = tenth;
        if (!stream.isTTY || p.phase !== 'clips') stream.write(`videodex: dataset ${PHASES[p.phase]} ${p.done}/${p.total}\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

export function formatReport(r: DatasetReport): string {
  const lines = [
    `videodex: dataset ${r.outDir}: ${r.clips} clips from ${r.videos} videos (train ${r.perSplit.train}, val ${r.perSplit.val}, test ${r.perSplit.test}), ` +
      `${Object.keys(r.perClass).length} classes; ${r.encoded} encoded, ${r.copied} stream-copied, ${r.reused} reused; ${(r.ms / 1000).toFixed(1)} s`,
  ];
  const splits = splitHistoryLine(r.splits);
  if (splits) lines.push(`  ${splits}`);
  for (const e of r.emptySplits ?? []) {
    lines.push(
      `videodex: dataset: ${e.split} has no clips though --split gives it ${+e.ratio.toFixed(3)}: each video's clips go to one split, and the ${r.videos} video(s) of ${Object.keys(r.perClass).length} class(es) left none for it (a class's first videos go to train); add videos, or leave ${e.split} out of --split`,
    );
  }
  if (r.duplicates.length) {
    const cross = r.duplicates.filter((d) => d.crossSplit).length;
    lines.push(`  near-duplicates removed: ${r.duplicates.length} (${cross} across splits); see dataset.json "duplicates"`);
    for (const d of r.duplicates.slice(0, 10)) lines.push(`    ${d.clip} (${d.split}) ~ ${d.duplicateOf} (${d.duplicateOfSplit}), ${d.distance} bits`);
  }
  if (r.skipped.length) {
    lines.push(`  ${r.skipped.length} video(s) skipped:`);
    for (const s of r.skipped.slice(0, 10)) lines.push(`    ${s.reason}`);
    if (r.skipped.length > 10) lines.push(`    ... ${r.skipped.length - 10} more in dataset.json "skipped"`);
  }
  // one line per video and cause: a video whose file is gone fails all its clips for one reason
  const causes = new Map<string, { f: DatasetReport['failed'][number]; n: number }>();
  for (const f of r.failed) {
    const key = `${f.videoId}\u0000${f.error}`;
    const seen = causes.get(key);
    if (seen) seen.n++;
    else causes.set(key, { f, n: 1 });
  }
  for (const { f, n } of [...causes.values()].slice(0, 10)) lines.push(`videodex: ${f.name}: ${n === 1 ? `clip ${f.clip}` : `${n} clips`}: ${f.error}`);
  if (causes.size > 10) lines.push(`videodex: ... ${causes.size - 10} more in dataset.json "failed"`);
  return lines.join('\n');
}

export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description('build and check action-recognition datasets (clips, labels, splits)');

  withSearchFlags(
    withConfigOptions(
      dataset
        .command('build')
        .description('cut labelled clips from matching videos into train/val/test, in formats trainers read')
        .argument('[query...]', 'free text, as for search: which videos'),
      { outIsDataDir: false },
    ),
  )
    .requiredOption('-o, --out <dir>', 'dataset folder (created; re-running resumes)')
    .option('--labels <source>', 'label source: category, action, list or tag:<prefix> ([Dataset] Labels)')
    .option('--clip <mode>', 'scene, or window:<sec>[:<stride>] ([Dataset] Clip)')
    .option('--min-clip <sec>', 'shortest clip, e.g. 1s ([Dataset] MinClipSec)')
    .option('--max-clip <sec>', 'longest clip; longer scenes are cut in parts ([Dataset] MaxClipSec)')
    .option('--target-fps <n>', 'clip frame rate, 0 keeps the source ([Dataset] Fps)')
    .option('--short-side <px>', 'clip short side, 0 keeps the source ([Dataset] ShortSide)')
    .option('--copy', 'stream copy (MP4/MOV) when no rate/size change; start and end snap inward to where a copy can cut ([Dataset] Copy)')
    .option('--audio', 'keep audio ([Dataset] Audio)')
    .option('--max-per-video <n>', 'most clips per video ([Dataset] MaxClipsPerVideo)')
    .option('--max-per-class <n>', 'most clips per label ([Dataset] MaxClipsPerClass)')
    .option('--split <spec>', 'train,val,test ratios like 0.8,0.1,0.1, or list ([Dataset] Split)')
    .option('--seed <n>', 'split seed ([Dataset] Seed)')
    .option('--resplit', 'split every video again, instead of keeping the split each source video had in the earlier build in --out')
    .option('--format <list>', 'folder, mmaction, webdataset, manifest; comma-separated or repeated ([Dataset] Formats)', collect)
    .option('--no-dedup', 'keep near-duplicate clips ([Dataset] Dedup)')
    .option('--dedup-threshold <bits>', 'mean differing bits per frame for a duplicate ([Dataset] DedupThreshold)')
    .option('--shard-size <size>', 'WebDataset shard size, e.g. 512M ([Dataset] ShardSize)')
    .option('--concurrency <n>', 'clips cut at once ([Concurrency] Cpu)', positiveInt)
    .option('--json', 'print the report as JSON on stdout')
    .option('-q, --quiet', 'no progress')
    .action(async (words: string[], flags: BuildFlags) => {
      if (!flags.out) throw new ConfigError('dataset build: --out <dir> is required');
      const app = appFrom({ ...flags, outIsFile: true }, { 'Concurrency.Cpu': flags.concurrency }, { flagNames: { 'Concurrency.Cpu': '--concurrency' } });
      const reporter = progressReporter(Boolean(flags.quiet));
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        err('videodex: stopping; finished clips are kept and a re-run resumes (Ctrl-C again to quit now)');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const q = queryFromFlags(words.join(' '), flags);
        const datasetFlags: DatasetFlags = {
          ...(flags.labels !== undefined ? { labels: flags.labels } : {}),
          ...(flags.clip !== undefined ? { clip: flags.clip } : {}),
          ...(flags.minClip !== undefined ? { minClip: flags.minClip } : {}),
          ...(flags.maxClip !== undefined ? { maxClip: flags.maxClip } : {}),
          ...(flags.targetFps !== undefined ? { fps: flags.targetFps } : {}),
          ...(flags.shortSide !== undefined ? { shortSide: flags.shortSide } : {}),
          ...(flags.copy ? { copy: true } : {}),
          ...(flags.audio ? { audio: true } : {}),
          ...(flags.maxPerVideo !== undefined ? { maxPerVideo: flags.maxPerVideo } : {}),
          ...(flags.maxPerClass !== undefined ? { maxPerClass: flags.maxPerClass } : {}),
          ...(flags.split !== undefined ? { split: flags.split } : {}),
          ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
          ...(flags.format?.length ? { format: flags.format } : {}),
          ...(flags.dedup === false ? { dedup: false } : {}),
          ...(flags.dedupThreshold !== undefined ? { dedupThreshold: flags.dedupThreshold } : {}),
          ...(flags.shardSize !== undefined ? { shardSize: flags.shardSize } : {}),
          ...(flags.resplit ? { resplit: true } : {}),
        };
        let report: Awaited<ReturnType<typeof app.buildDataset>>;
        try {
          report = await app.buildDataset(q, flags.out, datasetFlags, { onProgress: (p) => reporter.onProgress(p), signal: controller.signal });
        } catch (e) {
          if (!controller.signal.aborted) throw e;
          // the clip in flight failed because it was stopped: no fault of ffmpeg (which exit 4 would have said)
          reporter.stop();
          err('videodex: dataset build stopped by Ctrl-C; finished clips are kept, and the same command goes on from there');
          process.exitCode = ExitCode.Interrupted;
          return;
        }
        reporter.stop();
        err(formatReport(report));
        if (flags.json) out(JSON.stringify(report));
        process.exitCode = report.failed.length ? ExitCode.SomeFailed : ExitCode.Ok;
      } finally {
        reporter.stop();
        process.off('SIGINT', onSigint);
        await app.close();
      }
    });

  dataset
    .command('stats')
    .description('class balance per split, clip lengths, leakage check and duplicates of a built dataset')
    .argument('<dir>', 'dataset folder (with dataset.json)')
    .option('--json', 'as JSON')
    .option('--bin <sec>', 'histogram bin width in seconds', (v: string) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError('expected a number above 0');
      return n;
    })
    .action((dir: string, flags: { json?: boolean; bin?: number }) => {
      const s = datasetStats(dir, flags.bin ? { histogramBinSec: flags.bin } : {});
      out(flags.json ? JSON.stringify(s, null, 2) : formatDatasetStats(s));
      // a finished build whose every clip failed is as empty to a trainer as no dataset: exit 1 says so to scripts
      if (s.clips === 0) err(`videodex: dataset: ${dir} has no clips${s.failedClips ? `: all ${s.failedClips} failed at build (see "failed" in dataset.json)` : ''}`);
      const bad = s.leakedVideos.length + s.leakedSources.length + s.crossSplitNearDuplicates.length + s.missingFiles.length + s.damagedFiles.length;
      process.exitCode = bad || s.clips === 0 ? ExitCode.SomeFailed : ExitCode.Ok;
    });
}
