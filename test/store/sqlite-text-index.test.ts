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
