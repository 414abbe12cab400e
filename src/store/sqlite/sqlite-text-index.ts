/**
 * An in-memory copy of the FTS5 index, by rowid, that selects and ranks text queries with FTS5's own answers.
 *
 * FTS5 ranks by calling bm25 once per matching row, and a word found in most records of a 100k library matches
 * most rows: 50-80 ms a query, whatever the page size. Here each row's tokens are held as term numbers and the
 * index as one posting array per term, so a word's weighted frequencies are one pass over its postings and its
 * scores one tight loop over the match (a few milliseconds at 100k).
 *
 * The answers are FTS5's: the same tokens (the shared normalised text, split on spaces, as the FTS5
 * table got it), phrases as consecutive tokens of one column, a prefix as every term that starts with it, and
 * bm25 computed as `fts5Bm25Function` does (k1 = 1.2, b = 0.75, the column weights, idf floored at 1e-6, the
 * row's length over all columns, and FTS5's own row and token totals), in the same floating-point order. Query
 * words outside ASCII go to FTS5 instead: its case folding and diacritic removal of such tokens are its own.
 */
import { TEXT_FIELDS, TEXT_WEIGHTS } from '../query/index.js';

/** The FTS5 table's columns in order (title, tags, description, filename) and their bm25 weights. */
const WEIGHTS = TEXT_FIELDS.map((f) => TEXT_WEIGHTS[f]);
const NCOL = WEIGHTS.length;
const K1 = 1.2;
const B = 0.75;
const ASCII_TOKEN = /^[a-z0-9]+$/;

/** One text leaf over every row: its weighted frequency per rowid (0: no match) and how many rows match. */
export interface PhraseStats {
  freq: Float64Array;
  hits: number;
}

/** FTS5's own row and token counts, which bm25 uses. */
export interface FtsTotals {
  rows: number;
  tokens: number;
}

/**
 * FTS5's averages record (`<table>_data` row 1: the row count, then each column's token count, as SQLite
 * varints), which bm25 ranks by. Read rather than counted, so the copy ranks exactly as FTS5 does whatever the
 * index's history (the contentless table before schema 8 kept deleted and replaced rows in them).
 */
/** Reads FTS5's averages record of the `videos_fts` table (see decodeFtsTotals). */
export const FTS_TOTALS_SQL = 'SELECT block FROM videos_fts_data WHERE id = 1';

export function decodeFtsTotals(block: Uint8Array | null | undefined): FtsTotals {
  const values: number[] = [];
  let i = 0;
  while (block && i < block.length) {
    let v = 0;
    for (let k = 0; k < 9 && i < block.length; k++) {
      const byte = block[i++]!;
      if (k === 8) {
        v = v * 256 + byte;
        break;
      }
      v = v * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    values.push(v);
  }
  return { rows: values[0] ?? 0, tokens: values.slice(1).reduce((a, b) => a + b, 0) };
}

export class SqliteTextIndex {
  private readonly termIds = new Map<string, number>();
  private readonly terms: string[] = [];
  /**
   * Every row's document, one after another: the token count of each column, then the columns' term numbers in
   * order. One array rather than one per row: a phrase scans thousands of rows, and in row order this reads
   * memory in order (3x faster than an array per row). A rewritten row is appended; the space it left is
   * reclaimed when it reaches half.
   */
  private pool = new Int32Array(1 << 16);
  private used = 0;
  private garbage = 0;
  /** Per rowid: where its document starts in the pool, -1 for none. */
  private at = new Int32Array(0);
  /** Per rowid: its token count over all columns (bm25's D). */
  private lengths = new Int32Array(0);
  private rowCount = 0;
  /** Term → rows (ascending) with the term's weighted frequency in each; built on first use after a change. */
  /** (Weighted counts are whole numbers far below 2^24, which a Float32Array holds exactly, in half the memory.) */
  private postings: { start: Int32Array; rows: Int32Array; freq: Float32Array } | null = null;
  /** Term numbers in string order (a prefix is a range of them); made with the postings. */
  private sortedTerms: Int32Array | null = null;
  /**
   * Rows written since the postings were made: their entries there are out of date, so queries skip them and
   * read these rows from the pool instead. Past a share of the library the postings are made again.
   */
  private readonly stale = new Set<number>();
  private staleMask = new Uint8Array(0);

  /** Rows in the copy (FTS5's row count: every record has a row, text or not). */
  get rows(): number {
    return this.rowCount;
  }

  /** A record's four text columns (normalised tokens joined by spaces); null when it has no text row. */
  setRow(rid: number, columns: ReadonlyArray<string | null> | null): void {
    this.clearRow(rid);
    if (rid >= this.at.length) {
      const size = Math.max(rid + 1, Math.ceil(this.at.length * 1.5), 1024);
      const at = new Int32Array(size).fill(-1);
      at.set(this.at);
      this.at = at;
      const lengths = new Int32Array(size);
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    // At most one token per two characters (a token and its space): room for the worst case, no second pass.
    let most = NCOL;
    for (let c = 0; c < NCOL; c++) most += ((columns?.[c]?.length ?? 0) + 1) >> 1;
    this.reserve(most);
    const pool = this.pool;
    const termIds = this.termIds;
    const start = this.used;
    let q = start + NCOL;
    for (let c = 0; c < NCOL; c++) {
      const from = q;
      const text = columns?.[c];
      if (text) {
        let i = 0;
        while (i <= text.length) {
          let j = text.indexOf(' ', i);
          if (j < 0) j = text.length;
          if (j > i) {
            const tok = text.slice(i, j);
            let id = termIds.get(tok);
            if (id === undefined) {
              id = this.terms.length;
              termIds.set(tok, id);
              this.terms.push(tok);
            }
            pool[q++] = id;
          }
          i = j + 1;
        }
      }
      pool[start + c] = q - from;
    }
    this.used = q;
    this.at[rid] = start;
    this.lengths[rid] = q - start - NCOL;
    this.rowCount++;
    this.markStale(rid);
  }

  /** Room for `n` more entries in the pool: reclaimed from rewritten rows when they are half of it, else grown. */
  private reserve(n: number): void {
    if (this.used + n <= this.pool.length) return;
    if (this.garbage * 2 > this.used) {
      const pool = new Int32Array(Math.max(this.pool.length, (this.used - this.garbage + n) * 1.5));
      let used = 0;
      for (let r = 0; r < this.at.length; r++) {
        const o = this.at[r]!;
        if (o < 0) continue;
        const size = NCOL + this.lengths[r]!;
        pool.set(this.pool.subarray(o, o + size), used);
        this.at[r] = used;
        used += size;
      }
      this.pool = pool;
      this.used = used;
      this.garbage = 0;
      if (used + n <= pool.length) return;
    }
    const grown = new Int32Array(Math.max(this.used + n, this.pool.length * 2));
    grown.set(this.pool.subarray(0, this.used));
    this.pool = grown;
  }

  /** Makes the posting lists now rather than on the first query that needs them. */
  prepare(): void {
    this.postingLists();
  }

  clearRow(rid: number): void {
    if (rid >= this.at.length || this.at[rid]! < 0) return;
    this.garbage += NCOL + this.lengths[rid]!;
    this.at[rid] = -1;
    this.lengths[rid] = 0;
    this.rowCount--;
    this.markStale(rid);
  }

  private markStale(rid: number): void {
    if (!this.postings) return;
    if (this.stale.size >= Math.max(256, this.rowCount >> 6)) {
      this.postings = null;
      return;
    }
    this.stale.add(rid);
    if (rid >= this.staleMask.length) {
      const grown = new Uint8Array(Math.max(rid + 1, this.staleMask.length * 2, 1024));
      grown.set(this.staleMask);
      this.staleMask = grown;
    }
    this.staleMask[rid] = 1;
  }

  /**
   * A text leaf's statistics, or null when FTS5 must answer it (a word outside ASCII, or no word). `value` is
   * its tokens joined by spaces (one token: a word; more: a phrase); `prefix`: the last token is a prefix.
   */
  phrase(value: string, prefix: boolean, size: number): PhraseStats | null {
    const tokens = value.split(' ').filter((t) => t !== '');
    if (tokens.length === 0 || !tokens.every((t) => ASCII_TOKEN.test(t))) return null;
    const freq = new Float64Array(size);
    const p = this.postingLists();
    // Term numbers each position accepts: one term, or every term starting with the prefix.
    const accepts = tokens.map((tok, i) => {
      if (!(prefix && i === tokens.length - 1)) {
        const id = this.termIds.get(tok);
        return id === undefined ? [] : [id];
      }
      const sorted = this.termOrder();
      const ids: number[] = [];
      for (let i = this.lowerBound(tok); i < sorted.length && this.terms[sorted[i]!]!.startsWith(tok); i++) ids.push(sorted[i]!);
      return ids;
    });
    if (accepts.some((a) => a.length === 0)) return { freq, hits: 0 };
    // Terms newer than the postings have none there (only rows written since, which are stale, hold them).
    const based = p.start.length - 1;
    const from = (t: number): number => (t < based ? p.start[t]! : 0);
    const to = (t: number): number => (t < based ? p.start[t + 1]! : 0);
    const staleMask = this.staleMask;
    const isStale = (r: number): boolean => r < staleMask.length && staleMask[r] === 1;
    const last = accepts.at(-1)!;
    // a prefix's terms, as flags by term number
    const lastSet = last.length > 1 || prefix ? new Uint8Array(this.terms.length) : null;
    if (lastSet) for (const t of last) lastSet[t] = 1;
    // the term at each offset: exact (every offset but a prefix's), or -1 for any term flagged in lastSet
    const terms = Int32Array.from(accepts.map((a, k) => (lastSet && k === accepts.length - 1 ? -1 : a[0]!)));
    const staleRows = Int32Array.from([...this.stale].filter((r) => r < size && this.at[r]! >= 0));
    let hits = 0;
    if (tokens.length === 1) {
      const anyStale = staleRows.length > 0 || this.stale.size > 0;
      for (const id of accepts[0]!) {
        for (let i = from(id), end = to(id); i < end; i++) {
          const r = p.rows[i]!;
          if (r >= size || (anyStale && isStale(r))) continue;
          if (freq[r] === 0) hits++;
          freq[r]! += p.freq[i]!;
        }
      }
      return { freq, hits: hits + (staleRows.length ? scanPhrase(this.pool, this.at, staleRows, terms, lastSet, freq) : 0) };
    }
    // A phrase: the rows holding every one of its exact terms (its first is one: only the last can be a
    // prefix), each row's columns scanned for the terms in a row.
    const exact = [...new Set(accepts.filter((a) => a.length === 1).map((a) => a[0]!))];
    exact.sort((a, b) => to(a) - from(a) - (to(b) - from(b)));
    let candidates = p.rows.subarray(from(exact[0]!), to(exact[0]!));
    for (const t of exact.slice(1)) {
      const has = new Uint8Array(size);
      for (let i = from(t); i < to(t); i++) if (p.rows[i]! < size) has[p.rows[i]!] = 1;
      candidates = candidates.filter((r) => has[r] === 1);
    }
    if (this.stale.size > 0) candidates = Int32Array.from([...candidates.filter((r) => !isStale(r)), ...staleRows]);
    hits = scanPhrase(this.pool, this.at, candidates, terms, lastSet, freq);
    return { freq, hits };
  }

  /**
   * bm25 of each of `rows` (ascending rowids) for these leaves, as `-bm25(videos_fts, …)` gives it: positive,
   * higher is better, 0 when the row has none of them. `log`: the C library's, as FTS5 calls it (V8's own
   * differs from it in the last bit for some arguments, and then so would every score).
   */
  scores(rows: Int32Array, leaves: readonly PhraseStats[], totals: FtsTotals, log: (x: number) => number): Float64Array {
    const out = new Float64Array(rows.length);
    const nRow = totals.rows;
    const avgdl = totals.tokens / nRow;
    const idf = leaves.map((l) => {
      const x = log((nRow - l.hits + 0.5) / (l.hits + 0.5));
      return x <= 0 ? 1e-6 : x;
    });
    const freqs = leaves.map((l) => l.freq);
    const lengths = this.lengths;
    const nLeaves = leaves.length;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      // fts5Bm25Function's expression, term for term (the same rounding); its length part is the same for
      // every leaf of a row, so it is computed once
      const norm = K1 * (1 - B + (B * lengths[r]!) / avgdl);
      let score = 0;
      for (let k = 0; k < nLeaves; k++) {
        const f = freqs[k]![r]!;
        if (f !== 0) score += idf[k]! * ((f * (K1 + 1.0)) / (f + norm));
      }
      out[i] = score;
    }
    return out;
  }

  /** Posting lists of every term, in two passes over the rows (counts, then rows and weighted frequencies). */
  private postingLists(): { start: Int32Array; rows: Int32Array; freq: Float32Array } {
    if (this.postings) return this.postings;
    const nTerms = this.terms.length;
    const start = new Int32Array(nTerms + 1);
    const last = new Int32Array(nTerms).fill(-1);
    const doc = this.pool;
    const where = this.at;
    for (let r = 0; r < where.length; r++) {
      const o = where[r]!;
      if (o < 0) continue;
      for (let q = o + NCOL, end = q + this.lengths[r]!; q < end; q++) {
        const t = doc[q]!;
        if (last[t] !== r) {
          last[t] = r;
          start[t + 1]!++;
        }
      }
    }
    for (let t = 0; t < nTerms; t++) start[t + 1]! += start[t]!;
    const rows = new Int32Array(start[nTerms]!);
    const freq = new Float32Array(start[nTerms]!);
    const next = start.slice(0, nTerms);
    last.fill(-1);
    for (let r = 0; r < where.length; r++) {
      const o = where[r]!;
      if (o < 0) continue;
      let q = o + NCOL;
      for (let c = 0; c < NCOL; c++) {
        const end = q + doc[o + c]!;
        const w = WEIGHTS[c]!;
        for (; q < end; q++) {
          const t = doc[q]!;
          if (last[t] !== r) {
            last[t] = r;
            rows[next[t]!] = r;
            freq[next[t]!] = w;
            next[t]!++;
          } else freq[next[t]! - 1]! += w;
        }
      }
    }
    this.postings = { start, rows, freq };
    this.stale.clear();
    this.staleMask = new Uint8Array(0);
    this.termOrder();
    return this.postings;
  }

  /** Term numbers in string order; the dictionary only grows, so sorted again only when it did. */
  private termOrder(): Int32Array {
    const terms = this.terms;
    if (this.sortedTerms?.length !== terms.length) this.sortedTerms = Int32Array.from(terms.keys()).sort((a, b) => (terms[a]! < terms[b]! ? -1 : terms[a]! > terms[b]! ? 1 : 0));
    return this.sortedTerms;
  }

  /** The first position in sortedTerms whose term is not below `s`. */
  private lowerBound(s: string): number {
    const sorted = this.termOrder();
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.terms[sorted[mid]!]! < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Counts a phrase in each candidate row: `terms[k]` the term at offset k, or -1 for any term flagged in
 * `prefixed` (the last, a prefix; for a single word, the first). Writes the weighted count to `freq`; returns how many rows have one. Its own
 * function: V8 compiles this loop far better alone than inside phrase() (measured 3x).
 */
function scanPhrase(pool: Int32Array, at: Int32Array, candidates: Int32Array, terms: Int32Array, prefixed: Uint8Array | null, freq: Float64Array): number {
  const n = terms.length;
  const first = terms[0]!;
  let hits = 0;
  for (let i = 0; i < candidates.length; i++) {
    const r = candidates[i]!;
    if (r >= freq.length) continue;
    const o = at[r]!;
    let f = 0;
    let q = o + NCOL;
    for (let c = 0; c < NCOL; c++) {
      const end = q + pool[o + c]!;
      let count = 0;
      for (; q + n <= end; q++) {
        if (first >= 0 ? pool[q] !== first : prefixed![pool[q]!] !== 1) continue;
        let k = 1;
        for (; k < n; k++) {
          const want = terms[k]!;
          const tok = pool[q + k]!;
          if (want >= 0 ? tok !== want : prefixed![tok] !== 1) break;
        }
        if (k === n) count++;
      }
      q = end;
      f += count * WEIGHTS[c]!;
    }
    if (f > 0) {
      freq[r] = f;
      hits++;
    }
  }
  return hits;
}
