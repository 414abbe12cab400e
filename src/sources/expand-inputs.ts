import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileHead, looksLikeText } from './content-sniff.js';
import { readCsvRows } from './csv-rows.js';
import type { InputItem } from './input-item.js';
import { fsCause, localFileError } from './source-errors.js';

export interface InputProblem {
  raw: string;
  message: string;
}

export interface ExpandOptions {
  /** Lowercase extensions without dots. */
  videoExtensions: readonly string[];
  sniffContent: boolean;
  followSymlinks: boolean;
  cwd?: string;
}

export interface ExpandedInputs {
  items: InputItem[];
  problems: InputProblem[];
  /**
   * List rows naming a local file that cannot be read (also among the problems): inputs of their list all the
   * same, so the acquisition log keeps them as failed (`sources status` counts them, `--retry-failed` tries them).
   */
  unreadable?: Array<{ item: InputItem; error: string; errorCode: string }>;
}

export function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** What the first bytes of a file say it is: a video, something else (named), or unknown. */
export async function sniffFile(file: string): Promise<{ video: boolean | null; what: string }> {
  // file-type reads up to 4100 bytes for its longest signature
  const head = await fileHead(file, 4100);
  if (head.length === 0) return { video: null, what: 'empty' };
  // loaded by the first file sniffed: most commands sniff none (file-type and its readers are 30-odd modules)
  const { fileTypeFromBuffer } = await import('file-type');
  const type = await fileTypeFromBuffer(head);
  if (type) {
    const video = type.mime.startsWith('video/') || ['application/x-matroska', 'application/mxf'].includes(type.mime);
    return { video, what: type.mime };
  }
  if (looksLikeText(head)) return { video: false, what: 'text' };
  return { video: null, what: 'unknown' };
}

/** Where a list entry sits, as every message about it says: `urls.txt row 4`, the line in the file (comments and blanks count). */
export function listPlace(list: { file: string; row?: number }): string {
  return `${path.basename(list.file)}${list.row !== undefined ? ` row ${list.row}` : ''}`;
}

/**
 * Turns command-line inputs into items: files as given, folders scanned recursively (by extension and by
 * content), URLs, and list files. Problems (missing paths, empty folders) are returned, not thrown, so the
 * other inputs still run.
 */
export async function expandInputs(args: readonly string[], listFiles: readonly string[], options: ExpandOptions): Promise<ExpandedInputs> {
  const cwd = options.cwd ?? process.cwd();
  const items: InputItem[] = [];
  const problems: InputProblem[] = [];
  const unreadable: NonNullable<ExpandedInputs['unreadable']> = [];
  const byKey = new Map<string, number>();
  const skippedSaid = new Set<string>();
  const add = (item: InputItem) => {
    const at = byKey.get(item.key);
    if (at === undefined) {
      byKey.set(item.key, items.length);
      items.push(item);
      return;
    }
    // The same input twice is one input; what a list says about it must not vanish without a word.
    const first = items[at]!;
    if (!item.list || (item.list.label === undefined && item.list.split === undefined)) return;
    if (!first.list || (first.list.label === undefined && first.list.split === undefined)) {
      items[at] = { ...first, list: { ...first.list, ...item.list } };
      return;
    }
    if (first.list.label !== item.list.label || first.list.split !== item.list.split) {
      const said = (l: NonNullable<InputItem['list']>) => `${listPlace(l)} (label ${JSON.stringify(l.label ?? '')}, split ${JSON.stringify(l.split ?? '')})`;
      problems.push({ raw: item.raw, message: `listed again in ${said(item.list)}; the first, ${said(first.list)}, is used` });
    }
  };

  const addOne = async (raw: string, base: string, list?: InputItem['list']) => {
    // A problem with a list entry (plain or CSV) starts with its place, as CSV row problems do:
    // `urls.txt row 4: missing.mp4: no such file or folder`.
    const problem = (message: string): InputProblem => (list ? { raw: listPlace(list), message: `${raw}: ${message}` } : { raw, message });
    // An empty argument (an unset "$URL") would resolve to the working folder and scan all of it.
    if (raw.trim() === '') {
      problems.push(list ? problem('empty input') : { raw: JSON.stringify(raw), message: 'empty input' });
      return;
    }
    // A list row that cuts a segment is its own input: the same video may give several clips.
    const segment = list && (list.start !== undefined || list.end !== undefined) ? `#t=${list.start ?? 0},${list.end ?? ''}` : '';
    if (isUrl(raw) || /^(ytdl|yt-dlp):/i.test(raw)) {
      add({ key: `${raw}${segment}`, raw, kind: 'url', url: raw, ...(list ? { list } : {}) });
      return;
    }
    const abs = path.resolve(base, raw);
    let info;
    try {
      info = await stat(abs);
    } catch (err) {
      const p = problem(fsCause(err));
      problems.push(p);
      if (list) unreadable.push({ item: { key: `${abs}${segment}`, raw, kind: 'local', path: abs, list }, error: p.message, errorCode: localFileError(err, 'read').code });
      return;
    }
    if (info.isDirectory()) {
      // videos found, not new items: a folder given twice, or after a file in it, adds nothing new and has videos
      let videos = 0;
      const skipped: InputProblem[] = [];
      // a list row naming a folder (one folder per class, as many datasets ship) labels every video in it; its
      // label and split were dropped, and the videos came in unlabelled
      await scanFolder(abs, options, (file) => {
        videos++;
        add({ key: `${file}${segment}`, raw: file, kind: 'local', path: file, ...(list ? { list } : {}) });
      }, skipped);
      for (const p of skipped) {
        // the folder itself unreadable is the entry's problem; a file skipped inside it is named by its own path,
        // once however many spellings of its folder were given
        if (list && p.raw === abs) problems.push(problem(p.message));
        else if (!skippedSaid.has(`${p.raw}\0${p.message}`)) {
          skippedSaid.add(`${p.raw}\0${p.message}`);
          problems.push(p);
        }
      }
      if (videos === 0) problems.push(problem('folder contains no videos'));
    } else {
      add({ key: `${abs}${segment}`, raw, kind: 'local', path: abs, ...(list ? { list } : {}) });
    }
  };

  for (const raw of args) await addOne(raw, cwd);
  for (const listFile of listFiles) {
    const abs = path.resolve(cwd, listFile);
    let text: string | null;
    try {
      text = listText(await readFile(abs));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({ raw: listFile, message: code === 'ENOENT' || code === 'ENOTDIR' ? 'list file not found' : `cannot read the list file: ${fsCause(err)}` });
      continue;
    }
    if (text === null) {
      problems.push({ raw: listFile, message: 'not a text list: it holds NUL bytes (UTF-16 without a byte-order mark, or not a text file); save it as UTF-8' });
      continue;
    }
    const parsed = readInputList(text, abs);
    problems.push(...parsed.problems);
    const base = path.dirname(abs);
    for (const entry of parsed.entries) await addOne(entry.raw, base, entry.list);
  }
  return { items, problems, ...(unreadable.length ? { unreadable } : {}) };
}

/**
 * A list file's text: UTF-8, or UTF-16 with its byte-order mark (what Windows Notepad saves as "Unicode"; read as
 * UTF-8 every entry was junk with a NUL between letters). Null for bytes no text list has (NUL). Line ends are
 * `\n` from here on: a list saved with CR alone (classic Mac, Excel's "CSV (Macintosh)") was one entry.
 */
export function listText(bytes: Buffer): string | null {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = bytes.subarray(2).toString('utf16le');
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2))).swap16().toString('utf16le');
  else text = bytes.toString('utf8');
  if (text.includes('\0')) return null;
  return text.replace(/\r\n?/g, '\n');
}

/**
 * The video files under `dir`. `visited` holds the folders already scanned by device and inode: with
 * FollowSymlinks a link back up the tree (`sub/loop -> ..`) would otherwise list the same files again at every
 * depth until the system's link limit (163 inputs for 1 file).
 */
async function scanFolder(dir: string, options: ExpandOptions, found: (file: string) => void, problems: InputProblem[], visited = new Set<string>()): Promise<void> {
  const here = await stat(dir).catch(() => null);
  if (here) {
    const id = `${here.dev}:${here.ino}`;
    if (visited.has(id)) return;
    visited.add(id);
  }
  const exts = new Set(options.videoExtensions.map((e) => e.toLowerCase().replace(/^\./, '')));
  let raw;
  try {
    // as bytes: a name that is not UTF-8 read as text names another file (U+FFFD), which is then 'not found'
    raw = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    problems.push({ raw: dir, message: `cannot read folder: ${fsCause(err)}` });
    return;
  }
  const entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }> = [];
  raw.sort((a, b) => Buffer.compare(a.name as unknown as Buffer, b.name as unknown as Buffer));
  for (const entry of raw) {
    const bytes = entry.name as unknown as Buffer;
    const name = bytes.toString('utf8');
    if (Buffer.from(name).equals(bytes)) {
      entries.push(Object.assign(entry, { name }) as unknown as (typeof entries)[number]);
      continue;
    }
    if (name.startsWith('.')) continue;
    // paths are text everywhere after the scan (ffprobe's arguments, the database): such a file cannot be read
    const shown = path.join(dir, escapeBytes(bytes));
    if (entry.isDirectory()) problems.push({ raw: shown, message: 'skipped: a folder whose name is not valid UTF-8 (rename it to scan it)' });
    else if (exts.has(path.extname(name).slice(1).toLowerCase()) || (options.sniffContent && entry.isFile())) {
      problems.push({ raw: shown, message: 'skipped: its name is not valid UTF-8 (rename it to index it)' });
    }
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name.endsWith('.part')) continue;
    const full = path.join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      if (!options.followSymlinks) continue;
      let info = null;
      try {
        info = await stat(full);
      } catch (err) {
        // a broken or looping link named as a video is said, as the same path given directly is
        if (exts.has(path.extname(entry.name).slice(1).toLowerCase())) problems.push({ raw: full, message: `skipped: a link that leads nowhere (${fsCause(err)})` });
        continue;
      }
      isDir = info.isDirectory();
      isFile = info.isFile();
    }
    if (isDir) {
      await scanFolder(full, options, found, problems, visited);
      continue;
    }
    if (!isFile) continue;
    const ext = path.extname(entry.name).slice(1).toLowerCase();
    const byName = exts.has(ext);
    if (!options.sniffContent) {
      if (byName) found(full);
      continue;
    }
    const sniff = await sniffFile(full).catch(() => ({ video: null, what: 'unreadable' }));
    if (sniff.video === true) found(full);
    else if (byName && sniff.video === null) found(full); // unknown bytes: let ffprobe decide, and say why if it can't
    else if (byName) problems.push({ raw: full, message: `skipped: named .${ext} but its content is ${sniff.what}, not a video` });
  }
}

/** A file name's bytes as text, each byte that is not part of valid UTF-8 written `\xNN`. */
function escapeBytes(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const seq = bytes.subarray(i, i + len);
    const text = seq.toString('utf8');
    if (len > 0 && seq.length === len && Buffer.from(text).equals(seq)) {
      out += text;
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

export interface ListEntry {
  raw: string;
  list: NonNullable<InputItem['list']>;
}

/**
 * A plain list line without its comment, trimmed: a `#` at the start of the line or after a space or tab starts
 * a comment (`http://host/beach.mp4   # the beach`); one right after other text is part of the entry (the
 * fragment of `http://h/v.mp4#t=5`, a path `take#2.mp4`). Empty for a blank or comment line.
 */
function listEntryText(line: string): string {
  const comment = /(?:^|\s)#/.exec(line);
  return (comment ? line.slice(0, comment.index) : line).trim();
}

const URL_COLUMNS = ['url', 'path', 'file', 'video'];
const ID_COLUMNS = ['youtube_id', 'youtubeid', 'yt_id'];

/**
 * Reads a list file. Plain lists: one URL or path a line, `#` comments. CSV lists (a header naming `url` or
 * `youtube_id`, as Kinetics ships them): optional `label`, `start`/`time_start`, `end`/`time_end` (seconds) and
 * `split` columns; a `youtube_id` becomes a YouTube watch URL. Bad rows are problems naming the row; the rest
 * still run.
 */
export function readInputList(text: string, file: string): { entries: ListEntry[]; problems: InputProblem[] } {
  const clean = text.replace(/^\uFEFF/, '');
  // the first entry, without its comment: `a.mp4  # url, label` is a plain list, not a CSV header
  const firstLine = clean.split(/\r?\n/).map(listEntryText).find(Boolean) ?? '';
  const header = firstLine.split(',').map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
  const isCsv = header.length > 1 || header.some((h) => [...URL_COLUMNS, ...ID_COLUMNS].includes(h)) || /\.csv$/i.test(file);
  if (!isCsv || !header.some((h) => [...URL_COLUMNS, ...ID_COLUMNS].includes(h))) {
    if (/\.csv$/i.test(file) && firstLine && !isUrl(firstLine.trim()) && header.length > 1) {
      return { entries: [], problems: [{ raw: file, message: `CSV list needs a header with a url or youtube_id column; found: ${header.join(', ')}` }] };
    }
    const entries: ListEntry[] = [];
    clean.split(/\r?\n/).forEach((line, i) => {
      const entry = listEntryText(line);
      if (entry) entries.push({ raw: entry, list: { file, row: i + 1 } });
    });
    return { entries, problems: [] };
  }
  const csv = readCsvRows(clean);
  if (!csv) return { entries: [], problems: [{ raw: file, message: 'not a readable CSV list: its header cannot be read' }] };
  const entries: ListEntry[] = [];
  const problems: InputProblem[] = [];
  // rows that could not be read are said in line order among the others
  let bad = 0;
  const badUpTo = (line: number) => {
    for (; bad < csv.bad.length && csv.bad[bad]!.line < line; bad++) problems.push({ raw: listPlace({ file, row: csv.bad[bad]!.line }), message: csv.bad[bad]!.message });
  };
  const pick = (row: Record<string, string>, names: string[]) => names.map((n) => row[n]).find((v) => v !== undefined && v !== '');
  csv.rows.forEach(({ record: row, line }) => {
    badUpTo(line);
    const where = listPlace({ file, row: line });
    const url = pick(row, URL_COLUMNS);
    const id = pick(row, ID_COLUMNS);
    const raw = url ?? (id ? `https://www.youtube.com/watch?v=${encodeURIComponent(id)}` : undefined);
    if (!raw) {
      problems.push({ raw: where, message: 'no url or youtube_id' });
      return;
    }
    const num = (names: string[]): number | undefined | null => {
      const v = pick(row, names);
      if (v === undefined) return undefined;
      const n = Number(v);
      return Number.isFinite(n) && n >= 0 ? n : null;
    };
    const start = num(['start', 'time_start', 'start_sec']);
    const end = num(['end', 'time_end', 'end_sec']);
    if (start === null || end === null) {
      problems.push({ raw: where, message: 'start and end must be seconds (numbers >= 0)' });
      return;
    }
    if (start !== undefined && end !== undefined && end <= start) {
      problems.push({ raw: where, message: `end (${end}) must be after start (${start})` });
      return;
    }
    const label = pick(row, ['label', 'class', 'category']);
    const split = pick(row, ['split', 'subset']);
    entries.push({
      raw,
      list: {
        file,
        row: line,
        ...(label ? { label } : {}),
        ...(split ? { split } : {}),
        ...(start !== undefined ? { start } : {}),
        ...(end !== undefined ? { end } : {}),
      },
    });
  });
  badUpTo(Infinity);
  return { entries, problems };
}
