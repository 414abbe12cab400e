/**
 * The scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese), and Korean, whose
 * particles are written onto the word (`서울에서`, "in Seoul"): a word in them cannot be told by the spaces around
 * it, and no segmenter knows every word of every name. Search indexes them a character a token and rules look for
 * their words inside the text; both read the scripts from here. The prolonged sound mark `ー` belongs to no script
 * of its own.
 */
export const UNSPACED_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\p{Script=Thai}\\p{Script=Lao}\\p{Script=Khmer}\\p{Script=Myanmar}\\u30fc';

const HAS_UNSPACED = new RegExp(`[${UNSPACED_CLASS}]`, 'u');

/** Whether a text holds a letter of a script written without spaces. */
export function hasUnspaced(text: string): boolean {
  return HAS_UNSPACED.test(text);
}
