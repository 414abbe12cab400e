import { access } from 'node:fs/promises';
import path from 'node:path';

const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/**
 * A file name that cannot leave the media folder or break a file system: no separators, no `..`, no NUL or
 * control characters, no reserved device names, at most 180 bytes.
 */
export function safeFileName(name: string, fallback = 'video'): string {
  let base = name.split(/[\\/]/).pop() ?? '';
  base = base.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_').replace(/^\.+/, '').trim();
  if (!base || base === '.' || base === '..') base = fallback;
  if (RESERVED.test(base)) base = `_${base}`;
  while (Buffer.byteLength(base) > 180) {
    const ext = path.extname(base);
    const stem = base.slice(0, base.length - ext.length);
    base = stem.slice(0, Math.max(1, stem.length - 10)) + ext.slice(0, 16);
  }
  return base;
}

/** dir/name, or dir/name-2, -3... so two different inputs never share a final name. */
export async function uniqueMediaPath(dir: string, name: string): Promise<string> {
  const safe = safeFileName(name);
  const ext = path.extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = path.join(dir, i === 1 ? safe : `${stem}-${i}${ext}`);
    try {
      await access(candidate);
    } catch {
      try {
        await access(`${candidate}.part`);
      } catch {
        return candidate;
      }
    }
  }
}
