import { link, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Names Windows refuses whatever the extension; refused everywhere so a media folder can move between systems. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
/** Bytes of a name, leaving room for a uniqueness suffix and `.part`. */
const MAX_NAME_BYTES = 180;

/**
 * A file name that cannot leave the folder it is joined to: no separators, no `..`, no NUL or control
 * characters, no reserved device names, no leading dots (hidden files), at most 180 bytes of UTF-8 with the
 * extension kept. Returns `fallback` when nothing usable is left.
 */
export function safeFileName(raw: string, fallback = 'video'): string {
  // Keep only the last path segment, whichever separator the sender used.
  let name = raw.split(/[\\/]/).pop() ?? '';
  name = name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (!name || name === '.' || name === '..') name = fallback;
  const ext = path.extname(name);
  let stem = ext ? name.slice(0, -ext.length) : name;
  if (RESERVED.test(stem) || !stem) stem = `_${stem}`;
  const safeExt = /^\.[A-Za-z0-9]{1,10}$/.test(ext) ? ext.toLowerCase() : '';
  if (!safeExt && ext) stem = name;
  stem = truncateUtf8(stem, MAX_NAME_BYTES - Buffer.byteLength(safeExt));
  return `${stem}${safeExt}`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (used + b > maxBytes) break;
    out += ch;
    used += b;
  }
  return out;
}

/**
 * The file name a server suggests in Content-Disposition (RFC 6266: `filename*=UTF-8''...` wins over
 * `filename="..."`), unsanitised; null when there is none.
 */
export function contentDispositionName(header: string | null | undefined): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*([^;]+)/i.exec(header);
  if (star) {
    const m = /^\s*([\w-]+)'[^']*'(.*)$/.exec(star[1]!.trim().replace(/^"|"$/g, ''));
    if (m) {
      try {
        return m[1]!.toLowerCase() === 'utf-8' ? decodeURIComponent(m[2]!) : unescape(m[2]!);
      } catch {
        // fall through to the plain parameter
      }
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const bare = /filename\s*=\s*([^;\s]+)/i.exec(header);
  return bare ? bare[1]! : null;
}

/** The last segment of a URL's path, percent-decoded; null for `/`. */
export function urlPathName(url: string): string | null {
  try {
    const segs = new URL(url).pathname.split('/').filter(Boolean);
    const last = segs.at(-1);
    if (!last) return null;
    try {
      return decodeURIComponent(last);
    } catch {
      return last;
    }
  } catch {
    return null;
  }
}

/** Adds `ext` (e.g. `.mp4`) when the name has no extension. */
export function withExtension(name: string, ext: string): string {
  return path.extname(name) ? name : `${name}${ext}`;
}

/**
 * Moves a finished `.part` file to `dir/name`, or `name-1`, `name-2`... when taken, without ever replacing an
 * existing file: a hard link is created (fails atomically if the name exists), then the `.part` is removed. Where
 * hard links are impossible it falls back to a checked rename. Returns the final path.
 */
export async function moveToUniquePath(part: string, dir: string, name: string): Promise<string> {
  const safe = safeFileName(name);
  const ext = path.extname(safe);
  const stem = ext ? safe.slice(0, -ext.length) : safe;
  for (let i = 0; i < 100_000; i++) {
    const candidate = path.join(dir, i === 0 ? safe : `${stem}-${i}${ext}`);
    try {
      await link(part, candidate);
      await unlink(part);
      return candidate;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw err;
      if (await stat(candidate).then(() => true, () => false)) continue;
      await rename(part, candidate);
      return candidate;
    }
  }
  throw new Error(`no free file name for ${name} in ${dir}`);
}

/** True when `child` is `dir` or inside it, after resolving both. */
export function isInside(dir: string, child: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
