import { Worker } from 'node:worker_threads';

/**
 * The sha256 of a file while it is being written, computed on a worker thread. A download's main thread already
 * spends most of a core reading the socket; hashing there too (0.65 s of CPU per GiB with SHA-NI) made it the
 * bottleneck on loopback and fast links. The worker reads back what was just written (still in the page cache)
 * and hashes it, so the hash runs beside the transfer on another core and the digest is ready when the last write
 * is. One worker serves every download of the process; it does not keep the process alive when idle.
 */
export interface FileHashJob {
  /** Bytes 0..`bytes` of the file are written: the worker may hash up to there. */
  advance(bytes: number): void;
  /** The file holds exactly `bytes`; resolves with the hex digest of them. Rejects when the file is shorter. */
  digest(bytes: number): Promise<string>;
  /** Stops the job (the download failed); its digest is never asked for. */
  cancel(): void;
}

// Plain JavaScript evaluated as the worker's script: no file to resolve, so it runs the same from the sources
// (tsx) and from the built package.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const jobs = new Map();
const buf = Buffer.allocUnsafe(1 << 20);
function drop(id, job) {
  jobs.delete(id);
  if (job.fd !== undefined) try { closeSync(job.fd); } catch {}
}
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    const job = { hash: createHash('sha256'), done: 0, error: null, fd: undefined };
    try { job.fd = openSync(m.file, 'r'); } catch (e) { job.error = e.message; }
    jobs.set(m.id, job);
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'cancel') return drop(m.id, job);
  try {
    while (!job.error && job.done < m.upTo) {
      const n = readSync(job.fd, buf, 0, Math.min(buf.length, m.upTo - job.done), job.done);
      if (n === 0) throw new Error('the file ended at byte ' + job.done + ' of ' + m.upTo);
      job.hash.update(n === buf.length ? buf : buf.subarray(0, n));
      job.done += n;
    }
  } catch (e) {
    job.error = e.message;
  }
  if (m.type === 'end') {
    drop(m.id, job);
    parentPort.postMessage(job.error ? { id: m.id, error: job.error } : { id: m.id, digest: job.hash.digest('hex') });
  }
});
`;

interface Pending {
  resolve: (digest: string) => void;
  reject: (err: Error) => void;
}

let worker: Worker | null = null;
const stopped = new WeakSet<Worker>();
let nextId = 1;
let activeJobs = 0;
const waiting = new Map<number, Pending>();

function hashWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.on('message', (m: { id: number; digest?: string; error?: string }) => {
    const p = waiting.get(m.id);
    if (!p) return;
    waiting.delete(m.id);
    if (m.digest !== undefined) p.resolve(m.digest);
    else p.reject(new Error(`hashing the download failed: ${m.error ?? 'unknown error'}`));
  });
  const fail = (err: Error): void => {
    stopped.add(w);
    if (worker === w) worker = null;
    for (const [id, p] of waiting) {
      waiting.delete(id);
      p.reject(new Error(`the hashing thread stopped: ${err.message}`));
    }
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  w.unref();
  worker = w;
  return w;
}

/** Starts hashing `file` (opened by the worker now: it must exist) from its first byte. */
export function startFileHash(file: string): FileHashJob {
  const w = hashWorker();
  const id = nextId++;
  // Referenced while a job runs: otherwise a process whose only pending work is the final digest would exit.
  if (activeJobs++ === 0) w.ref();
  let open = true;
  let posted = 0;
  const release = (): void => {
    if (!open) return;
    open = false;
    if (--activeJobs === 0) w.unref();
  };
  w.postMessage({ type: 'start', id, file });
  return {
    advance(bytes) {
      // Messages in steps of 1 MiB at least: a message per 256 KiB batch would cost more than it saves.
      if (!open || bytes - posted < 1 << 20) return;
      posted = bytes;
      w.postMessage({ type: 'hash', id, upTo: bytes });
    },
    digest(bytes) {
      if (!open) return Promise.reject(new Error('hash job already finished'));
      if (stopped.has(w)) {
        release();
        return Promise.reject(new Error('the hashing thread stopped during the download'));
      }
      const done = new Promise<string>((resolve, reject) => waiting.set(id, { resolve, reject }));
      w.postMessage({ type: 'end', id, upTo: bytes });
      return done.finally(release);
    },
    cancel() {
      if (!open) return;
      w.postMessage({ type: 'cancel', id });
      release();
    },
  };
}
