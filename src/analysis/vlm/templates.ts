import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, editDistance, sha256Hex } from '../../core/index.js';
import { ANSWER_FIELDS, type AnswerField } from './json-answer.js';

/** Every variable a template may use, with what it holds. An unknown `{{name}}` is a ConfigError. */
export const TEMPLATE_VARIABLES = {
  title: 'the title from the source, else the file name',
  filename: 'the file name of the video',
  durationSec: 'duration in seconds, rounded to 0.1',
  sceneCount: 'scenes detected (0 when scene detection did not run)',
  width: 'display width in pixels',
  height: 'display height in pixels',
  tags: 'tags already on the record that did not come from the model, comma-separated, or "none"',
  instruction: '[QwenVL] DefaultInstruction or --qwen-instruction',
  taxonomy: 'category names from [Tagging] Taxonomy, comma-separated, or "none"',
  taxonomyGuide: 'the taxonomy as an indented tree with each category\'s description and keywords, or "none"',
  actionLabels: 'action labels from [Tagging] ActionLabels and the taxonomy\'s actions, comma-separated, or "none"',
  frameCount: 'frames sent in this request (VideoInput = url: "about N", the server\'s sampling as estimated)',
  frameTimes: 'the time of each frame sent, e.g. "1: 0.0 s, 2: 4.5 s" (VideoInput = url: that the server samples them)',
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;
export type TemplateValues = Record<TemplateVariable, string>;

export interface PromptTemplate {
  /** The name it was asked by (or the file's base name when given a path). */
  name: string;
  file: string;
  /** The whole file text: what the cache key and the audit hash use. */
  text: string;
  /** First 16 hex of the text's sha256. */
  hash: string;
  body: string;
  format: 'text' | 'json';
  /** JSON templates: fields the answer must carry. */
  required: AnswerField[];
  variables: TemplateVariable[];
}

const VAR = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The templates shipped with videodex (the `templates/` folder of the package). */
export function shippedTemplatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(path.join(candidate, 'describe.txt'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new ConfigError('the shipped templates/ folder is missing from the videodex installation');
}

/** Names of the templates available: the user's folder and the shipped one. */
export function listTemplates(userDir: string): string[] {
  const names = new Set<string>();
  for (const dir of [userDir, safeShipped()]) {
    if (!dir || !existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.txt')) names.add(f.slice(0, -4));
  }
  return [...names].sort();
}

function safeShipped(): string | null {
  try {
    return shippedTemplatesDir();
  } catch {
    return null;
  }
}

const cache = new Map<string, { mtimeMs: number; template: PromptTemplate }>();

/**
 * Finds and parses a template: a path (with a slash or ending in .txt), else `<name>.txt` in the user's
 * TemplatesDir, else in the shipped templates. Checks every `{{variable}}`.
 * @throws ConfigError when it is missing, unreadable, or uses an unknown variable or front-matter key, or
 *   names required fields without format: json.
 */
export function loadTemplate(name: string, userDir: string): PromptTemplate {
  const file = resolveTemplateFile(name, userDir);
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = statSync(file).mtimeMs;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === mtimeMs && hit.template.name === name) return hit.template;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // a folder of that name, a file without read permission: the run stopped with a bare "EISDIR: ... read"
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`template ${name}: ${file} cannot be read (${code}); it must be a readable text file`, { cause: err });
  }
  const template = parseTemplate(name, file, text);
  cache.set(file, { mtimeMs, template });
  return template;
}

function resolveTemplateFile(name: string, userDir: string): string {
  if (!name.trim()) throw new ConfigError('[QwenVL] Template is empty; name a template such as describe or tags-json');
  if (name.includes('/') || name.includes('\\') || name.endsWith('.txt')) {
    const file = path.resolve(name);
    if (!existsSync(file)) throw new ConfigError(`template file ${name} not found`);
    return file;
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigError(`template name ${JSON.stringify(name)} may only hold letters, digits, - _ and .`);
  const user = path.join(userDir, `${name}.txt`);
  if (userDir && existsSync(user)) return user;
  const shipped = safeShipped();
  if (shipped && existsSync(path.join(shipped, `${name}.txt`))) return path.join(shipped, `${name}.txt`);
  const known = listTemplates(userDir);
  throw new ConfigError(`template ${name} not found in ${userDir || '(no TemplatesDir)'} nor the shipped templates; available: ${known.join(', ') || 'none'}`);
}

/**
 * Parses template text: optional front matter (format, required) between --- lines, then the body. A front
 * matter line may end in a `# comment`.
 */
export function parseTemplate(name: string, file: string, text: string): PromptTemplate {
  const where = `template ${file}`;
  let body = text;
  let format: 'text' | 'json' = 'text';
  let required: AnswerField[] = [];
  const fm = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (fm) {
    body = text.slice(fm[0].length);
    for (const rawLine of fm[1]!.split(/\r?\n/)) {
      const line = rawLine.trim();
      if (!line || line.startsWith('#')) continue;
      const m = /^([A-Za-z]+)\s*:\s*(.*)$/.exec(line);
      if (!m) throw new ConfigError(`${where}: front matter line ${JSON.stringify(line)} is not "key: value"`);
      const key = m[1]!.toLowerCase();
      // a comment after the value (`format: json   # text or json`), as docs/model.md writes it: it read as the value
      const value = m[2]!.replace(/(^|\s)#.*$/, '').trim();
      if (key === 'format') {
        if (value !== 'text' && value !== 'json') throw new ConfigError(`${where}: format must be text or json, not ${value}`);
        format = value;
      } else if (key === 'required') {
        const fields = value.split(',').map((s) => s.trim()).filter(Boolean);
        const bad = fields.filter((f) => !(ANSWER_FIELDS as readonly string[]).includes(f));
        if (bad.length) throw new ConfigError(`${where}: required field ${bad.join(', ')} is not one of ${ANSWER_FIELDS.join(', ')}`);
        required = fields as AnswerField[];
      } else if (key !== 'about') {
        throw new ConfigError(`${where}: front matter key ${m[1]} is not known; keys: format, required, about`);
      }
    }
  }
  // without format: json the answer is kept as plain text: the JSON the template asks for became the description
  if (required.length > 0 && format !== 'json') {
    throw new ConfigError(`${where}: required: ${required.join(', ')} needs format: json in the front matter (without it the answer is kept as plain text)`);
  }
  const variables: TemplateVariable[] = [];
  for (const m of body.matchAll(VAR)) {
    const v = m[1]!;
    if (!(v in TEMPLATE_VARIABLES)) {
      const known = Object.keys(TEMPLATE_VARIABLES);
      const close = known.find((k) => editDistance(k.toLowerCase(), v.toLowerCase()) <= 2);
      throw new ConfigError(`${where}: unknown variable {{${v}}}${close ? ` (did you mean {{${close}}}?)` : ''}; variables: ${known.join(', ')}`);
    }
    if (!variables.includes(v as TemplateVariable)) variables.push(v as TemplateVariable);
  }
  if (!body.trim()) throw new ConfigError(`${where}: the template is empty`);
  return { name: path.basename(name).replace(/\.txt$/, ''), file, text, hash: sha256Hex(text).slice(0, 16), body, format, required, variables };
}

/** The prompt: every `{{variable}}` replaced by its value. */
export function renderTemplate(template: PromptTemplate, values: TemplateValues): string {
  return template.body.replace(VAR, (_, v: string) => values[v as TemplateVariable] ?? '').trim();
}
