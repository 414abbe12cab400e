import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoints SQLite write-ahead logs from a worker thread, so a writing thread never does.
 *
 * In WAL mode the connection that commits past `wal_autocheckpoint` pages copies the log back into the database
 * file and fsyncs it, inside its commit. A bulk load or re-tag spent more time there than in its statements:
 * 100k records loaded at 2.1k/s with the default checkpoint and 2.6k/s with this thread doing it (the same
 * 500-record batches). Here the writer only nudges after each commit; a PASSIVE checkpoint on the thread's own
 * connection, on the other core, copies what the log holds while the writer goes on, and never blocks a reader or
 * the writer. The writer keeps a high `wal_autocheckpoint` as a backstop, so the log stays bounded if the thread
 * falls behind or is gone. One thread serves every store of the process (a connection per database file); it
 * does not keep the process alive.
 */
export interface CheckpointResult {
  /** Frames in the log, and frames copied back into the database file (equal: the log is fully checkpointed). */
  log: number;
  checkpointed: number;
}

/** Plain JavaScript evaluated as the worker's script, so it runs the same from the sources (tsx) and the build. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const entries = new Map();
function checkpoint(key, entry) {
  entry.timer = null;
  try {
    if (!entry.db) {
      entry.db = new Database(entry.file, { fileMustExist: true });
      entry.db.pragma('busy_timeout = ' + workerData.restartWaitMs);
    }
    // PASSIVE never waits: it copies what the log holds while the writer goes on
    const [r] = entry.db.pragma('wal_checkpoint(PASSIVE)');
    let restarted = false;
    if (r.log > entry.limitFrames) {
      // The log only starts over when a write begins with every frame copied back, which a writer that never
      // pauses does not give it. The flag asks the writer to wait after its commit (it holds no lock then);
      // RESTART copies the frames since and waits for readers to leave the log: the next write starts it over.
      Atomics.store(entry.flag, 0, 1);
      try {
        const [q] = entry.db.pragma('wal_checkpoint(RESTART)');
        restarted = q.busy === 0;
      } finally {
        Atomics.store(entry.flag, 0, 0);
        Atomics.notify(entry.flag, 0);
      }
    }
    parentPort.postMessage({ type: 'done', key, log: r.log, checkpointed: r.checkpointed, restarted });
  } catch (e) {
    parentPort.postMessage({ type: 'failed', key, error: String(e && e.message || e) });
  }
}
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    entries.set(m.key, { file: m.file, limitFrames: m.limitFrames, flag: new Int32Array(m.flag), db: null, timer: null });
    return;
  }
  const entry = entries.get(m.key);
  if (m.type === 'nudge') {
    // commits in quick succession share one checkpoint
    if (entry && !entry.timer) entry.timer = setTimeout(() => checkpoint(m.key, entry), workerData.delayMs);
    return;
  }
  if (m.type === 'release') {
    if (entry) {
      if (entry.timer) clearTimeout(entry.timer);
      try { entry.db && entry.db.close(); } catch {}
      entries.delete(m.key);
    }
    parentPort.postMessage({ type: 'released', key: m.key });
  }
});
`;

/** Pages the writer lets the log reach before checkpointing itself (the backstop while the thread is alive). */
export const BACKSTOP_PAGES = 16384;

interface Shared {
  worker: Worker;
  dead: boolean;
  /** stop() calls waiting for the thread's answer. */
  stopping: number;
  listeners: Map<number, (m: WorkerMessage) => void>;
}

type WorkerMessage = { type: 'done'; key: number; log: number; checkpointed: number; restarted: boolean } | { type: 'failed'; key: number; error: string } | { type: 'released'; key: number };

let shared: Shared | null = null;
let nextKey = 1;

function sharedWorker(): Shared {
  if (shared && !shared.dead) return shared;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, delayMs: 10, restartWaitMs: 5000 } });
  const s: Shared = { worker, dead: false, stopping: 0, listeners: new Map() };
  const deliver = (m: WorkerMessage): void => s.listeners.get(m.key)?.(m);
  worker.on('message', deliver);
  const die = (): void => {
    s.dead = true;
    if (shared === s) shared = null;
    for (const [key, fn] of s.listeners) fn({ type: 'failed', key, error: 'the checkpoint thread stopped' });
  };
  worker.on('error', die);
  worker.on('exit', die);
  worker.unref();
  shared = s;
  return s;
}

/** One database connection's use of the shared checkpoint thread (which opens its own connection to the file). */
export class WalCheckpointer {
  private readonly s: Shared;
  private readonly key = nextKey++;
  /** Set by the thread while it makes the log start over: the writer waits after its commit. */
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;
  private release: (() => void) | null = null;
  /** The last checkpoint the thread reported. */
  last: CheckpointResult | null = null;
  /** Checkpoints the thread made, the ones that made the log start over, and the ones that failed. */
  done = 0;
  restarts = 0;
  failures = 0;

  /**
   * `limitFrames`: the log's length past which the thread makes it start over. `onDead` runs once if the thread
   * stops: the caller then checkpoints on its own again.
   */
  constructor(
    file: string,
    limitFrames: number,
    private readonly onDead: () => void,
  ) {
    this.s = sharedWorker();
    this.s.listeners.set(this.key, (m) => {
      if (m.type === 'done') {
        this.done++;
        if (m.restarted) this.restarts++;
        this.last = { log: m.log, checkpointed: m.checkpointed };
      } else if (m.type === 'failed') {
        this.failures++;
        if (!this.s.dead) return;
        this.release?.();
        if (!this.stopped) {
          this.stopped = true;
          this.onDead();
        }
      } else if (m.type === 'released') this.release?.();
    });
    this.s.worker.postMessage({ type: 'start', key: this.key, file, limitFrames, flag: this.flag.buffer });
  }

  /**
   * The writer committed (and holds no lock): checkpoint soon. When the thread is making the log start over,
   * waits for it first, at most `maxWaitMs` (a reader that keeps the log busy longer only delays the restart).
   */
  nudge(maxWaitMs = 1000): void {
    if (this.stopped || this.s.dead) return;
    if (Atomics.load(this.flag, 0) === 1) Atomics.wait(this.flag, 0, 1, maxWaitMs);
    this.s.worker.postMessage({ type: 'nudge', key: this.key });
  }

  /**
   * Closes the thread's connection, before the store closes its own: that one is then the last, and SQLite
   * checkpoints and removes the log. Waits at most `timeoutMs`; never throws.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.s.dead) return void this.s.listeners.delete(this.key);
    // referenced while waiting for the answer, or a process with nothing else to do would exit mid-close
    if (this.s.stopping++ === 0) this.s.worker.ref();
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.release = () => {
          clearTimeout(timer);
          resolve();
        };
        this.s.worker.postMessage({ type: 'release', key: this.key });
      });
    } finally {
      this.s.listeners.delete(this.key);
      if (--this.s.stopping === 0) this.s.worker.unref();
    }
  }
}
