import type { Command } from 'commander';
import { ConfigError, ExitCode } from '../../core/index.js';
import { enqueueItems, queueCounts, runWorker, STOP_WITHOUT_REDIS_MS } from '../../workflow/index.js';
import { outliveHangup } from '../hangup.js';
import { createReporter } from '../progress-reporter.js';
import { forcedStages } from '../forced-stages.js';
import { appFrom, collect, err, out, positiveInt, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface QueueFlags extends CommonFlags {
  redis?: string;
  queue?: string;
}

function withQueueOptions(cmd: Command): Command {
  return withConfigOptions(cmd)
    .option('--redis <url>', 'Redis URL ([Queue] RedisUrl)')
    .option('--queue <name>', 'queue name ([Queue] Name)');
}

function queueOverrides(flags: QueueFlags): Record<string, unknown> {
  return { 'Queue.RedisUrl': flags.redis, 'Queue.Name': flags.queue };
}

export function registerQueue(program: Command): void {
  withQueueOptions(
    program
      .command('enqueue')
      .description('put inputs on the BullMQ queue in Redis for `videodex worker` processes on any machine')
      .argument('[inputs...]', 'video files, folders, URLs (paths must be readable by the workers)'),
  )
    .option('-i, --input-file <file>', 'a list file (repeatable)', collect)
    .option('--retry-failed', 'workers run again what failed before')
    .option('--force <stage>', 'workers run this stage again (repeatable or comma-separated; "all" for every stage)', collect)
    .option('--json', 'the counts as JSON')
    .action(async (inputs: string[], flags: QueueFlags & { inputFile?: string[]; retryFailed?: boolean; force?: string[]; json?: boolean }) => {
      if (!inputs.length && !flags.inputFile?.length) throw new ConfigError('enqueue: give inputs or --input-file');
      const app = appFrom(flags, queueOverrides(flags));
      try {
        const force = await forcedStages(app, flags.force);
        const expanded = await app.expand(inputs, flags.inputFile ?? []);
        for (const p of expanded.problems) err(`videodex: ${p.raw}: ${p.message}`);
        const q = app.config.Queue;
        // each job names this library: a worker writing to another puts it back and stops
        const library = await (await app.store()).library();
        const r = await enqueueItems({ redisUrl: q.RedisUrl, name: q.Name }, expanded.items, {
          retryFailed: Boolean(flags.retryFailed),
          force,
          library,
        });
        for (const p of r.problems) err(`videodex: ${p.raw}: ${p.message}`);
        const problems = expanded.problems.length + r.problems.length;
        if (flags.json) out(JSON.stringify({ ...r, problems }));
        else err(`videodex: queued ${r.added} input(s) on ${q.Name}${r.alreadyQueued ? `, ${r.alreadyQueued} already queued` : ''}${r.updated ? ` (${r.updated} waiting given the new options)` : ''}`);
        process.exitCode = problems ? 1 : 0;
      } finally {
        await app.close();
      }
    });

  withQueueOptions(program.command('worker').description('process queued inputs (run on any number of machines sharing the database and media folder)'))
    .option('--concurrency <n>', 'videos at once ([Queue] WorkerConcurrency)', positiveInt)
    .option('--exit-when-empty', 'stop when the queue is empty (batch mode)')
    .option('-q, --quiet', 'only failures')
    .option('--use-vpc', 'call the model at [QwenVL] VpcEndpoint (workers inside the VPC)')
    .action(async (flags: QueueFlags & { concurrency?: number; exitWhenEmpty?: boolean; quiet?: boolean; useVpc?: boolean }) => {
      const app = appFrom(flags, { ...queueOverrides(flags), 'Queue.WorkerConcurrency': flags.concurrency, 'QwenVL.UseVpc': flags.useVpc ? true : undefined });
      const controller = new AbortController();
      let interrupted = false;
      const stopping = () => {
        if (controller.signal.aborted) return;
        if (!flags.quiet) err('videodex: stopping: putting the jobs in flight back on the queue');
        controller.abort();
      };
      const onInterrupt = () => {
        interrupted = true;
        stopping();
      };
      // SIGTERM is how a supervisor (systemd, Kubernetes) stops a worker: a clean stop, not a failure
      const onSignal = () => stopping();
      process.on('SIGINT', onInterrupt);
      process.on('SIGTERM', onSignal);
      const stopOutliving = outliveHangup(app.logger, 'worker');
      const reporter = createReporter(process.stderr, true);
      let redisLost = false;
      try {
        const runner = await app.runner();
        const library = await (await app.store()).library();
        const q = app.config.Queue;
        if (!flags.quiet) err(`videodex: worker on ${q.Name} (concurrency ${q.WorkerConcurrency})`);
        let failed = 0;
        let returned = 0;
        const r = await runWorker(runner, {
          redisUrl: q.RedisUrl,
          name: q.Name,
          concurrency: q.WorkerConcurrency,
          exitWhenEmpty: Boolean(flags.exitWhenEmpty),
          signal: controller.signal,
          library,
          logger: app.logger,
          onEvent: (e) => reporter.onEvent(e),
          onJob: (item, result) => {
            if (result.status === 'failed') failed++;
            const first = result.failures[0];
            // a failure of an earlier run is reported by nobody else: say what it was and how to try again
            const cause = result.status === 'failed' && first?.earlier ? `: ${first.stage}: ${first.error} (failed before; enqueue it with --retry-failed to try again)` : '';
            if (!flags.quiet || cause) err(`videodex: ${item.raw}${result.videoIds.length ? ` (${result.videoIds.join(',')})` : ''}: ${result.status}${cause}`);
          },
          onJobFailed: (input, error, attempts) => {
            failed++;
            err(`videodex: ${input}: failed after ${attempts} attempt(s): ${error} (enqueue it again to retry)`);
          },
          onJobReturned: (item) => {
            returned++;
            if (!flags.quiet) err(`videodex: ${item.raw}: stopped before its end; back on the queue`);
          },
        });
        if (r.redisLost) err(`videodex: stopped without Redis (unreachable for ${STOP_WITHOUT_REDIS_MS / 1000} s)`);
        for (const item of r.leftInFlight) err(`videodex: ${item.raw}: stopped before its end; Redis is unreachable, so it goes back to the queue once its lock runs out there`);
        err(`videodex: worker finished ${r.jobs} job(s), ${failed} with failures${returned ? `, ${returned} put back on the queue unfinished` : ''}${r.leftInFlight.length ? `, ${r.leftInFlight.length} left for Redis to hand out again` : ''}`);
        process.exitCode = interrupted ? ExitCode.Interrupted : failed ? 1 : 0;
        redisLost = r.redisLost;
      } finally {
        process.off('SIGINT', onInterrupt);
        process.off('SIGTERM', onSignal);
        stopOutliving();
        await app.close();
      }
      // BullMQ would go on trying to reach Redis, and the process with it
      if (redisLost) process.exit();
    });

  const queue = program.command('queue').description('inspect the BullMQ queue');
  withQueueOptions(queue.command('status').description('jobs waiting, active, delayed, completed and failed'))
    .option('--json', 'as JSON')
    .action(async (flags: QueueFlags & { json?: boolean }) => {
      const app = appFrom(flags, queueOverrides(flags));
      try {
        const q = app.config.Queue;
        const c = await queueCounts({ redisUrl: q.RedisUrl, name: q.Name });
        if (flags.json) out(JSON.stringify(c));
        else {
          const { failedJobs, ...counts } = c;
          const lines = Object.entries(counts).map(([k, v]) => `${k.padEnd(10)} ${v}`);
          if (failedJobs.length) lines.push(`failed jobs${c.failed > failedJobs.length ? ` (the newest ${failedJobs.length})` : ''}:`, ...failedJobs.map((f) => `  ${f.input}: failed after ${f.attempts} attempt(s)${f.at ? ` at ${f.at}` : ''}: ${f.error}`));
          out(lines.join('\n'));
        }
      } finally {
        await app.close();
      }
    });
}
