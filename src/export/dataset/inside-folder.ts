import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Why `rel`, a path a file in the dataset folder lists (the journal, the manifest), does not name a place inside
 * `outDir`, or null. Those files are read back and the paths in them deleted and moved: a folder shared with
 * others could hold one edited to name `../../home/me/notes.txt`, or a path through a folder that is a link to
 * elsewhere, which the build then deleted. The real path of the nearest existing folder above the file must be
 * inside the real path of `outDir` (a link to the dataset folder itself is fine).
 */
export function outsideFolder(outDir: string, rel: unknown): string | null {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0')) return 'is not a path';
  if (path.isAbsolute(rel)) return `is absolute, not inside ${outDir}`;
  const abs = path.resolve(outDir, rel);
  if (!abs.startsWith(outDir + path.sep)) return `resolves outside ${outDir}`;
  let parent = path.dirname(abs);
  while (parent !== outDir && !existsSync(parent)) parent = path.dirname(parent);
  let realParent: string;
  let realOut: string;
  try {
    realParent = realpathSync(parent);
    realOut = realpathSync(outDir);
  } catch (err) {
    return `cannot be checked: ${(err as Error).message}`;
  }
  if (realParent !== realOut && !realParent.startsWith(realOut + path.sep)) return `goes through ${parent}, a link to ${realParent}, outside ${outDir}`;
  return null;
}
