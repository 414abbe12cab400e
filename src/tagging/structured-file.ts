import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/index.js';

/** Where in a YAML/JSON file a value sits, for error messages. */
export interface FileLocator {
  /** "file:line:col" of the value at `path`, or of its nearest existing parent. */
  at(path: ReadonlyArray<PropertyKey>): string;
  /** The 1-based line of the value at `path` (or its nearest parent). */
  line(path: ReadonlyArray<PropertyKey>): number;
}

/**
 * Reads a YAML or JSON file (JSON is read by the same YAML 1.2 parser) and validates it with a zod schema.
 * Every problem becomes one ConfigError naming the file, the line and column, the place in the document and
 * the cause, e.g. `rules.yaml:7:12: rules[2].when.duration: unknown condition "durationn" (did you mean ...)`.
 */
/** The text of a config-named file, or a ConfigError naming it. */
export function readTextFile(file: string, what: string, shownName = file): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${shownName}: cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export function loadStructuredFile<S extends z.ZodType>(file: string, schema: S, what: string, shownName = file): Parsed<z.output<S>> {
  return parseStructuredText(readTextFile(file, what, shownName), schema, what, shownName);
}

export interface Parsed<T> {
  readonly data: T;
  readonly locator: FileLocator;
}

export function parseStructuredText<S extends z.ZodType>(text: string, schema: S, what: string, shownName: string, listName = ''): Parsed<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    const where = pos ? `${shownName}:${pos.line}:${pos.col}` : shownName;
    throw new ConfigError(`${where}: ${what} is not valid YAML/JSON: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const locator: FileLocator = {
    line(path) {
      return position(path).line;
    },
    at(path) {
      const p = position(path);
      return `${shownName}:${p.line}:${p.col}`;
    },
  };
  function position(path: ReadonlyArray<PropertyKey>): { line: number; col: number } {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]);
    }
    return { line: 1, col: 1 };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const result = schema.safeParse(data ?? {}, { reportInput: false } as never);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...issue.path, issue.keys[0]] : issue.path;
    const shown = typeof path[0] === 'number' && listName ? [listName, ...path] : path;
    throw new ConfigError(`${locator.at(path)}: ${what}: ${describePath(shown)}${issue.message}`);
  }
  return { data: result.data, locator };
}

/** `rules[2].when.all[0]: ` for a zod issue path; empty at the top. */
export function describePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out ? `${out}: ` : '';
}
