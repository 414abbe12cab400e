import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import { AppError, ConfigError, type Logger } from '../../core/index.js';
import { segmentAddress, type InputItem } from '../../sources/index.js';
import type { LibraryIdentity } from '../../store/index.js';
import type { PipelineRunner } from '../pipeline-runner.js';
import type { RunEvent, RunSummary } from '../run-events.js';

/** What one job carries: one input, and how to treat earlier results. */
export interface VideoJobData {
  item: InputItem;
  retryFailed?: boolean;
  force?: string[];
  /** The library it was queued for (jobs queued before jobs carried it have none, and any worker takes them). */
  library?: LibraryIdentity;
}

/** What a finished job stores in Redis: enough to report, never the record itself. */
export interface VideoJobResult {
  videoIds: string[];
  status: 'done' | 'unchanged' | 'failed';
  /** `earlier`: the stage failed in an earlier run, and was not run again (enqueue with --retry-failed for that). */
  failures: Array<{ stage: string; error: string; earlier?: boolean }>;
}

export interface QueueSettings {
  redisUrl: string;
  name: string;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** The newest failed jobs (up to FAILED_SHOWN), newest first: what failed and why, wherever its worker ran. */
  failedJobs: FailedJob[];
}

/** A job that failed for good, as the queue keeps it. */
export interface FailedJob {
  input: string;
  attempts: number;
  error: string;
  /** When it failed (ISO 8601), when Redis kept it. */
  at: string | null;
}

/** How many failed jobs `queue status` names. */
export const FAILED_SHOWN = 20;

// bullmq and ioredis load only when a queue is used: a single-machine user never pays for them.
async function loadDrivers() {
  const [{ Queue, Worker, DelayedError, UnrecoverableError }, { Redis }] = await Promise.all([import('bullmq'), import('ioredis')]);
  return { Queue, Worker, DelayedError, UnrecoverableError, Redis };
}

type RedisClass = Awaited<ReturnType<typeof loadDrivers>>['Redis'];

/**
 * Connects, or fails within seconds with a clear error (ioredis alone retries forever). The URL's password is
 * never part of the message.
 */
async function connect(Redis: RedisClass, url: string): Promise<InstanceType<RedisClass>> {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    // stays null
  }
  // `queue-host:6379` parses as a URL of scheme `queue-host:`, with no host
  if (!u || !['redis:', 'rediss:'].includes(u.protocol) || !u.hostname) throw new ConfigError(`[Queue] RedisUrl is not a Redis URL (expected redis://host:port or rediss://host:port)`);
  const where = `Redis at ${u.hostname}:${u.port || 6379}`;
  const client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: 5000, retryStrategy: (n: number) => (n > 3 ? null : 250 * n) });
  // the cause (refused, host not found, timed out): the connect promise itself only says the connection closed
  let cause: string | null = null;
  client.on('error', (e: Error) => (cause = e.message));
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new AppError('E_QUEUE', `cannot reach ${where}: ${cause ?? (err as Error).message}`, { cause: err, retryable: true });
  }
  // ioredis selects the URL's database on connecting, and when Redis refuses (an index past its `databases`) it
  // says so only in an error event and goes on in database 0: workers meant to be kept apart by it shared one queue.
  const db = client.options.db ?? 0;
  if (db !== 0) {
    try {
      await client.select(db);
    } catch (err) {
      client.disconnect();
      throw new ConfigError(`[Queue] RedisUrl names database ${db}, which ${where} refused: ${(err as Error).message}`, { cause: err });
    }
  }
  // Once connected, a worker should ride out Redis restarts: retry without a limit from here on.
  client.options.retryStrategy = (n: number) => Math.min(n * 500, 5000);
  return client;
}

/** A job id from the input's identity: enqueueing the same input twice while it waits adds it once. */
export function jobIdFor(item: InputItem): string {
  return createHash('sha256').update(item.key).digest('hex').slice(0, 40);
}

/** Whether a list row says something about its video (a label or a split), not only where it is. */
const labelled = (list: InputItem['list']): boolean => list !== undefined && (list.label !== undefined || list.split !== undefined);

/**
 * A waiting job's data with the options of a later enqueue added: forced stages joined, retry-failed if either
 * asked, and the label and split of a list row naming its input when the job has none (as `process` takes them).
 */
export function withLaterOptions(data: VideoJobData, options: { retryFailed?: boolean; force?: readonly string[] }, later?: InputItem): VideoJobData | null {
  const force = [...new Set([...(data.force ?? []), ...(options.force ?? [])])];
  const retryFailed = Boolean(data.retryFailed || options.retryFailed);
  const list = later?.list && labelled(later.list) && !labelled(data.item.list) ? { ...data.item.list, ...later.list } : undefined;
  if (force.length === (data.force?.length ?? 0) && retryFailed === Boolean(data.retryFailed) && !list) return null;
  return { ...data, ...(retryFailed ? { retryFailed: true } : {}), ...(force.length ? { force } : {}), ...(list ? { item: { ...data.item, list } } : {}) };
}

/** Why a later list row's label or split cannot go with a job already queued for its input, or null when it can or says none. */
function laterListProblem(queued: InputItem, later: InputItem, running: boolean): string | null {
  if (!later.list || !labelled(later.list)) return null;
  const said = (l: NonNullable<InputItem['list']>) => `${l.file}${l.row !== undefined ? ` row ${l.row}` : ''} (label ${JSON.stringify(l.label ?? '')}, split ${JSON.stringify(l.split ?? '')})`;
  if (queued.list && labelled(queued.list)) {
    if (queued.list.label === later.list.label && queued.list.split === later.list.split) return null;
    return `listed again in ${said(later.list)}; the job already queued, from ${said(queued.list)}, is used`;
  }
  return running ? `running now without the label of ${said(later.list)}; enqueue it again once it is done` : null;
}

/**
 * The inputs with `shared` set on list rows that cut clips out of the same video as other rows here, so the workers
 * fetch that video once for all of them (see `InputItem.shared`). A group is named by its video and its rows: the
 * same list queued again names the same group.
 */
export function withSharedWholes(items: readonly InputItem[]): InputItem[] {
  const byAddress = new Map<string, string[]>();
  for (const item of items) {
    const at = segmentAddress(item);
    if (at) byAddress.set(at, [...(byAddress.get(at) ?? []), item.key]);
  }
  const groups = new Map<string, { group: string; rows: number }>();
  for (const [at, keys] of byAddress) {
    const rows = new Set(keys);
    if (rows.size > 1) groups.set(at, { group: createHash('sha256').update([at, ...[...rows].sort()].join('\0')).digest('hex').slice(0, 24), rows: rows.size });
  }
  return items.map((item) => {
    const at = segmentAddress(item);
    const shared = at ? groups.get(at) : undefined;
    return shared ? { ...item, shared } : item;
  });
}

/**
 * Adds one job per input. Returns how many were added, how many were already waiting or running, and how many of
 * those that still wait took this call's --force / --retry-failed (a running job keeps what it started with).
 */
export async function enqueueItems(
  settings: QueueSettings,
  items: readonly InputItem[],
  options: { retryFailed?: boolean; force?: string[]; attempts?: number; library?: LibraryIdentity } = {},
): Promise<{ added: number; alreadyQueued: number; updated: number; problems: Array<{ raw: string; message: string }> }> {
  const { Queue, Redis } = await loadDrivers();
  const connection = await connect(Redis, settings.redisUrl);
  const queue = new Queue<VideoJobData, VideoJobResult>(settings.name, { connection });
  items = withSharedWholes(items);
  try {
    let added = 0;
    let alreadyQueued = 0;
    let updated = 0;
    const problems: Array<{ raw: string; message: string }> = [];
    for (let i = 0; i < items.length; i += 500) {
      const batch = items.slice(i, i + 500);
      const ids = batch.map(jobIdFor);
      const existing = await Promise.all(ids.map((id) => queue.getJobState(id)));
      const fresh = batch.filter((_, j) => !['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes(existing[j] as string));
      // A finished job with the same id would block the new one: clear it, its work is on the record.
      await Promise.all(fresh.map((item) => queue.remove(jobIdFor(item)).catch(() => 0)));
      alreadyQueued += batch.length - fresh.length;
      // re-enqueueing with --force, or from a labelled list, used to count the input as queued and drop what it added
      const adds = Boolean(options.retryFailed || options.force?.length);
      const isWaiting = (j: number) => ['waiting', 'delayed', 'prioritized'].includes(existing[j] as string);
      // a batch's jobs read at once, as their states are: a large list enqueued again is one round trip a batch
      const queued = batch.map((_, j) => j).filter((j) => (isWaiting(j) || existing[j] === 'active') && (adds || labelled(batch[j]!.list)));
      const jobs = await Promise.all(queued.map((j) => queue.getJob(ids[j]!)));
      const updates: Array<Promise<void>> = [];
      for (const [k, j] of queued.entries()) {
        const job = jobs[k];
        if (!job) continue;
        const item = batch[j]!;
        const problem = laterListProblem(job.data.item, item, !isWaiting(j));
        if (problem) problems.push({ raw: item.raw, message: problem });
        const next = isWaiting(j) ? withLaterOptions(job.data, options, item) : null;
        if (next) updates.push(job.updateData(next));
      }
      await Promise.all(updates);
      updated += updates.length;
      await queue.addBulk(
        fresh.map((item) => ({
          name: 'video',
          data: { item, ...(options.retryFailed ? { retryFailed: true } : {}), ...(options.force?.length ? { force: options.force } : {}), ...(options.library ? { library: options.library } : {}) },
          opts: {
            jobId: jobIdFor(item),
            attempts: options.attempts ?? 3,
            backoff: { type: 'exponential', delay: 5000 },
            removeOnComplete: { count: 10_000 },
            removeOnFail: { count: 10_000 },
          },
        })),
      );
      added += fresh.length;
    }
    return { added, alreadyQueued, updated, problems };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

export async function queueCounts(settings: QueueSettings): Promise<QueueCounts> {
  const { Queue, Redis } = await loadDrivers();
  const connection = await connect(Redis, settings.redisUrl);
  const queue = new Queue(settings.name, { connection });
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    // the failure was said only on the stderr of the worker that had it, often on another machine
    const failedJobs = (await queue.getFailed(0, FAILED_SHOWN - 1)).filter(Boolean).map((j) => ({
      input: (j.data as Partial<VideoJobData> | undefined)?.item?.raw ?? `job ${j.id}`,
      attempts: j.attemptsMade,
      error: j.failedReason ? jobFailureText(j.failedReason) : 'no reason recorded',
      at: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    }));
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, failedJobs };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

export interface WorkerOptions extends QueueSettings {
  concurrency: number;
  /** Stop once nothing is waiting and this worker's jobs are done (batch mode). */
  exitWhenEmpty?: boolean;
  signal?: AbortSignal;
  logger: Logger;
  onEvent?: (e: RunEvent) => void;
  onJob?: (item: InputItem, result: VideoJobResult) => void;
  /** A job that failed for good: every attempt failed on an error outside the video (the database, Redis). */
  onJobFailed?: (input: string, error: string, attempts: number) => void;
  /** A job this worker stopped before its end (Ctrl-C, SIGTERM): back on the queue for any worker. */
  onJobReturned?: (item: InputItem) => void;
  /** The library this worker files videos into: a job queued for another is put back, and the worker stops. */
  library?: LibraryIdentity;
}

/** A job queued for a library other than the worker's: the worker put it back and stopped (exit 3). */
export class WrongLibraryError extends ConfigError {
  constructor(readonly item: InputItem, queued: LibraryIdentity, worker: LibraryIdentity) {
    super(
      `${item.raw}: queued for the library at ${queued.where}, but this worker files videos into ${worker.where}; ` +
        `start workers with the enqueuer's [Database] settings (the job is back on the queue, untouched)`,
    );
  }
}

/**
 * Times a job may be found stalled (its worker died or hung: a crash, SIGKILL, a machine lost) and go back to the
 * queue before it fails. BullMQ's default, 1, failed a job for good after its worker died twice, with no word.
 */
export const MAX_STALLED = 3;

const STALLED = /stalled more than allowable limit/;

/**
 * A job's failure as people read it: BullMQ's own words for a job whose worker kept dying under it ("job stalled
 * more than allowable limit") said nothing of what happened or what to do.
 */
export function jobFailureText(reason: string): string {
  if (!STALLED.test(reason)) return reason;
  return `the worker running it stopped ${MAX_STALLED + 1} times before finishing it (killed, out of memory, or its machine lost; see the workers' logs); enqueue it again to retry`;
}

function resultOf(summary: RunSummary): VideoJobResult {
  return {
    videoIds: summary.videos,
    status: summary.failures.length ? 'failed' : summary.stagesRun ? 'done' : 'unchanged',
    failures: summary.failures.map((f) => ({ stage: f.stage, error: f.error, ...(f.earlier ? { earlier: true } : {}) })),
  };
}

export interface WorkerOutcome {
  /** Jobs this worker finished. */
  jobs: number;
  /**
   * Redis was unreachable when the worker was told to stop, and stayed so for STOP_WITHOUT_REDIS_MS: the worker
   * stopped without it. BullMQ's timers then keep retrying Redis for ever; end the process.
   */
  redisLost: boolean;
  /** With redisLost: the inputs of the jobs it stopped and could not put back (Redis hands them out again once their lock runs out). */
  leftInFlight: InputItem[];
}

/**
 * How long a stopping worker waits for Redis to come back before it gives up putting its jobs in flight back. BullMQ
 * waits for Redis without end to close, so a worker told to stop while Redis was gone never stopped (SIGTERM and
 * Ctrl-C alike, any number of times). What it leaves is not lost: its lock runs out and the job is taken back.
 */
export const STOP_WITHOUT_REDIS_MS = 5000;

/**
 * Runs jobs from the queue through the same runner as `process`: same stages, records and cache rules. A
 * video's failure is recorded on its record and completes the job; only infrastructure errors (the database
 * gone) fail the job, which BullMQ then retries with backoff.
 */
export async function runWorker(runner: PipelineRunner, options: WorkerOptions): Promise<WorkerOutcome> {
  const { Worker, Queue, DelayedError, UnrecoverableError, Redis } = await loadDrivers();
  const connection = await connect(Redis, options.redisUrl);
  let jobs = 0;
  let wrongLibrary: WrongLibraryError | null = null;
  // jobs taken and not yet ended (a job being put back included): what a worker that gives up on Redis leaves
  const inFlight = new Set<InputItem>();
  const worker = new Worker<VideoJobData, VideoJobResult>(
    options.name,
    async (job, token) => {
      // A job without an input (put on this queue by another program, or by hand) failed every attempt on a
      // TypeError, and then the failure handler itself threw on it: the worker said nothing and exited 0.
      if (typeof job.data?.item?.key !== 'string' || typeof job.data.item.raw !== 'string') throw new UnrecoverableError(`not a videodex job (no input in its data); put inputs on the queue with videodex enqueue`);
      inFlight.add(job.data.item);
      try {
        return await processJob(job, token);
      } finally {
        inFlight.delete(job.data.item);
      }
    },
    { connection, concurrency: options.concurrency, autorun: false, maxStalledCount: MAX_STALLED },
  );
  async function processJob(job: Job<VideoJobData, VideoJobResult>, token: string | undefined): Promise<VideoJobResult> {
    const queued = job.data.library;
    if (queued && options.library && queued.id !== options.library.id) {
      // Filed here, the video would land in a library its enqueuer never reads, and the job would say done. Put
      // back at once for a worker of that library; this one is misconfigured for the queue, so it takes no more.
      await job.moveToDelayed(Date.now(), token);
      wrongLibrary ??= new WrongLibraryError(job.data.item, queued, options.library);
      void worker.close();
      throw new DelayedError();
    }
    const summary = await runner.run([job.data.item], {
      retryFailed: Boolean(job.data.retryFailed) || job.attemptsMade > 0,
      force: job.data.force ?? [],
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
    if (options.signal?.aborted && summary.done + summary.unchanged + summary.failed < summary.inputs) {
      // stopped before the video's last stage: not done. Back on the queue at once, for this or another worker,
      // without using up an attempt (what it finished is on the record, and the next run skips it)
      await job.moveToDelayed(Date.now(), token);
      options.onJobReturned?.(job.data.item);
      throw new DelayedError();
    }
    jobs++;
    const result = resultOf(summary);
    options.onJob?.(job.data.item, result);
    return result;
  }
  worker.on('failed', (job, err) => {
    const item: InputItem | undefined = job?.data?.item;
    options.logger.warn({ job: job?.id, input: item?.raw, attempt: job?.attemptsMade, err: err.message }, 'job failed');
    // the last attempt (a retried one goes back to the queue with backoff and says nothing yet)
    const last = job && (job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError || STALLED.test(err.message));
    if (last) options.onJobFailed?.(item?.raw ?? `job ${job.id}`, jobFailureText(err.message), job.attemptsMade);
  });
  worker.on('error', (err) => options.logger.error({ err: err.message }, 'worker error'));

  let redisGone: NodeJS.Timeout | null = null;
  let gaveUp: () => void = () => undefined;
  const givenUp = new Promise<'gave up'>((resolve) => (gaveUp = () => resolve('gave up')));
  const stop = () => {
    void worker.close();
    let downSince: number | null = null;
    redisGone = setInterval(() => {
      if (connection.status === 'ready') downSince = null;
      else if ((downSince ??= Date.now()) <= Date.now() - STOP_WITHOUT_REDIS_MS) gaveUp();
    }, 250);
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  let probe: InstanceType<typeof Queue> | null = null;
  let timer: NodeJS.Timeout | null = null;
  if (options.exitWhenEmpty) {
    const q = new Queue(options.name, { connection: await connect(Redis, options.redisUrl) });
    probe = q;
    let closing = false;
    const check = async () => {
      if (closing) return;
      const c = await q.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
      if (!closing && !c.waiting && !c.delayed && !c.prioritized && !c.active) {
        closing = true;
        await worker.close();
      }
    };
    for (const ev of ['drained', 'completed', 'failed'] as const) worker.on(ev, () => void check().catch(() => undefined));
    // Another worker may take the last job: events alone would leave this one waiting, so also look every second.
    timer = setInterval(() => void check().catch(() => undefined), 1000);
    setImmediate(() => void check().catch(() => undefined));
  }
  let leftInFlight: InputItem[] = [];
  let redisLost = false;
  try {
    redisLost = (await Promise.race([worker.run(), givenUp])) === 'gave up';
    if (redisLost) leftInFlight = [...inFlight];
  } finally {
    options.signal?.removeEventListener('abort', stop);
    if (timer) clearInterval(timer);
    if (redisGone) clearInterval(redisGone);
    // without Redis, BullMQ's close would wait for it
    if (!redisLost) await worker.close();
    if (probe) {
      const probeClient = await probe.client;
      if (!redisLost) await probe.close().catch(() => undefined);
      probeClient.disconnect();
    }
    connection.disconnect();
  }
  if (wrongLibrary) throw wrongLibrary;
  return { jobs, leftInFlight, redisLost };
}
