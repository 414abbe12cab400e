/** The work in progress (or last queued) per `.part` path in this process. */
const inUse = new Map<string, Promise<void>>();

/**
 * Runs `work` once no other work on the same `.part` path of this process is running. List rows that cut several
 * clips from one URL are separate inputs that download into the same `.part`: two at once wrote into one file
 * and renamed or removed it under each other (one row lost with ENOENT, or a clip cut from a corrupt file). The
 * second waits and then finds the file done (HTTP resumes it; HLS copies it again).
 */
export async function withPart<T>(partPath: string, work: () => Promise<T>): Promise<T> {
  const before = inUse.get(partPath) ?? Promise.resolve();
  const mine = before.then(work);
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
