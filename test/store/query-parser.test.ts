import { describe, expect, it } from 'vitest';
import { QueryError } from '../../src/core/index.js';
import { parseQuery, planQuery } from '../../src/store/query/index.js';

function err(input: string): QueryError {
  try {
    parseQuery(input);
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error(`parsed: ${input}`);
}

describe('query language', () => {
  it('parses the issue example into one typed tree', () => {
    const q = parseQuery(
      'dancing beach tag:outdoor -tag:night category:sports action:"playing guitar" duration:10..60 height:>=720 fps:>30 codec:h264 source:ytdlp scenes:>5 created:2024-01..2024-06 has:audio "exact phrase" sort:duration-desc limit:5',
    );
    expect(q.sort).toBe('duration-desc');
    expect(q.limit).toBe(5);
    expect(q.where).toEqual({
      kind: 'and',
      nodes: [
        { kind: 'text', value: 'dancing' },
        { kind: 'text', value: 'beach' },
        { kind: 'label', field: 'tag', value: 'outdoor' },
        { kind: 'not', node: { kind: 'label', field: 'tag', value: 'night' } },
        { kind: 'label', field: 'category', value: 'sports' },
        { kind: 'label', field: 'action', value: 'playing guitar' },
        { kind: 'range', field: 'duration', range: { min: 10, max: 60 } },
        { kind: 'range', field: 'height', range: { min: 720 } },
        { kind: 'range', field: 'fps', range: { min: 30, minExclusive: true } },
        { kind: 'label', field: 'codec', value: 'h264' },
        { kind: 'label', field: 'source', value: 'ytdlp' },
        { kind: 'range', field: 'scenes', range: { min: 5, minExclusive: true } },
        { kind: 'time', field: 'created', range: { from: '2024-01-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z' } },
        { kind: 'has', what: 'audio' },
        { kind: 'text', value: 'exact phrase', phrase: true },
      ],
    });
  });

  it('binds OR looser than AND, and groups with parentheses', () => {
    expect(parseQuery('a b OR c').where).toEqual({
      kind: 'or',
      nodes: [
        { kind: 'and', nodes: [{ kind: 'text', value: 'a' }, { kind: 'text', value: 'b' }] },
        { kind: 'text', value: 'c' },
      ],
    });
    expect(parseQuery('a (b OR c) -(d e)').where).toEqual({
      kind: 'and',
      nodes: [
        { kind: 'text', value: 'a' },
        { kind: 'or', nodes: [{ kind: 'text', value: 'b' }, { kind: 'text', value: 'c' }] },
        { kind: 'not', node: { kind: 'and', nodes: [{ kind: 'text', value: 'd' }, { kind: 'text', value: 'e' }] } },
      ],
    });
    expect(parseQuery('tag:a OR tag:b OR NOT tag:c').where).toMatchObject({ kind: 'or', nodes: [{}, {}, { kind: 'not' }] });
  });

  it('refuses a filter written without its colon (duration>60), saying how to write it; other words with > stay words', () => {
    expect(() => parseQuery('beach duration>60')).toThrowError(/'duration>60' looks like a filter at 1:7 \(write duration:>60\)/);
    expect(() => parseQuery('h>=720')).toThrowError(/\(write h:>=720\)/);
    expect(() => parseQuery('codec=hevc')).toThrowError(/\(write codec:hevc\)/);
    expect(parseQuery('a>b').where).toMatchObject({ kind: 'text' });
  });

  it('normalises words: case, diacritics, prefix*, hyphenated words as phrases', () => {
    expect(parseQuery('Café').where).toEqual({ kind: 'text', value: 'cafe' });
    expect(parseQuery('danc*').where).toEqual({ kind: 'text', value: 'danc', prefix: true });
    expect(parseQuery('slow-motion').where).toEqual({ kind: 'text', value: 'slow motion', phrase: true });
    // a tag as tag names are written: words joined by '-'
    expect(parseQuery('tag:"Slow  Motion"').where).toEqual({ kind: 'label', field: 'tag', value: 'slow-motion' });
    expect(parseQuery('tag:Slow-Motion').where).toEqual({ kind: 'label', field: 'tag', value: 'slow-motion' });
    expect(parseQuery('category:"Slow  Motion"').where).toEqual({ kind: 'label', field: 'category', value: 'slow motion' });
    // scripts written without spaces: a word is the phrase of its characters, found inside any run of letters
    expect(parseQuery('日本 ビデオ').where).toMatchObject({ kind: 'and', nodes: [{ value: '日 本', phrase: true }, { value: 'ビ デ オ', phrase: true }] });
    expect(parseQuery('東').where).toEqual({ kind: 'text', value: '東' });
    expect(parseQuery('東京*').where).toEqual({ kind: 'text', value: '東 京', phrase: true });
    expect(parseQuery('iPhone東京').where).toEqual({ kind: 'text', value: 'iphone 東 京', phrase: true });
    expect(parseQuery('東京iPh*').where).toMatchObject({ kind: 'and', nodes: [{ value: '東' }, { value: '京' }, { value: 'iph', prefix: true }] });
  });

  it('reads ranges, units and dates', () => {
    const r = (s: string) => (parseQuery(s).where as { range: unknown }).range;
    expect(r('duration:1m30s..2m')).toEqual({ min: 90, max: 120 });
    expect(r('duration:<1:30')).toEqual({ max: 90, maxExclusive: true });
    expect(r('duration:..1h')).toEqual({ max: 3600 });
    expect(r('height:1080p')).toEqual({ min: 1080, max: 1080 });
    expect(r('size:>1.5G')).toEqual({ min: Math.round(1.5 * 1024 ** 3), minExclusive: true });
    expect(r('fps:<=29.97')).toEqual({ max: 29.97 });
    expect(r('created:2024')).toEqual({ from: '2024-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' });
    expect(r('created:>2024-02-28')).toEqual({ from: '2024-02-29T00:00:00.000Z' });
    expect(r('added:<=2024-12')).toEqual({ to: '2025-01-01T00:00:00.000Z' });
    // years below 100 as written, not 1900-1999 (Date.UTC's reading)
    expect(r('created:0050')).toEqual({ from: '0050-01-01T00:00:00.000Z', to: '0051-01-01T00:00:00.000Z' });
    expect(r('created:0099-12..0100-01-01')).toEqual({ from: '0099-12-01T00:00:00.000Z', to: '0100-01-02T00:00:00.000Z' });
    expect(r('created:0004-02-29T06:30')).toEqual({ from: '0004-02-29T06:30:00.000Z', to: '0004-02-29T06:31:00.000Z' });
    expect(() => parseQuery('created:0001-02-29')).toThrow(/is not a date/);
    expect(parseQuery('is:failed').where).toEqual({ kind: 'failed' });
    expect(parseQuery('source:youtube').where).toEqual({ kind: 'label', field: 'source', value: 'ytdlp' });
    expect(parseQuery('sort:longest').sort).toBe('duration-desc');
  });

  it("words that name an object's built-in members are unknown words, not a crash or a silent match", () => {
    for (const w of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'CONSTRUCTOR']) {
      // a word with underscores is no field name at all: `__proto__:x` is text, as `my_clip:x` is
      if (!w.startsWith('_')) {
        expect(err(`${w}:x`).message, w).toMatch(/^unknown field '/);
        expect(err(`-${w}:x`).message, w).toMatch(/^unknown field '/);
      }
      expect(err(`sort:${w}`).message, w).toMatch(/not a sort order|sort:/);
      for (const f of ['source', 'kind', 'resolution', 'res', 'from']) expect(err(`${f}:${w}`).message, `${f}:${w}`).toMatch(/is not one of/);
    }
  });

  it('points at the column and suggests the field', () => {
    const e = err('durtion:10..60');
    expect(e.message).toBe("unknown field 'durtion' at 1:1 (did you mean duration?)");
    expect(e.column).toBe(1);
    expect(err('beach tagg:x').message).toBe("unknown field 'tagg' at 1:7 (did you mean tag?)");
    expect(err('beach height:>=abc').message).toBe("height: 'abc' is not a pixel count (720, 1080p) at 1:14");
    expect(err('has:audoi').message).toBe("has: 'audoi' is not one of audio, ai, description, scenes, tags, metadata at 1:5 (did you mean audio?)");
    expect(err('source:ftp').message).toContain('source:');
    expect(err('sort:duraton-desc').message).toContain('did you mean duration-desc?');
    expect(err('a "open').message).toBe('unterminated quote at 1:3');
    expect(err('(a b').message).toBe("unclosed '(' at 1:1");
    expect(err('a )').message).toBe("unexpected ')' at 1:3");
    expect(err('a OR').message).toBe('OR needs a term after it at 1:3');
    expect(err('OR a').message).toBe('OR needs a term before it at 1:1');
    expect(err('()').message).toBe('empty parentheses at 1:1');
    expect(err('created:2024-13').message).toContain('is not a date');
    expect(err('duration:60..10').message).toContain('empty range');
    expect(err('-sort:name').message).toBe('sort: cannot be negated at 1:2');
    expect(err('limit:0').message).toContain('from 1 to 1000');
    expect(err('a\ntag:').message).toBe('tag: needs a value at 2:5');
  });

  it('rejects nesting deeper than 32 and over-long input', () => {
    expect(err('('.repeat(40) + 'a' + ')'.repeat(40)).message).toContain('nested more than 32 deep');
    expect(err('x'.repeat(5000)).message).toContain('longer than 4096');
  });

  it('keeps words with colons that are not fields as text', () => {
    expect(parseQuery('12:30').where).toEqual({ kind: 'text', value: '12 30', phrase: true });
  });

  it('plans defaults: relevance for text, added-desc otherwise, flat fields folded in', () => {
    expect(planQuery({ text: 'beach' }).sort).toBe('relevance');
    expect(planQuery({ text: '-beach' }).sort).toBe('added-desc');
    const p = planQuery({ text: 'beach', tags: ['Outdoor'], notTags: ['night'], duration: { min: 5 } });
    expect(p.where).toEqual({
      kind: 'and',
      nodes: [
        { kind: 'text', value: 'beach' },
        { kind: 'label', field: 'tag', value: 'outdoor' },
        { kind: 'not', node: { kind: 'label', field: 'tag', value: 'night' } },
        { kind: 'range', field: 'duration', range: { min: 5 } },
      ],
    });
    expect(p.terms).toEqual([{ value: 'beach', phrase: false, prefix: false }]);
    expect(() => planQuery({ cursor: 'garbage!' })).toThrow(QueryError);
  });

  it('takes a cursor only as search makes it: a hand-made one with the wrong value type is an error, not an empty page', () => {
    const made = (c: unknown) => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
    expect(planQuery({ sort: 'added-desc', cursor: made({ sort: 'added-desc', value: '2024-01-01T00:00:00.000Z', id: 'x' }) }).after).toMatchObject({ value: '2024-01-01T00:00:00.000Z' });
    expect(planQuery({ sort: 'size-asc', cursor: made({ sort: 'size-asc', value: 10, id: 'x' }) }).after).toMatchObject({ value: 10 });
    expect(planQuery({ cursor: made({ offset: 40 }) }).offset).toBe(40);
    for (const bad of [
      { sort: 'added-desc', value: 1, id: 'x' },
      { sort: 'size-asc', value: '10', id: 'x' },
      { sort: 'toString', value: 'a', id: 'x' },
      { sort: 'duration-desc', value: null, id: 'x' },
      { offset: 1e300 },
      { offset: -1 },
    ]) {
      expect(() => planQuery({ cursor: made(bad) }), JSON.stringify(bad)).toThrow(/cursor: not a cursor from this search/);
    }
  });
});

describe('query parser fuzz', () => {
  // A deterministic generator, so a failure reproduces.
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const seeds = [
    'dancing beach tag:outdoor -tag:night category:sports action:"playing guitar" duration:10..60',
    'height:>=720 fps:>30 codec:h264 source:ytdlp scenes:>5 created:2024-01..2024-06 has:audio "exact phrase" OR x',
    '(a OR b) -(c d) sort:duration-desc limit:10 offset:5 name:clip* size:<10M',
  ];
  const alphabet = ['a', 'z', ' ', ':', '"', '(', ')', '-', '*', '.', '>', '<', '=', 'OR ', 'NOT ', 'tag:', '..', '\\', 'é', '日', '\n', '0', '9', '\u0301', '\ud800', 'AND '];

  it('survives 10k random and mutated inputs: QueryError or a result, quickly', () => {
    const rand = rng(8);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let parsed = 0;
    let rejected = 0;
    let slowest = 0;
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      let input: string;
      if (i % 2 === 0) {
        const len = Math.floor(rand() * 80);
        input = Array.from({ length: len }, () => pick(alphabet)).join('');
      } else {
        const chars = [...pick(seeds)];
        const edits = 1 + Math.floor(rand() * 6);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rand() * (chars.length + 1));
          const op = rand();
          if (op < 0.4) chars.splice(at, 1);
          else if (op < 0.8) chars.splice(at, 0, pick(alphabet));
          else chars.splice(at, 0, ...chars.slice(0, Math.floor(rand() * 20)));
        }
        input = chars.join('');
      }
      if (i % 1000 === 999) input = '('.repeat(2000) + 'a' + ')'.repeat(2000);
      if (i % 1000 === 998) input = '-'.repeat(1000) + 'a OR '.repeat(600);
      const t0 = performance.now();
      try {
        const q = parseQuery(input);
        planQuery(q);
        parsed++;
      } catch (e) {
        if (!(e instanceof QueryError)) throw new Error(`non-QueryError for ${JSON.stringify(input)}: ${String(e)}`);
        expect(e.column).toBeGreaterThanOrEqual(1);
        rejected++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    const total = performance.now() - started;
    expect(parsed + rejected).toBe(10_000);
    expect(parsed).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
    // Generous bounds: the machine is shared; the point is that nothing is super-linear or hangs.
    expect(slowest).toBeLessThan(1000);
    expect(total).toBeLessThan(20_000);
  });
});

describe('cursor: in the query text', () => {
  it('takes back every cursor search makes, even after a name of 512 four-byte characters', async () => {
    const { SqliteStore } = await import('../../src/store/sqlite/sqlite-store.js');
    const { makeVideo } = await import('./fixtures.js');
    const store = new SqliteStore(':memory:');
    try {
      await store.migrate();
      const titles = ['😀'.repeat(600), '東'.repeat(600), 'zebra', 'apple'];
      for (const [i, title] of titles.entries()) await store.upsert(makeVideo({ n: i + 1, title }));
      for (const sort of ['name-desc', 'name-asc'] as const) {
        const seen: string[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await store.search({ text: `sort:${sort} limit:1${cursor ? ` cursor:${cursor}` : ''}` });
          seen.push(...page.hits.map((h) => [...h.video.source.title!][0]!));
          cursor = page.nextCursor;
        } while (cursor);
        const all = ['😀', '東', 'z', 'a'];
        expect(seen).toEqual(sort === 'name-desc' ? all : [...all].reverse());
      }
    } finally {
      await store.close();
    }
  });
});
