import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What an output file (`export --out`, `scenes -o`) names, for writing it through `<file>.part`. A device, a named
 * pipe or a socket (`-o /dev/stdout`, a FIFO another program reads) is written to as it is: a `.part` renamed over
 * it replaced it with a plain file (as root, the device itself). A symbolic link is written through to the file it
 * names: renamed over, the link became a plain file of its own and the file it named kept the old output.
 */
export type OutputTarget = { kind: 'folder' } | { kind: 'special'; path: string } | { kind: 'file'; path: string };

export function outputTarget(file: string): OutputTarget {
  const given = path.resolve(file);
  let existing: ReturnType<typeof statSync>;
  try {
    existing = statSync(given, { throwIfNoEntry: false });
  } catch {
    existing = undefined; // a file in the way of its folder: said when the folder is made
  }
  if (!existing) return { kind: 'file', path: given };
  if (existing.isDirectory()) return { kind: 'folder' };
  if (!existing.isFile()) return { kind: 'special', path: given };
  return { kind: 'file', path: realpathSync(given) };
}
