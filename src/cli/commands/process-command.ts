import type { Command } from 'commander';
import { ConfigError, ExitCode } from '../../core/index.js';
import type { RunEvent } from '../../workflow/index.js';
import { createReporter, formatSummary } from '../progress-reporter.js';
import { forcedStages } from '../forced-stages.js';
import { watchForStuckStages } from '../stuck-run.js';
import { appFrom, collect, err, number, out, positiveInt, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface ProcessFlags extends CommonFlags {
  inputFile?: string[];
  concurrencyDownloads?: number;
  concurrencyCpu?: number;
  concurrencyAi?: number;
  retryFailed?: boolean;
  force?: string[];
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  sceneThreshold?: number;
  qwenInstruction?: string;
  useVpc?: boolean;
  template?: string;
  model?: string;
  endpoint?: string;
}

export function registerProcess(program: Command): void {
  withConfigOptions(
    program
      .command('process')
      .description('acquire, probe, analyse and index videos from files, folders, URLs and lists')
      .argument('[inputs...]', 'video files, folders (recursive), http(s) URLs'),
  )
    .option('-i, --input-file <file>', 'a list: one URL or path a line, # comments (repeatable)', collect)
    .option('--concurrency-downloads <n>', 'downloads at once ([Concurrency] Downloads)', positiveInt)
    .option('--concurrency-cpu <n>', 'ffmpeg/ffprobe jobs at once ([Concurrency] Cpu)', positiveInt)
    .option('--concurrency-ai <n>', 'model requests at once ([Concurrency] Ai)', positiveInt)
    .option('--retry-failed', 'run again what failed in earlier runs; with no inputs, exactly the failed inputs and the videos with a failed stage')
    .option('--force <stage>', 'run a stage again even if up to date (repeatable or comma-separated; "all" for every stage)', collect)
    .option('--dry-run', 'say what would run, run nothing')
    .option('--json', 'results as JSON lines on stdout')
    .option('-q, --quiet', 'no progress, only failures and the summary')
    .option('--scene-threshold <n>', 'scene cut threshold ([SceneDetection] Threshold)', number)
    .option('--qwen-instruction <text>', 'instruction for the model ([QwenVL] DefaultInstruction)')
    .option('--use-vpc', 'use [QwenVL] VpcEndpoint instead of PublicEndpoint')
    .option('--template <name>', 'prompt template: a name under templates/ or a file ([QwenVL] Template)')
    .option('--model <name>', 'model name sent to the server ([QwenVL] Model)')
    .option('--endpoint <url>', 'model endpoint for this run ([QwenVL] PublicEndpoint, or VpcEndpoint with --use-vpc)')
    .action(async (inputs: string[], flags: ProcessFlags) => {
      if (!inputs.length && !flags.inputFile?.length && !flags.retryFailed) {
        throw new ConfigError('process: give inputs (files, folders, URLs), --input-file, or --retry-failed');
      }
      const app = appFrom(flags, {
        'Concurrency.Downloads': flags.concurrencyDownloads,
        'Concurrency.Cpu': flags.concurrencyCpu,
        'Concurrency.Ai': flags.concurrencyAi,
        'SceneDetection.Threshold': flags.sceneThreshold,
        'QwenVL.DefaultInstruction': flags.qwenInstruction,
        'QwenVL.UseVpc': flags.useVpc ? true : undefined,
        'QwenVL.Template': flags.template,
        'QwenVL.Model': flags.model,
        [flags.useVpc ? 'QwenVL.VpcEndpoint' : 'QwenVL.PublicEndpoint']: flags.endpoint,
      }, { logToFile: !flags.dryRun });
      const force = await forcedStages(app, flags.force);
      await app.loadPlugins();
      const reporter = createReporter(process.stderr, Boolean(flags.quiet));
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        // every stage takes the signal (a download, ffmpeg, a model call): they are cut short, not waited for
        err('videodex: stopping: the stages in flight are cut short and run again next time (Ctrl-C again to quit now)');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      const stuck = watchForStuckStages(err, () => reporter.stop());
      const results = jsonResults();
      try {
        const onlyFailed = Boolean(flags.retryFailed) && !inputs.length && !flags.inputFile?.length;
        const summary = await app.process(inputs, {
          onlyFailed,
          listFiles: flags.inputFile ?? [],
          retryFailed: Boolean(flags.retryFailed),
          force,
          dryRun: Boolean(flags.dryRun),
          signal: controller.signal,
          onEvent: (e: RunEvent) => {
            stuck.onEvent(e);
            reporter.onEvent(e);
            if (flags.json) results(e);
          },
        });
        reporter.stop();
        const stopped = controller.signal.aborted;
        err(formatSummary(summary, Boolean(flags.dryRun)));
        // what was done is kept; the same command carries on from there (nothing is recorded as failed)
        if (stopped) err('videodex: stopped by Ctrl-C before every input was done; run the same command again to go on');
        if (flags.json) out(JSON.stringify({ type: 'summary', ...summary, ...(stopped ? { stopped: true } : {}) }));
        process.exitCode = stopped ? ExitCode.Interrupted : summary.failures.length || summary.problems.length ? ExitCode.SomeFailed : ExitCode.Ok;
      } finally {
        process.off('SIGINT', onSigint);
        stuck.stop();
        reporter.stop();
        await app.close();
      }
    });
}

/**
 * The `--json` result line of each input. A failed input's line carries the stage that failed, its one-line
 * error (the text of the stderr failure line) and its code when there is one, from the input's first failed
 * `stage-end` event.
 */
function jsonResults(): (e: RunEvent) => void {
  const failures = new Map<string, { stage: string; error: string; code?: string }>();
  return (e) => {
    if (e.type === 'stage-end' && (e.outcome === 'failed' || e.outcome === 'failed-before') && !failures.has(e.input.key)) {
      failures.set(e.input.key, { stage: e.stage, error: e.error || 'failed', ...(e.errorCode ? { code: e.errorCode } : {}) });
    }
    if (e.type !== 'input-end') return;
    const failure = e.status === 'failed' ? failures.get(e.input.key) : undefined;
    failures.delete(e.input.key);
    // rows of a list that cut clips from one video share its URL as `input`: the list and row tell them apart, as
    // the stderr line (`urls.txt row 4: ...`) does
    const list = e.input.list?.row !== undefined ? { list: e.input.list.file, row: e.input.list.row } : {};
    out(JSON.stringify({ type: 'result', input: e.input.raw, ...list, videoId: e.videoId, status: e.status, stagesRun: e.ran, ...failure }));
  };
}
