import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decodeFtsTotals, SqliteTextIndex } from '../../src/store/sqlite/sqlite-text-index.js';

// The in-memory text index on its own; its answers against FTS5 are tested in sqlite-column-index.test.ts.
const rows = (s: SqliteTextIndex, value: string, prefix = false, size = 64) => {
  const p = s.phrase(value, prefix, size)!;
  return { rows: [...p.freq.keys()].filter((r) => p.freq[r]! > 0), freq: [...p.freq].filter((f) => f > 0), hits: p.hits };
};

describe('SqliteTextIndex', () => {
  it('weights a word by the column it is in (title 10, tags 5, description 2, file 1) and counts phrases per column', () => {
    const s = new SqliteTextIndex();
    s.setRow(1, ['red car', 'car', 'a red car and a red car', 'car']);
    s.setRow(2, ['blue', '', 'red', null]);
    s.setRow(3, null);
    expect(rows(s, 'car')).toEqual({ rows: [1], freq: [10 + 5 + 2 * 2 + 1], hits: 1 });
    expect(rows(s, 'red')).toEqual({ rows: [1, 2], freq: [10 + 2 * 2, 2], hits: 2 });
    // a phrase never spans two columns: "car car" is in none
    expect(rows(s, 'red car')).toEqual({ rows: [1], freq: [10 + 2 * 2], hits: 1 });
    expect(rows(s, 'car car').hits).toBe(0);
    expect(rows(s, 're', true)).toEqual({ rows: [1, 2], freq: [14, 2], hits: 2 });
    expect(rows(s, 'red c', true)).toEqual({ rows: [1], freq: [14], hits: 1 });
    expect(rows(s, 'nothing').hits).toBe(0);
    // words outside ASCII are FTS5's to fold
    expect(s.phrase('straße', false, 64)).toBeNull();
    expect(s.rows).toBe(3);
  });

  it('keeps answering the same after rows are rewritten many times (the space they leave is reclaimed)', () => {
    const s = new SqliteTextIndex();
    const fresh = new SqliteTextIndex();
    for (let round = 0; round < 60; round++) {
      for (let r = 0; r < 50; r++) s.setRow(r, [`title${r} round${round}`, 'tag', `word${r % 7} `.repeat(200), `f${r}`]);
    }
    for (let r = 0; r < 50; r++) fresh.setRow(r, [`title${r} round59`, 'tag', `word${r % 7} `.repeat(200), `f${r}`]);
    s.clearRow(7);
    fresh.clearRow(7);
    for (const [w, p] of [['word3', false], ['round59', false], ['round5', true], ['word3 word3', false], ['title1', true]] as const) expect(rows(s, w, p), w).toEqual(rows(fresh, w, p));
    expect(rows(s, 'round58').hits).toBe(0);
    expect(s.rows).toBe(49);
  });

  it('answers from its postings and the rows written since they were made, as a fresh index would', () => {
    const text = (r: number, k: number) => [`title${r % 5} take${k}`, r % 3 ? 'tag outdoor' : 'tag', `word${r % 7} dog word${(r * k) % 11} ${k > 0 ? `novel${r % 4}` : ''}`, `f${r}`];
    const s = new SqliteTextIndex();
    for (let r = 0; r < 2000; r++) s.setRow(r, text(r, 0));
    s.prepare();
    const fresh = new SqliteTextIndex();
    // a few rows rewritten (new words among them) and a few removed: fewer than the postings are made again for
    for (let r = 0; r < 2000; r++) {
      if (r % 97 === 0) s.setRow(r, text(r, 1));
      if (r % 89 === 5) s.clearRow(r);
      if (r % 89 !== 5) fresh.setRow(r, r % 97 === 0 ? text(r, 1) : text(r, 0));
    }
    const words: Array<[string, boolean]> = [['dog', false], ['novel1', false], ['nov', true], ['take1', false], ['take', true], ['word3 dog', false], ['dog word', true], ['dog novel2', false], ['outdoor', false], ['title2 take1', false], ['f1', true]];
    for (const [w, p] of words) expect(rows(s, w, p, 2000), w).toEqual(rows(fresh, w, p, 2000));
    expect(rows(s, 'novel1', false, 2000).hits).toBeGreaterThan(0);
    // many more rewrites: the postings are made again, with the same answers
    for (let r = 0; r < 2000; r += 2) s.setRow(r, text(r, 2));
    for (let r = 0; r < 2000; r += 2) if (r % 89 !== 5) fresh.setRow(r, text(r, 2));
    for (let r = 0; r < 2000; r += 2) if (r % 89 === 5) fresh.setRow(r, text(r, 2));
    for (const [w, p] of words) expect(rows(s, w, p, 2000), w).toEqual(rows(fresh, w, p, 2000));
  });

  it('reads FTS5\'s row and token totals from its averages record, which deletes do not lower', () => {
    const db = new Database(':memory:');
    db.exec("CREATE VIRTUAL TABLE f USING fts5(a, b, content = '', contentless_delete = 1)");
    const ins = db.prepare('INSERT INTO f (rowid, a, b) VALUES (?, ?, ?)');
    for (let i = 1; i <= 300; i++) ins.run(i, 'x y z', 'w '.repeat(i % 5));
    const totals = () => decodeFtsTotals(db.prepare('SELECT block FROM f_data WHERE id = 1').pluck().get() as Buffer);
    const tokens = 300 * 3 + Array.from({ length: 300 }, (_, i) => (i + 1) % 5).reduce((a, b) => a + b, 0);
    expect(totals()).toEqual({ rows: 300, tokens });
    db.prepare('DELETE FROM f WHERE rowid = 5').run();
    // FTS5 keeps counting the deleted row, and bm25 ranks by these
    expect(totals()).toEqual({ rows: 300, tokens });
    expect(decodeFtsTotals(null)).toEqual({ rows: 0, tokens: 0 });
    db.close();
  });
});
