import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoints SQLite write-ahead logs from a worker thread, so a writing thread never does.
 *
 * In WAL mode the connection that commits past `wal_autocheckpoint` pages copies the log back into the database
 * file and fsyncs it, inside its commit. A bulk load spent more time there than in its statements: 50k records
 * loaded at 2.5k/s with SQLite's checkpoints and 3.7k/s with this thread doing them (500-record transactions).
 * Here the writer only nudges after each commit; a PASSIVE checkpoint on the thread's own connection, on the other
 * core, copies what the log holds while the writer goes on, and never blocks a reader or the writer. Since a log
 * only starts over when a write begins with every frame copied back, which a writer that never pauses does not
 * give it, the thread has the writer park after a commit (shared-memory flag) while a RESTART checkpoint lets the
 * log start over once it passes a limit. The writer keeps a high `wal_autocheckpoint` as a backstop. One thread
 * serves every store of the process (its own connection per store); it does not keep the process alive.
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
      // only RESTART waits (for readers to leave the log, while the writer is parked): briefly
      entry.db.pragma('busy_timeout = ' + workerData.readerWaitMs);
    }
    // PASSIVE never waits: it copies what the log holds while the writer goes on
    const [r] = entry.db.pragma('wal_checkpoint(PASSIVE)');
    let restarted = false;
    // every frame copied back: no reader holds an old snapshot (any more), restarts can succeed again
    if (r.checkpointed === r.log) entry.restartAt = entry.limitFrames;
    if (r.log > entry.restartAt) {
      // The log only starts over when a write begins with every frame copied back, which a writer that never
      // pauses does not give it. The thread asks the writer to park after its next commit (flag 1; the writer
      // holds no lock then and answers 2), then RESTART copies the frames since and waits (briefly) for readers
      // to leave the log: the writer's next write starts it over. A writer that does not park in time is idle,
      // and an idle log starts over at the next write anyway.
      Atomics.store(entry.flag, 0, 1);
      Atomics.wait(entry.flag, 0, 1, workerData.parkWaitMs);
      if (Atomics.compareExchange(entry.flag, 0, 1, 0) === 2) {
        try {
          const [q] = entry.db.pragma('wal_checkpoint(RESTART)');
          restarted = q.busy === 0;
          // A reader kept the log busy: ask again once the log has doubled or every frame could be copied back
          // (the reader left), so a long reader does not park the writer after every commit.
          entry.restartAt = restarted ? entry.limitFrames : Math.max(entry.limitFrames, r.log * 2);
        } finally {
          Atomics.store(entry.flag, 0, 0);
          Atomics.notify(entry.flag, 0);
        }
      }
    }
    parentPort.postMessage({ type: 'done', key, log: r.log, checkpointed: r.checkpointed, restarted });
  } catch (e) {
    parentPort.postMessage({ type: 'failed', key, error: String(e && e.message || e) });
  }
}
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    entries.set(m.key, { file: m.file, limitFrames: m.limitFrames, restartAt: m.limitFrames, flag: new Int32Array(m.flag), db: null, timer: null });
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

/** Log size the writer lets the log reach before checkpointing itself (the backstop while the thread is alive). */
export const BACKSTOP_BYTES = 64 << 20;

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
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, delayMs: 10, parkWaitMs: 2000, readerWaitMs: 200 } });
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
  /** 1: the thread asks the writer to park after its commit; 2: the writer is parked while the log starts over. */
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;
  private release: (() => void) | null = null;
  /** The last checkpoint the thread reported. */
  last: CheckpointResult | null = null;
  /** Checkpoints the thread made, the ones that made the log start over, and the ones that failed. */
  done = 0;
  /** Times the writer parked for the log to start over. */
  parked = 0;
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
   * The writer committed (and holds no lock): checkpoint soon. When the thread asks it to park so the log can
   * start over, parks first: at most `maxWaitMs`, in practice the time to copy the last frames back.
   */
  nudge(maxWaitMs = 1000): void {
    if (this.stopped || this.s.dead) return;
    if (Atomics.compareExchange(this.flag, 0, 1, 2) === 1) {
      this.parked++;
      Atomics.notify(this.flag, 0);
      Atomics.wait(this.flag, 0, 2, maxWaitMs);
      Atomics.compareExchange(this.flag, 0, 2, 0);
    }
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
