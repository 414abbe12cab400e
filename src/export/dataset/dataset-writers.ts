import { createReadStream, createWriteStream, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import tar from 'tar-stream';
import { SPLITS, type DatasetClip, type SplitName } from './dataset-types.js';

/** Writes a file through `<file>.part` and a rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const part = `${file}.part`;
  writeFileSync(part, data);
  renameSync(part, file);
}

function bySplit(clips: readonly DatasetClip[]): Map<SplitName, DatasetClip[]> {
  const m = new Map<SplitName, DatasetClip[]>();
  for (const s of SPLITS) m.set(s, []);
  for (const c of clips) m.get(c.split)!.push(c);
  return m;
}

function seconds(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * Kinetics-style CSVs, one per split plus `all.csv`, in `annotations/`: `label,youtube_id,time_start,
 * time_end,split` when every clip comes from YouTube, else `label,video_id,...` with videodex ids. Times are
 * seconds into the video the id column names (milliseconds kept, where Kinetics has whole seconds): the YouTube
 * video for `youtube_id`; the record's file for `video_id`, which for a list row cut at acquisition is that cut.
 */
export function writeKineticsCsv(outDir: string, clips: readonly DatasetClip[]): string[] {
  const youtube = clips.length > 0 && clips.every((c) => c.youtubeId);
  const idColumn = youtube ? 'youtube_id' : 'video_id';
  const files: string[] = [];
  const rows = (cs: readonly DatasetClip[]) =>
    stringify(
      cs.map((c) =>
        youtube
          ? [c.label, c.youtubeId, seconds(c.sourceStartSec), seconds(c.sourceEndSec), c.split]
          : [c.label, c.videoId, seconds(c.startSec), seconds(c.endSec), c.split],
      ),
      { header: true, columns: ['label', idColumn, 'time_start', 'time_end', 'split'] },
    );
  for (const [split, cs] of bySplit(clips)) {
    if (cs.length === 0) continue;
    const file = path.join(outDir, 'annotations', `${split}.csv`);
    writeFileAtomic(file, rows(cs));
    files.push(file);
  }
  const all = path.join(outDir, 'annotations', 'all.csv');
  writeFileAtomic(all, rows(clips));
  files.push(all);
  return files;
}

/** `label_map.txt`: one class per line; the line number (from 0) is the label index. */
export function writeLabelMap(outDir: string, labels: readonly string[]): string {
  const file = path.join(outDir, 'label_map.txt');
  writeFileAtomic(file, labels.map((l) => `${l}\n`).join(''));
  return file;
}

/** MMAction2 video lists `<split>_list_videos.txt`: `relative/path.mp4 <label index>` a line. */
export function writeMmactionLists(outDir: string, clips: readonly DatasetClip[]): string[] {
  const files: string[] = [];
  for (const [split, cs] of bySplit(clips)) {
    if (cs.length === 0) continue;
    const file = path.join(outDir, `${split}_list_videos.txt`);
    writeFileAtomic(file, cs.map((c) => `${c.path} ${c.labelIndex}\n`).join(''));
    files.push(file);
  }
  return files;
}

export interface ShardInfo {
  file: string;
  samples: number;
  bytes: number;
}

/** The JSON written beside each clip in a shard. */
export function sampleJson(c: DatasetClip): Record<string, unknown> {
  return {
    key: c.id,
    label: c.label,
    label_index: c.labelIndex,
    labels: c.labels,
    split: c.split,
    video_id: c.videoId,
    source: c.source,
    youtube_id: c.youtubeId,
    time_start: seconds(c.startSec),
    time_end: seconds(c.endSec),
    source_time_start: seconds(c.sourceStartSec),
    source_time_end: seconds(c.sourceEndSec),
    duration: seconds(c.durationSec),
    scene: c.scene,
    caption: c.description,
  };
}

/**
 * WebDataset shards `webdataset/<split>/shard-NNNNNN.tar`: per clip `<key>.mp4`, `<key>.json`, `<key>.cls`
 * (label index) and `<key>.txt` (scene description, when there is one), adjacent. A shard is closed before
 * it would pass `shardSize` bytes (a single larger clip gets a shard of its own). Each shard is written to
 * `.part` and renamed; `webdataset/<split>/shards.json` lists them with the brace pattern.
 */
export async function writeWebDataset(outDir: string, clips: readonly DatasetClip[], shardSize: number): Promise<string[]> {
  const files: string[] = [];
  for (const [split, cs] of bySplit(clips)) {
    if (cs.length === 0) continue;
    const dir = path.join(outDir, 'webdataset', split);
    mkdirSync(dir, { recursive: true });
    const shards: ShardInfo[] = [];
    let i = 0;
    while (i < cs.length) {
      const name = `shard-${String(shards.length).padStart(6, '0')}.tar`;
      const file = path.join(dir, name);
      const part = `${file}.part`;
      const pack = tar.pack();
      const done = pipeline(pack, createWriteStream(part));
      let bytes = 0;
      let samples = 0;
      while (i < cs.length) {
        const c = cs[i]!;
        const clipBytes = statSync(path.join(outDir, c.path)).size;
        if (samples > 0 && shardSize > 0 && bytes + clipBytes > shardSize) break;
        await addFile(pack, `${c.id}.mp4`, path.join(outDir, c.path), clipBytes);
        await addEntry(pack, `${c.id}.json`, Buffer.from(JSON.stringify(sampleJson(c))));
        await addEntry(pack, `${c.id}.cls`, Buffer.from(String(c.labelIndex)));
        if (c.description) await addEntry(pack, `${c.id}.txt`, Buffer.from(c.description));
        bytes += clipBytes;
        samples++;
        i++;
      }
      pack.finalize();
      await done;
      renameSync(part, file);
      shards.push({ file: name, samples, bytes: statSync(file).size });
      files.push(file);
    }
    const last = String(shards.length - 1).padStart(6, '0');
    const index = { split, pattern: `shard-{000000..${last}}.tar`, samples: cs.length, shards };
    const indexFile = path.join(dir, 'shards.json');
    writeFileAtomic(indexFile, `${JSON.stringify(index, null, 2)}\n`);
    files.push(indexFile);
  }
  return files;
}

const MTIME = new Date(0);

function addEntry(pack: tar.Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: data.length, mtime: MTIME, mode: 0o644 }, data, (err) => (err ? reject(err) : resolve()));
  });
}

function addFile(pack: tar.Pack, name: string, file: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry({ name, size, mtime: MTIME, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
    pipeline(createReadStream(file), entry).catch(reject);
  });
}
