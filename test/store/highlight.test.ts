import { describe, expect, it } from 'vitest';
import { highlight, planQuery } from '../../src/store/query/index.js';
import { makeVideo } from './fixtures.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('highlight', () => {
  it('never cuts a character past U+FFFF in half at either end of the snippet (CJK and emoji with no spaces)', () => {
    const terms = planQuery({ text: '東京タワー' }).terms;
    let cutBoth = 0;
    for (const gap of ['', '。']) {
      for (let before = 40; before < 80; before++) {
        const description = `${'😀'.repeat(before)}東京タワー${gap}${'🎉'.repeat(200)}`;
        const h = highlight(makeVideo({ n: 1, description }), terms)!;
        expect(h).toContain('[東京タワー]');
        expect(LONE_SURROGATE.test(h), JSON.stringify(h)).toBe(false);
        if (h.startsWith('…😀') && h.endsWith('🎉…')) cutBoth++;
      }
    }
    expect(cutBoth).toBeGreaterThan(0);
  });

  it('marks a phrase where its words follow each other, as one mark, and not its words apart', () => {
    const h = (description: string, text: string) => highlight(makeVideo({ n: 1, description }), planQuery({ text }).terms);
    expect(h('a sandy beach, then sand and a beach', '"sandy beach"')).toBe('a [sandy beach], then sand and a beach');
    expect(h('sandy path to the beach', '"sandy beach"')).toBeUndefined();
    expect(h('sandy path to the beach', 'sandy beach')).toBe('[sandy] path to the [beach]');
    // each character of 서울에서 is a token: the second 서 is not the word 서울
    expect(h('서울에서 만나요', '서울')).toBe('[서울]에서 만나요');
  });
});
