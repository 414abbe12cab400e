import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { processAlive } from '../core/index.js';
import { sleep } from './retry-policy.js';

/** The work in progress (or last queued) per `.part` path in this process. */
const inUse = new Map<string, Promise<void>>();

/** This process among those sharing a media folder (a pid alone repeats: every container's first process is 1). */
const OWNER = { pid: process.pid, host: hostname(), token: randomUUID() };

/** How often a held lock file is touched, and how long untouched before it counts as left by a dead process. */
const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;

export interface PartLockOptions {
  signal?: AbortSignal;
  /** Called once when another process holds the `.part` and this one waits for it. */
  onWait?: (holder: string) => void;
}

/**
 * Runs `work` once no other work on the same `.part` path is running, in this process or in another one sharing
 * the media folder. List rows that cut several clips from one URL are separate inputs that download into the same
 * `.part`: two at once wrote into one file and renamed or removed it under each other (one row lost with ENOENT,
 * or a clip cut from a corrupt file). Queue workers (and two `process` runs) sharing MediaDir did the same across
 * processes: the second resumed the first one's `.part` while it was still being written, the first then failed
 * with `ENOENT ... link`, and a `.part` truncated by one under the other's writes left zeros in the saved video.
 * The second waits and then finds the file done (HTTP resumes it; HLS copies it again).
 */
export async function withPart<T>(partPath: string, work: () => Promise<T>, options: PartLockOptions = {}): Promise<T> {
  const before = inUse.get(partPath) ?? Promise.resolve();
  const mine = before.then(async () => {
    const release = await lockFile(`${partPath}.lock`, options);
    try {
      return await work();
    } finally {
      await release();
    }
  });
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  inUse.set(partPath, settled);
  try {
    return await mine;
  } finally {
    if (inUse.get(partPath) === settled) inUse.delete(partPath);
  }
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

/**
 * Takes `lockPath` (created with O_EXCL), waiting while a live process holds it. A lock is left over, and taken
 * away, when its process is gone: on this host, its pid is not running (or is this process, which never waits on
 * its own locks); elsewhere, it was not touched for STALE_MS (the holder touches
 * it every HEARTBEAT_MS). Returns the release.
 */
async function lockFile(lockPath: string, options: PartLockOptions): Promise<() => Promise<void>> {
  let waited = false;
  let pause = 50;
  for (;;) {
    try {
      await writeFile(lockPath, JSON.stringify(OWNER), { flag: 'wx' });
      const beat = setInterval(() => {
        const now = new Date();
        utimes(lockPath, now, now).catch(() => undefined);
      }, HEARTBEAT_MS);
      beat.unref();
      return async () => {
        clearInterval(beat);
        await rm(lockPath, { force: true });
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        // the part folder is made on first use (or was removed during a run)
        await mkdir(path.dirname(lockPath), { recursive: true });
        continue;
      }
      if (code !== 'EEXIST') {
        // created but not written (disk full): left empty, it would hold every later attempt off for STALE_MS
        await rm(lockPath, { force: true }).catch(() => undefined);
        throw err;
      }
    }
    const holder = await readHolder(lockPath);
    if (holder === 'gone') continue;
    if (holder.stale) {
      // Moved aside before removal: of several processes finding it stale, one takes it away. (One that read it
      // stale just before another replaced it could still move the new lock; that takes a crash and a tight race.)
      const aside = `${lockPath}.${OWNER.token}.stale`;
      await rename(lockPath, aside).then(
        () => rm(aside, { force: true }),
        () => undefined,
      );
      continue;
    }
    if (!waited) {
      waited = true;
      options.onWait?.(holder.who);
    }
    await sleep(pause, options.signal).catch((err: unknown) => {
      throw options.signal?.reason ?? err;
    });
    pause = Math.min(pause * 2, 1000);
  }
}

async function readHolder(lockPath: string): Promise<'gone' | { stale: boolean; who: string }> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
  } catch {
    return 'gone';
  }
  let owner: Partial<LockOwner> = {};
  try {
    owner = JSON.parse(text) as Partial<LockOwner>;
  } catch {
    // written by a process that died between creating and writing it; judged by its age alone
  }
  const who = owner.pid ? `process ${owner.pid} on ${owner.host ?? 'another host'}` : 'another process';
  if (Date.now() - mtimeMs > STALE_MS) return { stale: true, who };
  if (owner.host === OWNER.host && typeof owner.pid === 'number') {
    // this process never waits on a lock it holds (the in-process queue comes first): one with its pid is a
    // leftover, of an earlier process that had the same pid (containers) or of a release that failed
    if (owner.pid === OWNER.pid) return { stale: true, who };
    return { stale: !processAlive(owner.pid), who };
  }
  return { stale: false, who };
}
