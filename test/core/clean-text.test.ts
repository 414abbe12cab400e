import { describe, expect, it } from 'vitest';
import { parseExternalJson, withoutControlChars } from '../../src/core/index.js';

describe('text from outside', () => {
  it('loses C0 control characters but keeps tab, newline, carriage return and every other character', () => {
    expect(withoutControlChars('a\u0000b\u0007c\u001bd\u007f')).toBe('abcd\u007f');
    expect(withoutControlChars('line one\r\n\tline two')).toBe('line one\r\n\tline two');
    const text = 'Ünïcödé 東京 🎸 plain';
    expect(withoutControlChars(text)).toBe(text);
  });

  it('parses JSON with the control characters gone from every string, keys included', () => {
    const parsed = parseExternalJson('{"description":"a\\u0000dog\\u0007","tags":["be\\u0000ach","sea"],"n":3,"ti\\u0000tle":"x","nested":{"k":"v\\u0001"}}');
    expect(parsed).toEqual({ description: 'adog', tags: ['beach', 'sea'], n: 3, title: 'x', nested: { k: 'v' } });
    expect(JSON.stringify(parsed)).not.toMatch(/\\u00/);
  });
});
