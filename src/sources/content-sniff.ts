import { open } from 'node:fs/promises';

/**
 * What the first bytes of a file or a download say it is. Synchronous on purpose: a download decides inside its
 * 'data' handler, before a byte reaches the final name. (The folder scan's `sniffFile` asks file-type, which is
 * async, for the formats and shares the text test below.)
 */

/** Bytes a download looks at before it decides: room for a page's doctype after a long comment or whitespace. */
export const SNIFF_BYTES = 4096;

/** Mostly printable bytes and no NUL: text of some kind (shared with the folder scan's `[General] SniffContent`). */
export function looksLikeText(buf: Buffer): boolean {
  let printable = 0;
  for (const b of buf) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc2) printable++;
  return printable / buf.length > 0.97 && !buf.includes(0);
}

/**
 * The container named by a video's first bytes (`mp4`, `matroska`, `mpeg-ts`, ...), or null. Every signature
 * either holds a byte no text has (NUL, 0x1A, ...) or needs repeated sync bytes, so a page or text never passes.
 */
export function videoSignature(head: Buffer): string | null {
  const at = (offset: number, bytes: readonly number[]) => head.length >= offset + bytes.length && bytes.every((b, i) => head[offset + i] === b);
  const ascii = (offset: number, text: string) => at(offset, [...Buffer.from(text, 'latin1')]);
  const syncEvery = (first: number, size: number) => head.length > first + size && head[first] === 0x47 && head[first + size] === 0x47 && !looksLikeText(head);
  // ISO BMFF / QuickTime: a box size (first byte 0 for any header box) and a known box type
  if (head[0] === 0 && ['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot'].some((box) => ascii(4, box))) return 'mp4';
  if (at(0, [0x1a, 0x45, 0xdf, 0xa3])) return 'matroska'; // MKV and WebM (EBML)
  if (syncEvery(0, 188)) return 'mpeg-ts';
  if (syncEvery(4, 192)) return 'm2ts';
  if (at(0, [0, 0, 1]) || at(0, [0, 0, 0, 1])) return 'mpeg'; // program stream, elementary streams (.mpg, .m2v, .h264)
  if (ascii(0, 'RIFF') && ascii(8, 'AVI ')) return 'avi';
  if (at(0, [0x46, 0x4c, 0x56, 0x01])) return 'flv';
  if (at(0, [0x4f, 0x67, 0x67, 0x53, 0x00])) return 'ogg';
  if (at(0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return 'asf'; // WMV
  if (at(0, [0x06, 0x0e, 0x2b, 0x34])) return 'mxf';
  if (at(0, [0x2e, 0x52, 0x4d, 0x46, 0x00])) return 'realmedia';
  if (ascii(0, 'DKIF')) return 'ivf';
  if (ascii(0, 'YUV4MPEG2 ')) return 'y4m';
  return null;
}

/**
 * Recognises the first bytes of a body that is plainly not a video: a page, JSON or a stream manifest, and with
 * `anyText` also any other XML or text (for bodies whose type does not claim a video). Real video bytes are
 * never named, whatever follows them.
 */
export function sniffNotVideo(first: Buffer, options: { anyText?: boolean } = {}): string | null {
  if (first.length === 0 || videoSignature(first)) return null;
  const head = first.subarray(0, SNIFF_BYTES).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (head.startsWith('#EXTM3U')) return 'an HLS playlist';
  const lower = head.toLowerCase();
  if (lower.startsWith('<!doctype html') || lower.startsWith('<html') || (lower.startsWith('<') && /<(html|head|body|title|div|script)[\s>]/.test(lower))) {
    return 'an HTML page';
  }
  if (lower.startsWith('<?xml') && lower.includes('<mpd')) return 'a DASH manifest';
  if (/^[{[]\s*["{[\]}]/.test(head)) return 'JSON';
  if (!options.anyText) return null;
  if (lower.startsWith('<?xml')) return 'an XML document';
  if (looksLikeText(first.subarray(0, SNIFF_BYTES))) return lower.startsWith('<') ? 'an XML document' : 'text';
  return null;
}

/** The first `bytes` bytes of a file (fewer when it is shorter), for the tests above on a file already on disk. */
export async function fileHead(file: string, bytes: number = SNIFF_BYTES): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
