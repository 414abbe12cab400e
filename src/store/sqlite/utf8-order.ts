const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * SQLite's BINARY order: UTF-8 bytes. JavaScript's < compares UTF-16 units, which agrees except for characters
 * above U+FFFF (surrogate pairs), so only strings holding one are compared as bytes.
 */
export function compareUtf8(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
