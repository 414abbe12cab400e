/**
 * Facet counting for the SQLite store without a GROUP BY per facet.
 *
 * Counting tags over a large match by SQL costs a label-table probe per matching record (about a second at
 * 100k records). Instead a long-lived store keeps the facet values of every record in memory, as small integer
 * codes by rowid, and counts the matching rowids in one pass. The copy follows local writes row by row (the
 * store marks touched rowids dirty; they are re-read from the database before the next count, so a rolled-back
 * write leaves no trace) and is rebuilt when another connection wrote (`PRAGMA data_version`).
 */
import type Database from 'better-sqlite3';
import type { Facets } from '../search-query.js';
import { FACET_SIZE, topFacet } from '../query/index.js';

const COLUMN_FACETS = ['codecs', 'sourceKinds', 'resolutions'] as const;
const LABEL_FACETS = ['tags', 'categories'] as const;
type ColumnFacet = (typeof COLUMN_FACETS)[number];
type LabelFacet = (typeof LABEL_FACETS)[number];

/** Strings to small integers, per facet. */
class Dictionary {
  private readonly codes = new Map<string, number>();
  readonly names: string[] = [];
  code(name: string): number {
    let c = this.codes.get(name);
    if (c === undefined) {
      c = this.names.length;
      this.codes.set(name, c);
      this.names.push(name);
    }
    return c;
  }
}

/** Beyond this many dirty rows a full rebuild is cheaper than reading them one by one. */
const MAX_DIRTY = 5000;
const SEP = '\u001f';

export class SqliteFacetIndex {
  private dicts = this.freshDicts();
  /** Column facet code + 1 by rowid (0: no value). */
  private columns: Record<ColumnFacet, Int32Array> = { codecs: new Int32Array(0), sourceKinds: new Int32Array(0), resolutions: new Int32Array(0) };
  private labels: Record<LabelFacet, Array<Uint32Array | undefined>> = { tags: [], categories: [] };
  private present = new Uint8Array(0);
  private dataVersion: number | null = null;
  private readonly dirty = new Set<number>();
  private dirtyOverflow = false;

  constructor(private readonly db: Database.Database) {}

  private freshDicts(): Record<ColumnFacet | LabelFacet, Dictionary> {
    return { codecs: new Dictionary(), sourceKinds: new Dictionary(), resolutions: new Dictionary(), tags: new Dictionary(), categories: new Dictionary() };
  }

  /** A local write touched this rowid (upsert or delete). Cheap; the work happens before the next count. */
  touch(rowid: number): void {
    if (this.dataVersion === null || this.dirtyOverflow) return;
    if (this.dirty.size >= MAX_DIRTY) this.dirtyOverflow = true;
    else this.dirty.add(rowid);
  }

  /** Whether the in-memory copy exists (built by an earlier count). */
  get built(): boolean {
    return this.dataVersion !== null;
  }

  /** Facets over these rowids, or over every record when `rowids` is null. */
  count(rowids: ArrayLike<number> | null): Facets {
    this.sync();
    const colCounts = COLUMN_FACETS.map((f) => new Uint32Array(this.dicts[f].names.length + 1));
    const labelCounts = LABEL_FACETS.map((f) => new Uint32Array(this.dicts[f].names.length));
    const cols = COLUMN_FACETS.map((f) => this.columns[f]);
    const labels = LABEL_FACETS.map((f) => this.labels[f]);
    const add = (rid: number): void => {
      for (let k = 0; k < cols.length; k++) colCounts[k]![cols[k]![rid] ?? 0]!++;
      for (let k = 0; k < labels.length; k++) {
        const codes = labels[k]![rid];
        if (codes) for (let j = 0; j < codes.length; j++) labelCounts[k]![codes[j]!]!++;
      }
    };
    if (rowids === null) {
      for (let rid = 0; rid < this.present.length; rid++) if (this.present[rid]) add(rid);
    } else {
      for (let i = 0; i < rowids.length; i++) {
        const rid = rowids[i]!;
        if (rid < this.present.length && this.present[rid]) add(rid);
      }
    }
    const out = (names: string[], counts: Uint32Array, offset: number): Record<string, number> => {
      const entries: Array<[string, number]> = [];
      for (let c = offset; c < counts.length; c++) if (counts[c]! > 0 && names[c - offset] !== '') entries.push([names[c - offset]!, counts[c]!]);
      return topFacet(entries, FACET_SIZE);
    };
    return {
      codecs: out(this.dicts.codecs.names, colCounts[0]!, 1),
      sourceKinds: out(this.dicts.sourceKinds.names, colCounts[1]!, 1),
      resolutions: out(this.dicts.resolutions.names, colCounts[2]!, 1),
      tags: out(this.dicts.tags.names, labelCounts[0]!, 0),
      categories: out(this.dicts.categories.names, labelCounts[1]!, 0),
    };
  }

  private sync(): void {
    const dv = this.db.pragma('data_version', { simple: true }) as number;
    if (this.dataVersion !== dv || this.dirtyOverflow) this.rebuild(dv);
    else if (this.dirty.size > 0) this.refresh([...this.dirty]);
    this.dirty.clear();
    this.dirtyOverflow = false;
  }

  private grow(size: number): void {
    if (size <= this.present.length) return;
    const n = Math.max(size, Math.ceil(this.present.length * 1.5), 1024);
    const present = new Uint8Array(n);
    present.set(this.present);
    this.present = present;
    for (const f of COLUMN_FACETS) {
      const a = new Int32Array(n);
      a.set(this.columns[f]);
      this.columns[f] = a;
    }
  }

  private setRow(rid: number, codec: string | null, sourceKind: string | null, resolution: string | null, tags: string | null, categories: string | null): void {
    this.grow(rid + 1);
    this.present[rid] = 1;
    this.columns.codecs[rid] = codec === null ? 0 : this.dicts.codecs.code(codec) + 1;
    this.columns.sourceKinds[rid] = sourceKind === null ? 0 : this.dicts.sourceKinds.code(sourceKind) + 1;
    this.columns.resolutions[rid] = resolution === null ? 0 : this.dicts.resolutions.code(resolution) + 1;
    this.labels.tags[rid] = tags ? Uint32Array.from(tags.split(SEP), (t) => this.dicts.tags.code(t)) : undefined;
    this.labels.categories[rid] = categories ? Uint32Array.from(categories.split(SEP), (c) => this.dicts.categories.code(c)) : undefined;
  }

  private clearRow(rid: number): void {
    if (rid >= this.present.length) return;
    this.present[rid] = 0;
    for (const f of COLUMN_FACETS) this.columns[f][rid] = 0;
    this.labels.tags[rid] = undefined;
    this.labels.categories[rid] = undefined;
  }

  private static readonly ROW_SQL = `SELECT v.rowid AS rid, v.codec, v.source_kind, v.resolution,
      (SELECT group_concat(tag, char(31)) FROM video_tags WHERE video_id = v.id) AS tags,
      (SELECT group_concat(category, char(31)) FROM video_categories WHERE video_id = v.id) AS categories
    FROM videos v`;

  private rebuild(dv: number): void {
    this.dicts = this.freshDicts();
    this.present = new Uint8Array(0);
    this.columns = { codecs: new Int32Array(0), sourceKinds: new Int32Array(0), resolutions: new Int32Array(0) };
    this.labels = { tags: [], categories: [] };
    // One read transaction: the copy is one snapshot. A write by another connection after `dv` was read bumps
    // data_version again, so the next count rebuilds.
    this.db.transaction(() => {
      const max = (this.db.prepare('SELECT max(rowid) FROM videos').pluck().get() as number | null) ?? 0;
      this.grow(max + 1);
      for (const r of this.db.prepare(SqliteFacetIndex.ROW_SQL).raw().iterate() as IterableIterator<[number, string | null, string | null, string | null, string | null, string | null]>) {
        this.setRow(r[0], r[1], r[2], r[3], r[4], r[5]);
      }
    })();
    this.dataVersion = dv;
  }

  private refresh(rowids: number[]): void {
    const st = this.db.prepare(`${SqliteFacetIndex.ROW_SQL} WHERE v.rowid = ?`).raw();
    for (const rid of rowids) {
      const r = st.get(rid) as [number, string | null, string | null, string | null, string | null, string | null] | undefined;
      if (r) this.setRow(r[0], r[1], r[2], r[3], r[4], r[5]);
      else this.clearRow(rid);
    }
  }
}
