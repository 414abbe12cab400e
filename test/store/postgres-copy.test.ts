import { describe, expect, it } from 'vitest';
import { arrayLiteral, copyField, copyRow, copyText } from '../../src/store/postgres/postgres-copy.js';

describe('COPY text format', () => {
  it('escapes exactly the characters COPY reads specially', () => {
    expect(copyText('plain text, "quotes" and {braces}')).toBe('plain text, "quotes" and {braces}');
    expect(copyText('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyText('\\N')).toBe('\\\\N');
  });

  it('writes null, booleans, numbers, strings and text arrays as PostgreSQL reads them', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField(true)).toBe('t');
    expect(copyField(false)).toBe('f');
    expect(copyField(-1.5)).toBe('-1.5');
    expect(copyField('')).toBe('');
    expect(arrayLiteral([])).toBe('{}');
    expect(arrayLiteral(['a b', 'NULL', 'x,y', 'q"uote', 'b\\s'])).toBe('{"a b","NULL","x,y","q\\"uote","b\\\\s"}');
    // the array literal's own backslashes are escaped once more for COPY
    expect(copyField(['b\\s'])).toBe('{"b\\\\\\\\s"}');
  });

  it('joins a row with tabs and ends it with a newline', () => {
    expect(copyRow(['id1', null, 3, ['t'], 'x\ty'])).toBe('id1\t\\N\t3\t{"t"}\tx\\ty\n');
  });
});
