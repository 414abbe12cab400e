import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv, runCli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const redisUrl = process.env.VIDEODEX_TEST_REDIS_URL;
if (!redisUrl) console.warn('queue tests skipped: set VIDEODEX_TEST_REDIS_URL (bash .ci/run starts Redis and sets it)');

describe.skipIf(!redisUrl)('BullMQ enqueue and workers (real Redis)', () => {
  const t = tempDir();
  const queue = `videodex-test-${process.pid}-${Date.now()}`;
  const common = () => ['--redis', redisUrl!, '--queue', queue, '--data-dir', path.join(t.dir, 'data')];
  const env = { ...process.env, VIDEODEX_QUEUE_REDISURL: '' };

  beforeAll(async () => {
    await makeTestVideo(path.join(t.dir, 'a.mp4'), { seconds: 1 });
    await makeTestVideo(path.join(t.dir, 'b.mp4'), { seconds: 1, width: 160, height: 120 });
    writeFileSync(path.join(t.dir, 'broken.mp4'), 'not a video at all');
  });
  afterAll(() => t.cleanup());

  const finishedJobs = (stderr: string) => Number(/worker finished (\d+) job/.exec(stderr)?.[1] ?? NaN);

  it('two workers share the queue: every input processed once, failures recorded, re-enqueue repeats nothing', async () => {
    const inputs = ['a.mp4', 'b.mp4', 'broken.mp4'].map((f) => path.join(t.dir, f));
    const enq = await runCli(['enqueue', ...inputs, '--json', ...common()], { env });
    expect(JSON.parse(enq.stdout)).toMatchObject({ added: 3, alreadyQueued: 0 });
    const again = await runCli(['enqueue', ...inputs, '--json', ...common()], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, alreadyQueued: 3 });

    const [w1, w2] = await Promise.all([
      runCli(['worker', '--exit-when-empty', '--concurrency', '1', ...common()], { env }),
      runCli(['worker', '--exit-when-empty', '--concurrency', '1', ...common()], { env }),
    ]);
    expect(finishedJobs(w1.stderr) + finishedJobs(w2.stderr)).toBe(3);
    expect(`${w1.stderr}${w2.stderr}`).toMatch(/broken\.mp4 \([0-9a-f]+\): failed/);

    const status = JSON.parse((await runCli(['queue', 'status', '--json', ...common()], { env })).stdout);
    expect(status).toMatchObject({ waiting: 0, active: 0, completed: 3 });
    const found = JSON.parse((await runCli(['search', '--json', '--data-dir', path.join(t.dir, 'data')])).stdout);
    expect(found.total).toBe(3);
    expect(found.facets.codecs).toEqual({ h264: 2 });

    await runCli(['enqueue', ...inputs, ...common()], { env });
    const w3 = await runCli(['worker', '--exit-when-empty', ...common()], { env });
    expect(finishedJobs(w3.stderr)).toBe(3);
    expect(w3.stderr.match(/: unchanged/g), w3.stderr).toHaveLength(2);
    // a failure of an earlier run says what it was and how to try again
    expect(w3.stderr).toMatch(/broken\.mp4 \([0-9a-f]+\): failed: probe: .+ \(failed before; enqueue it with --retry-failed to try again\)/);
  });

  it('enqueueing again with --force gives a job still waiting the new options, instead of dropping them', async () => {
    const q2 = ['--redis', redisUrl!, '--queue', `${queue}-force`, '--data-dir', path.join(t.dir, 'data-force')];
    const input = path.join(t.dir, 'a.mp4');
    await runCli(['enqueue', input, ...q2], { env });
    expect(finishedJobs((await runCli(['worker', '--exit-when-empty', ...q2], { env })).stderr)).toBe(1);
    // queued again with nothing to do, then asked to redo scenes while that job still waits
    await runCli(['enqueue', input, ...q2], { env });
    const forced = await runCli(['enqueue', input, '--force', 'scenes', '--json', ...q2], { env });
    expect(JSON.parse(forced.stdout)).toMatchObject({ added: 0, alreadyQueued: 1, updated: 1 });
    const same = await runCli(['enqueue', input, '--force', 'scenes', '--json', ...q2], { env });
    expect(JSON.parse(same.stdout)).toMatchObject({ added: 0, alreadyQueued: 1, updated: 0 });
    const w = await runCli(['worker', '--exit-when-empty', ...q2], { env });
    expect(finishedJobs(w.stderr)).toBe(1);
    expect(w.stderr).not.toMatch(/: unchanged/);
    expect(w.stderr).toMatch(/a\.mp4 \([0-9a-f]+\): done/);
  }, 120_000);

  it('enqueueing a labelled list for inputs still waiting gives them its labels, instead of dropping them; a second label is said', async () => {
    const q = ['--redis', redisUrl!, '--queue', `${queue}-label`, '--data-dir', path.join(t.dir, 'data-label')];
    const input = path.join(t.dir, 'a.mp4');
    expect(JSON.parse((await runCli(['enqueue', input, '--json', ...q], { env })).stdout)).toMatchObject({ added: 1 });
    const labels = path.join(t.dir, 'labels.csv');
    writeFileSync(labels, `path,label,split\n${input},surfing,train\n`);
    const labelled = await runCli(['enqueue', '-i', labels, '--json', ...q], { env });
    expect(JSON.parse(labelled.stdout)).toMatchObject({ added: 0, alreadyQueued: 1, updated: 1, problems: 0 });
    const other = path.join(t.dir, 'other-labels.csv');
    writeFileSync(other, `path,label\n${input},skating\n`);
    const again = await runCli(['enqueue', '-i', other, '--json', ...q], { env });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ updated: 0, problems: 1 });
    expect(again.stderr).toContain(`videodex: ${input}: listed again in ${other} row 2 (label "skating", split ""); the job already queued, from ${labels} row 2 (label "surfing", split "train"), is used`);
    const w = await runCli(['worker', '--exit-when-empty', ...q], { env });
    expect(w.stderr).toMatch(/a\.mp4 \([0-9a-f]+\): done/);
    const found = JSON.parse((await runCli(['search', 'category:surfing', '--json', '--data-dir', path.join(t.dir, 'data-label')])).stdout);
    expect(found.total).toBe(1);
    expect(found.hits[0].video.source.list).toMatchObject({ label: 'surfing', split: 'train' });
  }, 120_000);

  it('a worker stopped mid-job (SIGTERM) puts the job back unfinished; the next worker finishes it', async () => {
    const q3 = ['--redis', redisUrl!, '--queue', `${queue}-stop`, '--data-dir', path.join(t.dir, 'data-stop')];
    const long = path.join(t.dir, 'long.mp4');
    await makeTestVideo(long, { seconds: 150, width: 640, height: 360 });
    await runCli(['enqueue', long, ...q3], { env });
    const worker = spawn(process.execPath, [...cliArgv(['worker', ...q3])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    // stop it once the video is in the library (acquired and probed), while its scenes are being detected
    const db = path.join(t.dir, 'data-stop', 'videodex.db');
    for (let i = 0; i < 600 && !(existsSync(db) && (await runCli(['search', '--json', '--data-dir', path.join(t.dir, 'data-stop')])).stdout.includes('"total":1')); i++) await delay(100);
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/long\.mp4: stopped before its end; back on the queue/);
    expect(stderr).toMatch(/worker finished 0 job\(s\), 0 with failures, 1 put back on the queue unfinished/);
    const status = JSON.parse((await runCli(['queue', 'status', '--json', ...q3], { env })).stdout);
    expect(status.completed).toBe(0);
    expect(status.waiting + status.delayed).toBe(1);
    const next = await runCli(['worker', '--exit-when-empty', ...q3], { env });
    expect(next.stderr).toMatch(/long\.mp4 \([0-9a-f]+\): done/);
    const found = JSON.parse((await runCli(['search', '--json', '--data-dir', path.join(t.dir, 'data-stop')])).stdout);
    const shown = JSON.parse((await runCli(['show', found.hits[0].id, '--data-dir', path.join(t.dir, 'data-stop')])).stdout);
    expect(shown.stages).toMatchObject({ scenes: { status: 'done' }, tag: { status: 'done' } });
  }, 180_000);

  it('a worker writing to another library than the enqueuer puts the job back untouched and stops (exit 3)', async () => {
    const name = ['--redis', redisUrl!, '--queue', `${queue}-library`];
    const input = path.join(t.dir, 'a.mp4');
    await runCli(['enqueue', input, ...name, '--data-dir', path.join(t.dir, 'data-lib')], { env });
    const wrong = await runCli(['worker', '--exit-when-empty', ...name, '--data-dir', path.join(t.dir, 'data-elsewhere')], { env });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain(`${input}: queued for the library at SQLite ${path.join(t.dir, 'data-lib', 'videodex.db')}, but this worker files videos into SQLite ${path.join(t.dir, 'data-elsewhere', 'videodex.db')}`);
    // nothing filed there, and the job still waits for a worker of its library
    expect(JSON.parse((await runCli(['search', '--json', '--data-dir', path.join(t.dir, 'data-elsewhere')])).stdout).total).toBe(0);
    const status = JSON.parse((await runCli(['queue', 'status', '--json', ...name], { env })).stdout);
    expect(status).toMatchObject({ completed: 0, failed: 0 });
    expect(status.waiting + status.delayed).toBe(1);
    const right = await runCli(['worker', '--exit-when-empty', ...name, '--data-dir', path.join(t.dir, 'data-lib')], { env });
    expect(right.code, right.stderr).toBe(0);
    expect(right.stderr).toMatch(/a\.mp4 \([0-9a-f]+\): done/);
  }, 120_000);

  it('a worker told to stop while Redis is gone stops anyway, naming the job it could not put back (it waited for Redis for ever)', async () => {
    // Redis reached through a proxy of the test's own, so that it can go away for this worker alone
    const redis = new URL(redisUrl!);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(redis.port || 6379), redis.hostname);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        sockets.add(a);
        a.on('error', () => b.destroy()).on('close', () => b.destroy());
        a.pipe(b);
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = `redis://${redis.username || redis.password ? `${redis.username}:${redis.password}@` : ''}127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const name = `${queue}-redis-gone`;
    const data = path.join(t.dir, 'data-redis-gone');
    const long = path.join(t.dir, 'long-redis-gone.mp4');
    await makeTestVideo(long, { seconds: 150, width: 640, height: 360 });
    await runCli(['enqueue', long, '--redis', redisUrl!, '--queue', name, '--data-dir', data], { env });
    const worker = spawn(process.execPath, [...cliArgv(['worker', '--redis', viaProxy, '--queue', name, '--data-dir', data])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    try {
      // the job in flight: its video is in the library, its scenes being detected
      for (let i = 0; i < 600 && !(existsSync(path.join(data, 'videodex.db')) && (await runCli(['search', '--json', '--data-dir', data])).stdout.includes('"total":1')); i++) await delay(100);
      proxy.close();
      for (const s of sockets) s.destroy();
      worker.kill('SIGTERM');
      const code = await Promise.race([exited, delay(60_000).then(() => 'still running')]);
      expect(code, stderr).toBe(0);
      expect(stderr).toMatch(/stopped without Redis \(unreachable for \d+ s\)/);
      expect(stderr).toMatch(/long-redis-gone\.mp4: stopped before its end; Redis is unreachable, so it goes back to the queue once its lock runs out there/);
    } finally {
      worker.kill('SIGKILL');
      proxy.close();
    }
  }, 240_000);

  /** A job put on the queue by another program: its data holds no videodex input. */
  async function addForeignJob(name: string): Promise<string> {
    const [{ Queue }, { Redis }] = await Promise.all([import('bullmq'), import('ioredis')]);
    const connection = new Redis(redisUrl!, { maxRetriesPerRequest: null });
    const q = new Queue(name, { connection });
    try {
      const job = await q.add('video', { something: 'else' }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
      return job.id!;
    } finally {
      await q.close();
      connection.disconnect();
    }
  }

  it('a job with no input in it fails at once with a reason and counts as a failure (the worker said nothing and exited 0)', async () => {
    const name = ['--redis', redisUrl!, '--queue', `${queue}-foreign`, '--data-dir', path.join(t.dir, 'data-foreign')];
    const id = await addForeignJob(`${queue}-foreign`);
    const w = await runCli(['worker', '--exit-when-empty', ...name], { env });
    expect(w.code, w.stderr).toBe(1);
    expect(w.stderr).toContain(`videodex: job ${id}: failed after 1 attempt(s): not a videodex job (no input in its data); put inputs on the queue with videodex enqueue`);
    expect(w.stderr).toMatch(/worker finished 0 job\(s\), 1 with failures/);
  });

  it('queue status names the failed jobs and why they failed (only the stderr of their worker, maybe on another machine, said it)', async () => {
    const name = ['--redis', redisUrl!, '--queue', `${queue}-failed`, '--data-dir', path.join(t.dir, 'data-failed')];
    const id = await addForeignJob(`${queue}-failed`);
    await runCli(['worker', '--exit-when-empty', ...name], { env });
    const status = JSON.parse((await runCli(['queue', 'status', '--json', ...name], { env })).stdout);
    expect(status).toMatchObject({ failed: 1, failedJobs: [{ input: `job ${id}`, attempts: 1, error: expect.stringMatching(/^not a videodex job/) }] });
    expect(Date.parse(status.failedJobs[0].at)).not.toBeNaN();
    const text = (await runCli(['queue', 'status', ...name], { env })).stdout;
    expect(text).toMatch(new RegExp(`^failed jobs:\n  job ${id}: failed after 1 attempt\\(s\\) at \\S+: not a videodex job`, 'm'));
  });

  it('queue status says in words why a job whose worker kept dying under it failed, not BullMQ\'s "stalled more than allowable limit"', async () => {
    const qname = `${queue}-stalled`;
    const name = ['--redis', redisUrl!, '--queue', qname, '--data-dir', path.join(t.dir, 'data-stalled')];
    await runCli(['enqueue', path.join(t.dir, 'a.mp4'), ...name], { env });
    const [{ Queue, Worker, UnrecoverableError }, { Redis }] = await Promise.all([import('bullmq'), import('ioredis')]);
    const connection = new Redis(redisUrl!, { maxRetriesPerRequest: null });
    // BullMQ fails a job whose worker died under it more often than maxStalledCount with these words; a worker that
    // fails it with them stands in for four dead ones
    const checker = new Worker(qname, async () => {
      throw new UnrecoverableError('job stalled more than allowable limit');
    }, { connection });
    const q = new Queue(qname, { connection });
    try {
      const started = Date.now();
      while ((await q.getFailedCount()) === 0) {
        if (Date.now() - started > 60_000) throw new Error('the job never failed');
        await delay(200);
      }
      expect((await q.getFailed())[0]!.failedReason).toMatch(/stalled more than allowable limit/);
      const s = JSON.parse((await runCli(['queue', 'status', '--json', ...name], { env })).stdout);
      expect(s.failedJobs[0].error).toMatch(/^the worker running it stopped 4 times before finishing it \(killed, out of memory, or its machine lost; see the workers' logs\); enqueue it again to retry$/);
    } finally {
      await checker.close(true);
      await q.close();
      connection.disconnect();
    }
  }, 120_000);

  it('a worker on an empty queue exits at once with --exit-when-empty', async () => {
    const w = await runCli(['worker', '--exit-when-empty', '--redis', redisUrl!, '--queue', `${queue}-empty`, '--data-dir', path.join(t.dir, 'data2')], { env });
    expect(w.code).toBe(0);
    expect(finishedJobs(w.stderr)).toBe(0);
  });

  it('refuses a RedisUrl whose database Redis does not have (it went on in database 0, with every other queue there)', async () => {
    const url = new URL(redisUrl!);
    url.pathname = '/999';
    const r = await runCli(['queue', 'status', '--json', '--redis', url.href, '--queue', queue, '--data-dir', path.join(t.dir, 'data')], { env, timeoutMs: 30_000 });
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr.trim()).toMatch(/^videodex: \[Queue\] RedisUrl names database 999, which Redis at [^ ]+ refused: ERR .*out of range/);
    expect(r.stderr).not.toContain(url.password || 'no password in this URL');
  });

  it('says clearly when Redis cannot be reached', async () => {
    const r = await runCli(['queue', 'status', '--redis', 'redis://127.0.0.1:1', '--queue', queue, '--data-dir', path.join(t.dir, 'data')], { env, timeoutMs: 30_000 });
    expect(r.code).toBe(4);
    // the cause, not "Connection is closed"
    expect(r.stderr.trim()).toMatch(/^videodex: cannot reach Redis at 127.0.0.1:1: connect ECONNREFUSED 127\.0\.0\.1:1$/);
    const bare = await runCli(['queue', 'status', '--redis', 'queue-host:6379', '--queue', queue, '--data-dir', path.join(t.dir, 'data')], { env, timeoutMs: 30_000 });
    expect(bare.code).toBe(3);
    expect(bare.stderr.trim()).toBe('videodex: [Queue] RedisUrl is not a Redis URL (expected redis://host:port or rediss://host:port)');
  });
});
