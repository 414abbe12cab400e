/**
 * An in-memory copy of the SQLite store's filter, sort and facet columns, by rowid, for searches without text.
 *
 * By SQL, a filter over a large library costs a table-row lookup per candidate (about 70 ms for 70k of 100k
 * records), its total another pass, and its facets a label-table probe per match. Held as typed arrays, the same
 * query is one pass over every record (a few milliseconds at 100k): the match is counted, its facets summed and
 * its page picked by each record's position in the sort order, which SQLite itself computes (`ORDER BY`), so
 * collation, NULL placement and ties by id are exactly the SQL path's.
 *
 * The copy follows local writes row by row (the store marks touched rowids dirty; they are re-read before the
 * next search, so a rolled-back write leaves no trace) and is rebuilt when another connection wrote
 * (`PRAGMA data_version`), at most once per `REBUILD_EVERY_MS` or ten times the last build's duration, whichever
 * is longer: while another process keeps writing, searches in between go to SQL rather than rebuild the copy
 * each time (at 100k records a build with the text index takes about 5 s, so at most a tenth of the time goes
 * to rebuilding).
 */
import type Database from 'better-sqlite3';
import { SORT_KEYS, type Facets, type QueryNode, type RangeField } from '../search-query.js';
import type { QueryPlan } from '../query/index.js';
import { FACET_SIZE, sortSpec, topFacet } from '../query/index.js';
import { TopScored } from './top-k.js';
import { compareUtf8 } from './utf8-order.js';
import { decodeFtsTotals, FTS_TOTALS_SQL, SqliteTextIndex, type FtsTotals, type PhraseStats } from './sqlite-text-index.js';

/** Strings to small integers, per column. */
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
  find(name: string): number | undefined {
    return this.codes.get(name);
  }
}

const CODE_COLUMNS = ['codec', 'audioCodec', 'container', 'sourceKind', 'resolution'] as const;
const NUM_COLUMNS = ['duration', 'width', 'height', 'fps', 'scenes', 'bytes', 'sortDuration'] as const;
const FLAG_COLUMNS = ['hasAudio', 'hasAi', 'hasDescription', 'hasMetadata', 'failed'] as const;
const STR_COLUMNS = ['id', 'name', 'created', 'createdAt'] as const;
const LABELS = ['tags', 'categories', 'actions'] as const;
type CodeColumn = (typeof CODE_COLUMNS)[number];
type NumColumn = (typeof NUM_COLUMNS)[number];
type FlagColumn = (typeof FLAG_COLUMNS)[number];
type StrColumn = (typeof STR_COLUMNS)[number];
type Label = (typeof LABELS)[number];

const RANGE_COLUMN: Record<RangeField, NumColumn> = { duration: 'duration', width: 'width', height: 'height', fps: 'fps', scenes: 'scenes', size: 'bytes' };
const LABEL_OF = { tag: 'tags', category: 'categories', action: 'actions' } as const;
const CODE_OF = { codec: 'codec', 'audio-codec': 'audioCodec', container: 'container', source: 'sourceKind', resolution: 'resolution' } as const;
const SORT_SQL = { created: 'created', added: 'created_at', duration: 'sort_duration', name: 'name', bytes: 'bytes' } as const;
const SORT_VALUE = { created: 'created', added: 'createdAt', duration: 'sortDuration', name: 'name', bytes: 'bytes' } as const;

/** Beyond this many dirty rows a full rebuild is cheaper than reading them one by one. */
const MAX_DIRTY = 5000;
/** A copy made stale by another connection is rebuilt at most this often; in between, searches use SQL. */
const REBUILD_EVERY_MS = 5000;
const SEP = '\u001f';
const ID_ORDER = 'id ASC';

/** One page of a search answered from the copy: rows in order (one past the page when more follow). */
export interface ColumnPage {
  rows: Array<{ id: string; score: number; name: string; sort_duration: number; created: string; created_at: string; bytes: number }>;
  total: number;
  facets: Facets | null;
}

type Row = [number, ...unknown[]];

export class SqliteColumnIndex {
  private dicts = this.freshDicts();
  private present = new Uint8Array(0);
  private codes = {} as Record<CodeColumn, Int32Array>;
  private nums = {} as Record<NumColumn, Float64Array>;
  private flags = {} as Record<FlagColumn, Uint8Array>;
  private strs = {} as Record<StrColumn, string[]>;
  private labels = {} as Record<Label, Array<Uint32Array | undefined>>;
  private rowOfId = new Map<string, number>();
  /** Position of each rowid in an ORDER BY, per order; dropped on any change. */
  private ranks = new Map<string, Int32Array>();
  private timeOrdinals = new Map<string, { ord: Int32Array; sorted: string[] }>();
  private labelPostings = new Map<Label, Map<number, Int32Array>>();
  /**
   * Each row's labels of a kind, all in one array (row r: codes[start[r]] to codes[start[r + 1]]); made on first
   * use, patched through this process's writes (see refresh), made again after a rebuild.
   */
  private labelRows = new Map<Label, { start: Int32Array; codes: Int32Array }>();
  private dataVersion: number | null = null;
  private builtAt = 0;
  /** How long the last build took (the copy, and the text index when it was made with it or after it). */
  private buildMs = 0;
  private readonly dirty = new Set<number>();
  private dirtyOverflow = false;
  /** The text index, made by the first text search after a rebuild (a library searched by filters never pays). */
  private text: SqliteTextIndex | null = null;
  /** Text leaves' statistics during one search (a leaf both selects and ranks). */
  private leafStats: Map<string, PhraseStats | null> | null = null;
  private textRow: Database.Statement | null = null;
  /** Facet counts over every record (see count). */
  private everyCount: RawCounts | null = null;
  /** Searches answered here, with and without text (diagnostics and tests). */
  readonly answered = { filters: 0, text: 0 };

  /** `rebuildEveryMs`: the shortest time between two rebuilds (default REBUILD_EVERY_MS; tests lower it). */
  constructor(
    private readonly db: Database.Database,
    private readonly rebuildEveryMs = REBUILD_EVERY_MS,
  ) {
    this.allocate(0);
  }

  private freshDicts(): Record<CodeColumn | Label, Dictionary> {
    return { codec: new Dictionary(), audioCodec: new Dictionary(), container: new Dictionary(), sourceKind: new Dictionary(), resolution: new Dictionary(), tags: new Dictionary(), categories: new Dictionary(), actions: new Dictionary() };
  }

  /** A local write touched this rowid (upsert or delete). Cheap; the work happens before the next use. */
  touch(rowid: number): void {
    if (this.dataVersion === null || this.dirtyOverflow) return;
    if (this.dirty.size >= MAX_DIRTY) this.dirtyOverflow = true;
    else this.dirty.add(rowid);
  }

  /** Whether the copy exists (made by an earlier search). */
  get built(): boolean {
    return this.dataVersion !== null;
  }

  /**
   * Brings the copy up to date. False when it is stale and was rebuilt too recently to rebuild again (another
   * connection keeps writing): the caller then answers by SQL.
   */
  sync(): boolean {
    const dv = this.db.pragma('data_version', { simple: true }) as number;
    if (this.dataVersion !== dv || this.dirtyOverflow) {
      if (this.dataVersion !== null && Date.now() - this.builtAt < Math.max(this.rebuildEveryMs, 10 * this.buildMs)) return false;
      this.rebuild(dv);
    } else if (this.dirty.size > 0) this.refresh([...this.dirty]);
    else return true;
    this.dirty.clear();
    this.dirtyOverflow = false;
    // (the library-wide facet counts and the packed labels are kept up to date row by row: see refresh)
    this.ranks.clear();
    this.timeOrdinals.clear();
    this.labelPostings.clear();
    return true;
  }

  /**
   * The page, total and (when asked) facets of a query without text, or null when the plan has a part the copy
   * cannot answer (text, or a keyset cursor whose record changed since). The caller has synced.
   */
  search(plan: QueryPlan): ColumnPage | null {
    const withText = plan.terms.length > 0 || (plan.where !== null && hasText(plan.where));
    if (withText && !this.syncText()) return null;
    this.leafStats = new Map();
    try {
      const page = this.searchSynced(plan);
      if (page) this.answered[withText ? 'text' : 'filters']++;
      return page;
    } finally {
      this.leafStats = null;
    }
  }

  private searchSynced(plan: QueryPlan): ColumnPage | null {
    const mask = plan.where ? this.mask(plan.where) : null;
    if (plan.where && !mask) return null;
    const ranking = plan.terms.map((t) => this.leaf(t.value, t.prefix));
    if (ranking.some((l) => l === null)) return null;
    const leaves = ranking as PhraseStats[];
    if (plan.sort === 'relevance' && leaves.length > 0) return this.relevancePage(plan, mask, leaves);
    const spec = sortSpec(plan.sort);
    const rank = this.rank(spec ? `${SORT_SQL[spec.field]} ${spec.desc ? 'DESC' : 'ASC'}, id ASC` : ID_ORDER);
    let after = -1;
    if (plan.after && spec) {
      const r = this.rowOfId.get(plan.after.id);
      const current = r === undefined ? undefined : spec.field === 'bytes' || spec.field === 'duration' ? this.nums[SORT_VALUE[spec.field] as NumColumn][r] : this.strs[SORT_VALUE[spec.field] as StrColumn][r];
      // The SQL path compares with the cursor's value; the copy needs the cursor's record unchanged to use its rank.
      if (r === undefined || current !== plan.after.value) return null;
      // Sort columns are never NULL (an unknown size is stored as 0), so "after the cursor" is "ranked after it".
      after = rank[r]!;
    }
    const need = plan.offset + plan.limit + 1;
    // the best by rank: the highest score is the lowest rank (ranks are distinct, so no ties)
    const top = new TopScored(need, null, this.strs.id);
    const present = this.present;
    const matched = new Int32Array(present.length);
    let total = 0;
    for (let r = 0; r < present.length; r++) {
      if (!present[r] || (mask && !mask[r])) continue;
      matched[total++] = r;
      const k = rank[r]!;
      if (k > after && top.admits(-k, r)) top.add(-k, r);
    }
    const pageRows = top.sorted().slice(plan.offset).map((x) => x.row);
    // the SQL path scores the text of a query sorted otherwise too
    const scores = leaves.length > 0 ? this.text!.scores(Int32Array.from(pageRows), leaves, this.ftsTotals(), this.ln) : null;
    const rows = pageRows.map((r, i) => this.pageRow(r, scores ? scores[i]! : 0));
    return { rows, total, facets: plan.facets ? this.count(matched.subarray(0, total)) : null };
  }

  private pageRow(r: number, score: number): ColumnPage['rows'][number] {
    return { id: this.strs.id[r]!, score, name: this.strs.name[r]!, sort_duration: this.nums.sortDuration[r]!, created: this.strs.created[r]!, created_at: this.strs.createdAt[r]!, bytes: this.nums.bytes[r]! };
  }

  /** A relevance-sorted page: bm25 of every match (the text index), best first, ties by id as the SQL orders them. */
  private relevancePage(plan: QueryPlan, mask: Uint8Array | null, leaves: PhraseStats[]): ColumnPage {
    const present = this.present;
    const matched = new Int32Array(present.length);
    let total = 0;
    for (let r = 0; r < present.length; r++) if (present[r] && (!mask || mask[r])) matched[total++] = r;
    const rows = matched.subarray(0, total);
    const scores = this.text!.scores(rows, leaves, this.ftsTotals(), this.ln);
    // Ties by id: by the id order's ranks when they are at hand, else by comparing the ids (the ranks are made
    // again after any write, a pass over the library this page does not need).
    const top = new TopScored(plan.offset + plan.limit + 1, this.ranks.get(ID_ORDER) ?? null, this.strs.id);
    for (let i = 0; i < total; i++) {
      const r = rows[i]!;
      if (top.admits(scores[i]!, r)) top.add(scores[i]!, r);
    }
    const page = top.sorted().slice(plan.offset).map(({ row, score }) => this.pageRow(row, score));
    return { rows: page, total, facets: plan.facets ? this.count(rows) : null };
  }

  /**
   * Makes now what searches otherwise make on first use after a change: every sort order, the time columns'
   * ordinals, the label postings and the library-wide facet counts (a serve process's first users then wait for
   * none of them). The caller has synced.
   */
  prepare(): void {
    for (const key of SORT_KEYS) {
      const spec = sortSpec(key);
      this.rank(spec ? `${SORT_SQL[spec.field]} ${spec.desc ? 'DESC' : 'ASC'}, id ASC` : ID_ORDER);
    }
    this.ordinals('created');
    this.ordinals('createdAt');
    for (const label of LABELS) this.postings(label);
    this.allCounts();
  }

  /**
   * Brings the text index up to date with the column copy (which the caller has synced): made on first use,
   * in one read of the text table, when nothing was written since the copy was made. False otherwise.
   * (Later writes reach it row by row, with the copy's.)
   */
  syncText(): boolean {
    if (this.text) return true;
    const stale = () => (this.db.pragma('data_version', { simple: true }) as number) !== this.dataVersion;
    // Another process wrote since the copy was made: not worth reading the text of a copy about to be rebuilt.
    if (stale()) return false;
    const t0 = performance.now();
    const text = this.db.transaction((): SqliteTextIndex | null => {
      const t = this.readText();
      // after the read, so the snapshot is the one read: a write since the check above shows here
      return stale() ? null : t;
    })();
    if (!text) return false;
    text.prepare();
    this.text = text;
    this.buildMs += performance.now() - t0;
    return true;
  }

  /** The text index of the rows in the copy, read in the caller's transaction. */
  private readText(): SqliteTextIndex {
    const text = new SqliteTextIndex();
    const present = this.present;
    const seen = new Uint8Array(present.length);
    for (const [rid, ...columns] of this.db.prepare('SELECT rowid, title, tags, description, file FROM video_text').raw().iterate() as IterableIterator<[number, string, string, string, string]>) {
      if (rid < present.length && present[rid]) {
        text.setRow(rid, columns);
        seen[rid] = 1;
      }
    }
    for (let r = 0; r < present.length; r++) if (present[r] && !seen[r]) text.setRow(r, null);
    return text;
  }

  /** SQLite's ln(), which is the C library's log, as FTS5's bm25 uses. */
  private readonly ln = (x: number): number => (this.lnStmt ??= this.db.prepare('SELECT ln(?)').pluck()).get(x) as number;
  private lnStmt: Database.Statement | null = null;

  private ftsTotals(): FtsTotals {
    const st = (this.totalsStmt ??= this.db.prepare(FTS_TOTALS_SQL).pluck());
    return decodeFtsTotals((st.get() as Buffer | undefined) ?? null);
  }
  private totalsStmt: Database.Statement | null = null;

  /** A text leaf's statistics in this search, or null when FTS5 must answer it. */
  private leaf(value: string, prefix: boolean): PhraseStats | null {
    const key = `${prefix ? '*' : ''}${value}`;
    let s = this.leafStats?.get(key);
    if (s === undefined) {
      s = this.text ? this.text.phrase(value, prefix, this.present.length) : null;
      this.leafStats?.set(key, s);
    }
    return s;
  }

  /** Facets over these rowids, or over every record when `rowids` is null. The caller has synced. */
  count(rowids: ArrayLike<number> | null): Facets {
    const all = this.allCounts();
    let c: RawCounts;
    if (rowids === null) c = all;
    else if (rowids.length * 2 > all.rows && ascending(rowids)) {
      // Most of the library: everything, less the rows outside the match (a word in most records, a broad filter).
      c = { rows: all.rows, codec: all.codec.slice(), source: all.source.slice(), resolution: all.resolution.slice(), tags: all.tags.slice(), categories: all.categories.slice() };
      this.tally(c, -1, null, rowids);
    } else {
      c = this.emptyCounts();
      this.tally(c, 1, rowids);
    }
    // Column counts are by code + 1 (0: NULL, not a facet value).
    const out = (names: string[], counts: Int32Array, offset: number): Record<string, number> => {
      const entries: Array<[string, number]> = [];
      for (let c = offset; c < counts.length; c++) if (counts[c]! > 0 && names[c - offset] !== '') entries.push([names[c - offset]!, counts[c]!]);
      return topFacet(entries, FACET_SIZE);
    };
    return {
      codecs: out(this.dicts.codec.names, c.codec, 1),
      sourceKinds: out(this.dicts.sourceKind.names, c.source, 1),
      resolutions: out(this.dicts.resolution.names, c.resolution, 1),
      tags: out(this.dicts.tags.names, c.tags, 0),
      categories: out(this.dicts.categories.names, c.categories, 0),
    };
  }

  private emptyCounts(): RawCounts {
    return {
      rows: 0,
      codec: new Int32Array(this.dicts.codec.names.length + 1),
      source: new Int32Array(this.dicts.sourceKind.names.length + 1),
      resolution: new Int32Array(this.dicts.resolution.names.length + 1),
      tags: new Int32Array(this.dicts.tags.names.length),
      categories: new Int32Array(this.dicts.categories.names.length),
    };
  }

  /** Facet counts over every record: made on first use, kept up to date through this process's writes (see refresh). */
  private allCounts(): RawCounts {
    if (!this.everyCount) {
      const c = this.emptyCounts();
      this.tally(c, 1, null);
      this.everyCount = c;
    }
    return this.everyCount;
  }

  /** Adds (d = 1) or removes (d = -1) the facet values of rows: `rows` ascending, or every row when null, skipping `skip` (ascending) and absent rows. */
  private tally(c: RawCounts, d: number, rows: ArrayLike<number> | null, skip: ArrayLike<number> | null = null): void {
    const codec = this.codes.codec;
    const source = this.codes.sourceKind;
    const resolution = this.codes.resolution;
    // packed per kind: a typed array per row, one object each, cost a cache miss or two per row
    const tags = this.packedLabels('tags');
    const categories = this.packedLabels('categories');
    const tagStart = tags.start;
    const tagCodes = tags.codes;
    const catStart = categories.start;
    const catCodes = categories.codes;
    const present = this.present;
    const nCodec = c.codec;
    const nSource = c.source;
    const nResolution = c.resolution;
    const nTags = c.tags;
    const nCategories = c.categories;
    const n = rows === null ? present.length : rows.length;
    let j = 0;
    let counted = 0;
    for (let i = 0; i < n; i++) {
      const rid = rows === null ? i : rows[i]!;
      if (skip !== null && j < skip.length && skip[j] === rid) {
        j++;
        continue;
      }
      if (!present[rid]) continue;
      counted++;
      nCodec[codec[rid]!]! += d;
      nSource[source[rid]!]! += d;
      nResolution[resolution[rid]!]! += d;
      for (let k = tagStart[rid]!, end = tagStart[rid + 1]!; k < end; k++) nTags[tagCodes[k]!]! += d;
      for (let k = catStart[rid]!, end = catStart[rid + 1]!; k < end; k++) nCategories[catCodes[k]!]! += d;
    }
    c.rows += d * counted;
  }

  private packedLabels(label: Label): { start: Int32Array; codes: Int32Array } {
    let p = this.labelRows.get(label);
    if (!p) {
      const sets = this.labels[label];
      const n = this.present.length;
      const start = new Int32Array(n + 1);
      for (let r = 0; r < n; r++) start[r + 1] = start[r]! + (sets[r]?.length ?? 0);
      const codes = new Int32Array(start[n]!);
      for (let r = 0; r < n; r++) {
        const set = sets[r];
        if (set) codes.set(set, start[r]!);
      }
      p = { start, codes };
      this.labelRows.set(label, p);
    }
    return p;
  }

  /** The rows matching a query without text, as a mask over rowids (1: matches); null when it has text. The caller has synced. */
  maskOf(node: QueryNode): Uint8Array | null {
    const m = this.mask(node);
    if (m) for (let r = 0; r < m.length; r++) m[r]! &= this.present[r]!;
    return m;
  }

  /**
   * The query as a mask over rowids (1: matches), with the SQL path's meaning: a NULL column satisfies no
   * comparison, and NOT turns "no" (NULL included) into "yes" (the SQL wraps NOT in coalesce). Each node is one
   * tight loop over a typed array (a predicate closure per row was 5x slower). Null for a text leaf.
   */
  private mask(node: QueryNode): Uint8Array | null {
    const n = this.present.length;
    const out = new Uint8Array(n);
    switch (node.kind) {
      case 'and':
      case 'or': {
        const parts: Uint8Array[] = [];
        for (const child of node.nodes) {
          const m = this.mask(child);
          if (!m) return null;
          parts.push(m);
        }
        out.set(parts[0]!);
        for (const m of parts.slice(1)) {
          if (node.kind === 'and') for (let r = 0; r < n; r++) out[r]! &= m[r]!;
          else for (let r = 0; r < n; r++) out[r]! |= m[r]!;
        }
        return out;
      }
      case 'not': {
        const m = this.mask(node.node);
        if (!m) return null;
        for (let r = 0; r < n; r++) out[r] = m[r]! ^ 1;
        return out;
      }
      case 'text': {
        const s = this.leaf(node.value, Boolean(node.prefix));
        if (!s) return null;
        const f = s.freq;
        for (let r = 0; r < n; r++) out[r] = f[r]! > 0 ? 1 : 0;
        return out;
      }
      case 'label': {
        if (node.field === 'tag' || node.field === 'category' || node.field === 'action') {
          const label = LABEL_OF[node.field];
          const code = this.dicts[label].find(node.value);
          const rows = code === undefined ? undefined : this.postings(label).get(code);
          if (rows) for (let i = 0; i < rows.length; i++) out[rows[i]!] = 1;
          return out;
        }
        const column = CODE_OF[node.field];
        const code = this.dicts[column].find(node.value);
        const col = this.codes[column];
        if (code !== undefined) for (let r = 0; r < n; r++) out[r] = col[r] === code + 1 ? 1 : 0;
        return out;
      }
      case 'range': {
        const col = this.nums[RANGE_COLUMN[node.field]];
        const { minExclusive, maxExclusive } = node.range;
        // NaN (NULL) fails every comparison, as NULL does in SQL; no bounds is `IS NOT NULL`.
        const min = node.range.min ?? Number.NEGATIVE_INFINITY;
        const max = node.range.max ?? Number.POSITIVE_INFINITY;
        for (let r = 0; r < n; r++) {
          const x = col[r]!;
          out[r] = (minExclusive ? x > min : x >= min) && (maxExclusive ? x < max : x <= max) ? 1 : 0;
        }
        return out;
      }
      case 'time': {
        const { ord, sorted } = this.ordinals(node.field === 'created' ? 'created' : 'createdAt');
        // Distinct values below `from` and below `to`, in SQLite's order (bytes of UTF-8).
        const lo = node.range.from === undefined ? 0 : lowerBound(sorted, node.range.from);
        const hi = node.range.to === undefined ? sorted.length : lowerBound(sorted, node.range.to);
        for (let r = 0; r < n; r++) out[r] = ord[r]! >= lo && ord[r]! < hi ? 1 : 0;
        return out;
      }
      case 'has':
        switch (node.what) {
          case 'audio':
            return this.flagMask('hasAudio', out);
          case 'ai':
            return this.flagMask('hasAi', out);
          case 'description':
            return this.flagMask('hasDescription', out);
          case 'metadata':
            return this.flagMask('hasMetadata', out);
          case 'scenes': {
            const col = this.nums.scenes;
            for (let r = 0; r < n; r++) out[r] = col[r]! > 0 ? 1 : 0;
            return out;
          }
          case 'tags': {
            const sets = this.labels.tags;
            for (let r = 0; r < n; r++) out[r] = (sets[r]?.length ?? 0) > 0 ? 1 : 0;
            return out;
          }
        }
        return null;
      case 'failed':
        return this.flagMask('failed', out);
      case 'name': {
        // `LIKE '%value%'`: the column and the value are both normalised (lower case), so case folding is moot.
        const names = this.strs.name;
        for (let r = 0; r < n; r++) out[r] = names[r]?.includes(node.value) ? 1 : 0;
        return out;
      }
      case 'id': {
        const r = this.rowOfId.get(node.value);
        if (r !== undefined) out[r] = 1;
        return out;
      }
    }
  }

  private flagMask(column: FlagColumn, out: Uint8Array): Uint8Array {
    const col = this.flags[column];
    for (let r = 0; r < out.length; r++) out[r] = col[r] === 1 ? 1 : 0;
    return out;
  }

  /**
   * A time column's distinct values in SQLite's order and each rowid's position among them, so a range of ISO
   * strings is a range of integers. Read in index order from SQLite; kept until the data changes.
   */
  private ordinals(column: 'created' | 'createdAt'): { ord: Int32Array; sorted: string[] } {
    let o = this.timeOrdinals.get(column);
    if (!o) {
      const sqlColumn = column === 'created' ? 'created' : 'created_at';
      const ord = new Int32Array(this.present.length).fill(-1);
      const sorted: string[] = [];
      for (const [rid, value] of this.db.prepare(`SELECT rowid, ${sqlColumn} FROM videos ORDER BY ${sqlColumn}`).raw().iterate() as IterableIterator<[number, string]>) {
        if (sorted.length === 0 || sorted.at(-1) !== value) sorted.push(value);
        if (rid < ord.length) ord[rid] = sorted.length - 1;
      }
      o = { ord, sorted };
      this.timeOrdinals.set(column, o);
    }
    return o;
  }

  /** Rowids per value of a label (tag, category, action), built in one pass; kept until the data changes. */
  private postings(label: Label): Map<number, Int32Array> {
    let p = this.labelPostings.get(label);
    if (!p) {
      const lists = new Map<number, number[]>();
      const sets = this.labels[label];
      for (let r = 0; r < sets.length; r++) {
        const codes = sets[r];
        if (!codes || !this.present[r]) continue;
        for (let j = 0; j < codes.length; j++) {
          let list = lists.get(codes[j]!);
          if (!list) lists.set(codes[j]!, (list = []));
          list.push(r);
        }
      }
      p = new Map([...lists].map(([code, rows]) => [code, Int32Array.from(rows)]));
      this.labelPostings.set(label, p);
    }
    return p;
  }

  /** Each rowid's position in `ORDER BY <order>`, by SQLite, kept until the data changes. */
  private rank(order: string): Int32Array {
    let rank = this.ranks.get(order);
    if (!rank) {
      rank = new Int32Array(this.present.length);
      const rowids = this.db.prepare(`SELECT rowid FROM videos ORDER BY ${order}`).pluck().all() as number[];
      for (let i = 0; i < rowids.length; i++) if (rowids[i]! < rank.length) rank[rowids[i]!] = i;
      this.ranks.set(order, rank);
    }
    return rank;
  }

  private allocate(n: number): void {
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(old: T | undefined, make: (n: number) => T, fill?: number): T => {
      const a = make(n);
      if (fill !== undefined) a.fill(fill);
      if (old) a.set(old.subarray(0, Math.min(old.length, n)));
      return a;
    };
    this.present = grow(this.present, (k) => new Uint8Array(k));
    for (const c of CODE_COLUMNS) this.codes[c] = grow(this.codes[c], (k) => new Int32Array(k));
    for (const c of NUM_COLUMNS) this.nums[c] = grow(this.nums[c], (k) => new Float64Array(k), Number.NaN);
    for (const c of FLAG_COLUMNS) this.flags[c] = grow(this.flags[c], (k) => new Uint8Array(k));
    // Filled, never written far past their end: a JavaScript array written at a large index with nothing before
    // it turns into a dictionary, and every read a hash lookup.
    const fill = <T>(a: T[] | undefined): T[] => {
      const out = a ?? [];
      while (out.length < n) out.push(undefined as T);
      return out;
    };
    for (const c of STR_COLUMNS) this.strs[c] = fill(this.strs[c]);
    for (const l of LABELS) this.labels[l] = fill(this.labels[l]);
  }

  private grow(size: number): void {
    if (size <= this.present.length) return;
    this.allocate(Math.max(size, Math.ceil(this.present.length * 1.5), 1024));
  }

  /** A row of COLUMNS_SQL, optionally followed by its labels (the tags, categories and actions columns). */
  private setRow(r: Row): void {
    const rid = r[0];
    this.grow(rid + 1);
    this.present[rid] = 1;
    let i = 1;
    for (const c of CODE_COLUMNS) {
      const v = r[i++] as string | null;
      this.codes[c][rid] = v === null ? 0 : this.dicts[c].code(v) + 1;
    }
    for (const c of NUM_COLUMNS) {
      const v = r[i++] as number | null;
      this.nums[c][rid] = v === null ? Number.NaN : v;
    }
    for (const c of FLAG_COLUMNS) this.flags[c][rid] = (r[i++] as number | null) === 1 ? 1 : 0;
    const oldId = this.strs.id[rid];
    for (const c of STR_COLUMNS) this.strs[c][rid] = r[i++] as string;
    if (oldId !== undefined && oldId !== this.strs.id[rid] && this.rowOfId.get(oldId) === rid) this.rowOfId.delete(oldId);
    this.rowOfId.set(this.strs.id[rid]!, rid);
    for (const l of LABELS) this.setLabels(l, rid, i < r.length ? (r[i++] as string | null) : null);
    if (this.text) this.text.setRow(rid, ((this.textRow ??= this.db.prepare(TEXT_ROW_SQL).raw()).get(rid) as string[] | undefined) ?? null);
  }

  /** A record's labels of one kind, from `group_concat(…, char(31))`. */
  private setLabels(label: Label, rid: number, joined: string | null): void {
    if (!joined) {
      this.labels[label][rid] = undefined;
      return;
    }
    const names = joined.split(SEP);
    const dict = this.dicts[label];
    const codes = new Uint32Array(names.length);
    for (let i = 0; i < names.length; i++) codes[i] = dict.code(names[i]!);
    this.labels[label][rid] = codes;
  }

  private clearRow(rid: number): void {
    if (rid >= this.present.length) return;
    this.present[rid] = 0;
    const id = this.strs.id[rid];
    if (id !== undefined && this.rowOfId.get(id) === rid) this.rowOfId.delete(id);
    for (const l of LABELS) this.labels[l][rid] = undefined;
    this.text?.clearRow(rid);
  }

  // Column order: CODE_COLUMNS, NUM_COLUMNS, FLAG_COLUMNS, STR_COLUMNS.
  private static readonly COLUMNS_SQL = `SELECT v.rowid AS rid, v.codec, v.audio_codec, v.container, v.source_kind, v.resolution,
      v.duration, v.width, v.height, v.fps, v.scene_count, v.bytes, v.sort_duration,
      v.has_audio, v.has_ai, v.has_description, v.has_metadata, v.failed,
      v.id, v.name, v.created, v.created_at`;
  private static readonly LABEL_TABLES: ReadonlyArray<[Label, string, string]> = [
    ['tags', 'video_tags', 'tag'],
    ['categories', 'video_categories', 'category'],
    ['actions', 'video_actions', 'action'],
  ];
  /** One record with its labels (LABELS order), for refreshing a few rows. */
  private static readonly ROW_SQL = `${SqliteColumnIndex.COLUMNS_SQL},
      ${SqliteColumnIndex.LABEL_TABLES.map(([, table, col]) => `(SELECT group_concat(${col}, char(31)) FROM ${table} WHERE video_id = v.id)`).join(', ')}
    FROM videos v WHERE v.rowid = ?`;

  private rebuild(dv: number): void {
    const t0 = performance.now();
    // A copy whose text index was in use gets a new one in the same snapshot.
    const withText = this.text !== null;
    const made: { text: SqliteTextIndex | null } = { text: null };
    this.dicts = this.freshDicts();
    this.present = new Uint8Array(0);
    this.codes = {} as Record<CodeColumn, Int32Array>;
    this.nums = {} as Record<NumColumn, Float64Array>;
    this.flags = {} as Record<FlagColumn, Uint8Array>;
    this.strs = {} as Record<StrColumn, string[]>;
    this.labels = {} as Record<Label, Array<Uint32Array | undefined>>;
    this.rowOfId = new Map();
    this.text = null;
    this.everyCount = null;
    this.labelRows.clear();
    this.allocate(0);
    // One read transaction: the copy is one snapshot. A write by another connection after `dv` was read bumps
    // data_version again, so the next sync rebuilds.
    this.db.transaction(() => {
      const max = (this.db.prepare('SELECT max(rowid) FROM videos').pluck().get() as number | null) ?? 0;
      this.grow(max + 1);
      for (const r of this.db.prepare(`${SqliteColumnIndex.COLUMNS_SQL} FROM videos v`).raw().iterate() as IterableIterator<Row>) this.setRow(r);
      // Each label table in one scan, grouped by record (a subquery per record was 5x slower: 2.8 s at 100k).
      for (const [label, table, col] of SqliteColumnIndex.LABEL_TABLES) {
        for (const [id, joined] of this.db.prepare(`SELECT video_id, group_concat(${col}, char(31)) FROM ${table} GROUP BY video_id`).raw().iterate() as IterableIterator<[string, string]>) {
          const rid = this.rowOfId.get(id);
          if (rid !== undefined) this.setLabels(label, rid, joined);
        }
      }
      if (withText) made.text = this.readText();
    })();
    made.text?.prepare();
    this.text = made.text;
    this.dataVersion = dv;
    this.builtAt = Date.now();
    this.buildMs = performance.now() - t0;
  }

  /**
   * Re-reads rows this process wrote. The library-wide facet counts take each row's old values out and its new
   * ones in, and the packed labels are patched where a row keeps its number of labels (else made again on use):
   * a search right after a write then costs no pass over the library for them.
   */
  private refresh(rowids: number[]): void {
    const st = this.db.prepare(SqliteColumnIndex.ROW_SQL).raw();
    for (const rid of rowids) {
      if (this.everyCount && this.present[rid]) this.tallyRow(this.everyCount, rid, -1);
      const r = st.get(rid) as Row | undefined;
      if (r) this.setRow(r);
      else this.clearRow(rid);
      if (this.everyCount && this.present[rid] && !this.tallyRow(this.everyCount, rid, 1)) this.everyCount = null;
      for (const [label, packed] of this.labelRows) {
        const codes = this.present[rid] ? this.labels[label][rid] : undefined;
        const at = packed.start[rid];
        if (at !== undefined && rid + 1 < packed.start.length && packed.start[rid + 1]! - at === (codes?.length ?? 0)) {
          if (codes) packed.codes.set(codes, at);
        } else this.labelRows.delete(label);
      }
    }
  }

  /** One row's facet values in or out of `c`; false when a value is new since `c` was made (no slot for it). */
  private tallyRow(c: RawCounts, rid: number, d: number): boolean {
    const cells: Array<[Int32Array, number]> = [
      [c.codec, this.codes.codec[rid]!],
      [c.source, this.codes.sourceKind[rid]!],
      [c.resolution, this.codes.resolution[rid]!],
      ...[...(this.labels.tags[rid] ?? [])].map((k): [Int32Array, number] => [c.tags, k]),
      ...[...(this.labels.categories[rid] ?? [])].map((k): [Int32Array, number] => [c.categories, k]),
    ];
    if (cells.some(([counts, k]) => k >= counts.length)) return false;
    for (const [counts, k] of cells) counts[k]! += d;
    c.rows += d;
    return true;
  }
}

/** Facet counts by value code (columns: code + 1, 0 for NULL), and how many rows were counted. */
interface RawCounts {
  rows: number;
  codec: Int32Array;
  source: Int32Array;
  resolution: Int32Array;
  tags: Int32Array;
  categories: Int32Array;
}

function ascending(xs: ArrayLike<number>): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]! <= xs[i - 1]!) return false;
  return true;
}

const TEXT_ROW_SQL = 'SELECT title, tags, description, file FROM video_text WHERE rowid = ?';

function hasText(node: QueryNode): boolean {
  switch (node.kind) {
    case 'text':
      return true;
    case 'and':
    case 'or':
      return node.nodes.some(hasText);
    case 'not':
      return hasText(node.node);
    default:
      return false;
  }
}

/** How many of `sorted` (in UTF-8 order) are below `value`. */
function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareUtf8(sorted[mid]!, value) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
