/** The best k rows of a match, kept in a heap while the match is scanned: sorting a whole match cost more. */

/** The k smallest ranks seen, with their rowids (a max-heap of size k). */
export class TopK {
  private readonly ranks: number[] = [];
  private readonly rows: number[] = [];
  constructor(private readonly k: number) {}

  /** Whether `rank` would enter: cheap, so most rows of a large match skip the call to `add`. */
  admits(rank: number): boolean {
    return this.ranks.length < this.k || rank < this.ranks[0]!;
  }

  add(rank: number, row: number): void {
    const n = this.ranks.length;
    if (n < this.k) {
      this.ranks.push(rank);
      this.rows.push(row);
      this.up(n);
    } else if (this.k > 0 && rank < this.ranks[0]!) {
      this.ranks[0] = rank;
      this.rows[0] = row;
      this.down(0);
    }
  }

  /** Rowids by ascending rank. */
  sorted(): number[] {
    return this.rows.map((row, i) => [this.ranks[i]!, row] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  }

  private swap(i: number, j: number): void {
    [this.ranks[i], this.ranks[j]] = [this.ranks[j]!, this.ranks[i]!];
    [this.rows[i], this.rows[j]] = [this.rows[j]!, this.rows[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.ranks[p]! >= this.ranks[i]!) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.ranks.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.ranks[l]! > this.ranks[m]!) m = l;
      if (r < n && this.ranks[r]! > this.ranks[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

/** The k best (score, then id rank) rows seen: a heap with the worst on top. */
export class TopScored {
  private readonly items: Array<{ score: number; idRank: number; row: number }> = [];
  constructor(private readonly k: number) {}

  /** Whether a row would enter (worse than the worst kept: no). */
  admits(score: number, idRank: number): boolean {
    if (this.items.length < this.k) return this.k > 0;
    const w = this.items[0]!;
    return score > w.score || (score === w.score && idRank < w.idRank);
  }

  add(score: number, idRank: number, row: number): void {
    const item = { score, idRank, row };
    if (this.items.length < this.k) {
      this.items.push(item);
      this.up(this.items.length - 1);
    } else {
      this.items[0] = item;
      this.down(0);
    }
  }

  sorted(): Array<{ score: number; row: number }> {
    return [...this.items].sort((a, b) => b.score - a.score || a.idRank - b.idRank);
  }

  /** a is worse than b */
  private worse(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.score < y.score || (x.score === y.score && x.idRank > y.idRank);
  }

  private swap(i: number, j: number): void {
    [this.items[i], this.items[j]] = [this.items[j]!, this.items[i]!];
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
    const n = this.items.length;
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
