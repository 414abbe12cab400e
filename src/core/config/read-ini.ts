import { ConfigError } from '../errors.js';

/** A config file as read: section as written -> key as written -> value (`true` for a key with no `=`). */
export type IniSections = Record<string, Record<string, string | true>>;

/**
 * Reads config.ini, one line at a time, by the rules the README gives; each line that cannot be read as written
 * stops the run with its file, line, section and key.
 *
 * - `[Section]` starts a section; `;` or `#` at the start of a line is a comment line.
 * - `Key = value`: an unquoted value runs to the end of the line or to a `;` or `#` after a space, where a
 *   comment starts (`Cpu = 3 ; three`). A `;` or `#` right after other text (`AccessKey = sk-ab#cd`) is refused
 *   rather than cut: the INI format would start a comment there and send `sk-ab`.
 * - A value in quotes is exactly what the quotes hold, `;` and `#` included: `"..."` as a JSON string (`\"`,
 *   `\\` and the other JSON escapes), `'...'` as written. After the closing quote only a comment may follow, after
 *   a space (`UserAgent = "my agent #2" ; note`); a quote never closed, or other text after it, is refused.
 * - A key outside any section, or set twice in a section (in any case), is refused.
 *
 * The `ini` package read the file before: it took a quoted value only when the line ended with the quote, so
 * `"my agent #2" ; note` was cut at the first `#` with its opening quote kept (`"my agent`).
 */
export function readIni(text: string, where: string, mayShow: (section: string, key: string) => boolean = () => true): IniSections {
  const out: IniSections = Object.create(null) as IniSections;
  let section: string | null = null;
  let body: Record<string, string | true> | null = null;
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    const at = `${where}:${i + 1}`;
    if (!line || line.startsWith(';') || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      const header = /^\[([^\]]*)\](.*)$/.exec(line);
      if (!header) throw new ConfigError(`${at}: a section header needs its closing ]: [Section]`);
      // nothing of the rest is shown: it may be a key and its secret written on the header's line
      if (header[2] && !/^\s+[;#]/.test(header[2])) {
        throw new ConfigError(`${at}: text follows the section header [${header[1]!.trim()}]; put each Key = value on a line of its own (a comment may follow the header, after a space)`);
      }
      section = header[1]!.trim();
      body = out[section] ??= Object.create(null) as Record<string, string | true>;
      return;
    }
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    // A line that is no `Key = value` is shown by its number only, for its text may be the secret: no `=` and no
    // key name (`AccessKey: sk-...`), or a word that is no key (nor close to one) alone on its line or ending in
    // `=`s (a base64 secret's padding), and any such line outside a section.
    const padded = eq >= 0 && /^=+$/.test(line.slice(eq + 1).trim());
    if ((eq < 0 || padded) && (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key) || section === null || !mayShow(section, key))) {
      throw new ConfigError(`${at}: ${section === null ? '' : `[${section}] `}this line is not Key = value (its text is not shown: it may hold a secret)`);
    }
    if (section === null || body === null) throw new ConfigError(`${at}: ${key} = ... sits outside any section; put it under a [Section] header`);
    if (!key) throw new ConfigError(`${at}: [${section}] = ... has no key; write Key = value`);
    const id = `${section.toLowerCase()}.${key.toLowerCase()}`;
    const before = seen.get(id);
    if (before !== undefined) throw new ConfigError(`${at}: ${key} is set twice in [${section.toLowerCase()}] (also on line ${before}); keep one`);
    seen.set(id, i + 1);
    // `Key` alone, as the ini package read it: true
    (body as Record<string, string | true>)[key] = eq < 0 ? true : readValue(line.slice(eq + 1).trim(), at, section, key);
  });
  return out;
}

/** The value after `=`, trimmed, of `key` on line `at` ("config.ini:4") of `section`. */
function readValue(text: string, at: string, section: string, key: string): string {
  const what = `${at}: the value of [${section}] ${key}`;
  const quote = text[0];
  if (quote !== '"' && quote !== "'") {
    // A comment starts at a ; or # at the start of the value or after a space; one right after other text is refused.
    const comment = /(?:^|\s)[;#]/.exec(text);
    const value = (comment ? text.slice(0, comment.index) : text).trim();
    const inside = /[;#]/.exec(value);
    if (inside) throw new ConfigError(`${at}: the value of ${key} has a ${inside[0]} inside it, where a comment would start; put the value in quotes ("...")`);
    return value;
  }
  // The closing quote: for "...", the first " not escaped by a backslash; for '...', the next '.
  let end = -1;
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ConfigError(`${what} opens a ${quote} that is never closed; close the quote on the same line`);
  // Nothing shown of the value or of what follows it: the key may be a secret.
  const rest = text.slice(end + 1);
  if (rest.trim() && !/^\s+[;#]/.test(rest)) {
    throw new ConfigError(`${what} has text after its closing quote; only a comment may follow it, after a space (... ; note)`);
  }
  const inner = text.slice(1, end);
  if (quote === "'") return inner;
  try {
    // a tab or other control character written inside the quotes is kept as it is (JSON would refuse it)
    const json = inner.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return JSON.parse(`"${json}"`) as string;
  } catch {
    throw new ConfigError(`${what} has a \\ that starts no escape inside "..."; write \\\\ for a backslash, or use single quotes ('C:\\Videos')`);
  }
}
