/**
 * Text that comes from outside (a model's answer, yt-dlp's info.json, ffprobe's tags) without the C0 control
 * characters other than tab, line feed and carriage return. PostgreSQL cannot store U+0000 in text or jsonb at
 * all, so one NUL in a model's description failed the whole record there (and only there: SQLite and MongoDB
 * kept it); the other controls only garble what a person reads and searches.
 */
const CONTROL = '[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]';
const HAS_CONTROL = new RegExp(CONTROL);
const EVERY_CONTROL = new RegExp(CONTROL, 'g');

export function withoutControlChars(text: string): string {
  return HAS_CONTROL.test(text) ? text.replace(EVERY_CONTROL, '') : text;
}

/** `JSON.parse` with every string value (keys too) passed through `withoutControlChars`. */
export function parseExternalJson(text: string): unknown {
  return parseJsonMappingStrings(text, withoutControlChars);
}

/** `JSON.parse` with every string, values and keys, passed through `map`. */
export function parseJsonMappingStrings(text: string, map: (s: string) => string): unknown {
  return JSON.parse(text, function (this: Record<string, unknown>, key, value: unknown) {
    if (typeof value === 'string') value = map(value);
    const mapped = map(key);
    if (mapped !== key) {
      // the value moves to the mapped key (returning undefined drops the old one)
      this[mapped] = value;
      return undefined;
    }
    return value;
  });
}
