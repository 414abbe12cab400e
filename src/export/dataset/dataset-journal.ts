import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../core/index.js';
import { outsideFolder } from './inside-folder.js';

/** One finished clip, as remembered between runs. */
export interface JournalEntry {
  id: string;
  /** Hash of everything the clip's bytes depend on. */
  spec: string;
  /** Relative to the dataset folder. */
  path: string;
  bytes: number;
  mode: 'encode' | 'copy';
  writtenStartSec: number;
  durationSec: number;
  /** dHash (hex) and the number of frames it samples. */
  hash?: string;
  hashFrames?: number;
}

/**
 * Append-only JSONL of finished clips in `<dataset>/.videodex-dataset/journal.jsonl`: a crash keeps every
 * line written before it (a torn last line is ignored), and a re-run reuses the clips it lists.
 * @throws AppError (E_DATASET_JOURNAL) when a clip's path is not a clip inside the dataset folder: the build
 * moves and deletes those files, so a journal that names another place is refused before anything is touched.
 */
export class DatasetJournal {
  readonly file: string;
  private readonly entries = new Map<string, JournalEntry>();

  constructor(
    readonly workDir: string,
    /** The dataset folder, which clip paths are relative to. */
    readonly outDir: string = path.dirname(workDir),
  ) {
    this.file = path.join(workDir, 'journal.jsonl');
    mkdirSync(workDir, { recursive: true });
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as JournalEntry;
          if (e && typeof e.id === 'string') this.entries.set(e.id, e);
        } catch {
          // torn line from a crash
        }
      }
      for (const e of this.entries.values()) {
        // every clip the build writes is an .mp4: nothing else in the folder (dataset.json, the lock) is the journal's to delete
        const why = outsideFolder(this.outDir, e.path) ?? (e.path.endsWith('.mp4') ? null : 'is not a clip (.mp4)');
        if (why) {
          throw new AppError(
            'E_DATASET_JOURNAL',
            `dataset build: ${this.file}: clip ${e.id}'s path ${JSON.stringify(e.path)} ${why}; refused, nothing was moved or deleted: remove that line (or the journal, and its clips are cut again)`,
          );
        }
      }
    }
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  all(): JournalEntry[] {
    return [...this.entries.values()];
  }

  put(entry: JournalEntry): void {
    this.entries.set(entry.id, entry);
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }

  /** Rewrites the journal with only the given ids (drops clips no longer planned). */
  compact(keep: ReadonlySet<string>): void {
    for (const id of [...this.entries.keys()]) if (!keep.has(id)) this.entries.delete(id);
    const part = `${this.file}.part`;
    writeFileSync(part, [...this.entries.values()].map((e) => `${JSON.stringify(e)}\n`).join(''));
    renameSync(part, this.file);
  }
}
