/** The best k rows of a match, kept in a heap while the match is scanned: sorting a whole match cost more. */
import { compareUtf8 } from './utf8-order.js';

/**
 * The k best rows seen by score (higher first), ties by id in SQLite's order: by `idRank` (each row's position
 * in the id order) when given, else by comparing `ids` (the ranks are made again after any write, a pass over
 * the library that a page does not need). A heap with the worst on top.
 */
export class TopScored {
  private readonly scores: number[] = [];
  private readonly rows: number[] = [];
  constructor(
    private readonly k: number,
    private readonly idRank: Int32Array | null,
    private readonly ids: ReadonlyArray<string | undefined>,
  ) {}

  private before(a: number, b: number): boolean {
    return this.idRank ? this.idRank[a]! < this.idRank[b]! : compareUtf8(this.ids[a]!, this.ids[b]!) < 0;
  }

  /** Whether a row would enter (worse than the worst kept: no). */
  admits(score: number, row: number): boolean {
    if (this.scores.length < this.k) return this.k > 0;
    const worst = this.scores[0]!;
    return score > worst || (score === worst && this.before(row, this.rows[0]!));
  }

  add(score: number, row: number): void {
    const n = this.scores.length;
    if (n < this.k) {
      this.scores.push(score);
      this.rows.push(row);
      this.up(n);
    } else {
      this.scores[0] = score;
      this.rows[0] = row;
      this.down(0);
    }
  }

  sorted(): Array<{ score: number; row: number }> {
    return this.rows.map((row, i) => ({ score: this.scores[i]!, row })).sort((a, b) => b.score - a.score || (this.before(a.row, b.row) ? -1 : 1));
  }

  /** item i is worse than item j */
  private worse(i: number, j: number): boolean {
    const x = this.scores[i]!;
    const y = this.scores[j]!;
    return x < y || (x === y && this.before(this.rows[j]!, this.rows[i]!));
  }

  private swap(i: number, j: number): void {
    [this.scores[i], this.scores[j]] = [this.scores[j]!, this.scores[i]!];
    [this.rows[i], this.rows[j]] = [this.rows[j]!, this.rows[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.worse(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.worse(l, m)) m = l;
      if (r < n && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
