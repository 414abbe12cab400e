import { z } from 'zod';
import { parseExternalJson } from '../../core/index.js';

/**
 * Finds the JSON value in a model answer: inside ```json fences or not, with prose before or after it, or
 * encoded as one JSON string. Returns the first complete object (or array) that parses, or an error saying why
 * none did. What small models write instead of JSON is read too (single-quoted strings, None/True/False,
 * trailing commas, comments): each of those cost a repair request, for an answer that was plain to read.
 */
export function extractJson(answer: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const text = withoutReasoning(answer);
  const candidates: string[] = [];
  const fence = /```(?:json|JSON)?\s*\n?([\s\S]*?)(?:```|$)/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) if (m[1]!.trim()) candidates.push(m[1]!);
  candidates.push(text);
  let lastError = 'the answer holds no JSON object';
  for (const candidate of candidates.flatMap((c) => [...decodedString(c), c])) {
    // Past a bracket that never closes (prose, a <think> block, a cut answer) or one that holds no JSON, the
    // brackets inside it are parts of it: an object there may be the answer, a lone list of tags is not.
    let within = -1;
    let unclosed = false;
    for (let start = firstOpen(candidate, 0); start !== -1; start = firstOpen(candidate, start + 1)) {
      const nested = unclosed || start < within;
      if (nested && candidate[start] !== '{') continue;
      const end = matchingClose(candidate, start);
      if (end === -1) {
        if (!nested) lastError = 'the JSON in the answer is cut off (no closing bracket)';
        unclosed = true;
        continue;
      }
      const span = candidate.slice(start, end + 1);
      const value = parseLenient(span);
      if (value.ok) return value;
      if (!nested) lastError = `the JSON in the answer does not parse: ${value.error}`;
      within = Math.max(within, end);
    }
  }
  return { ok: false, error: lastError };
}

/**
 * The answer without the reasoning a thinking model (Qwen3-VL, QVQ) writes first in `<think>...</think>` when the
 * server does not split it off: it became the description, and a draft JSON object in it was taken as the answer.
 */
export function withoutReasoning(answer: string): string {
  return answer.replace(/^\s*<think>[\s\S]*?<\/think>\s*/i, '');
}

/** The text a candidate encodes when it is one JSON string (an answer JSON-encoded once more), else nothing. */
function decodedString(candidate: string): string[] {
  const t = candidate.trim();
  if (!t.startsWith('"')) return [];
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'string' ? [v] : [];
  } catch {
    return [];
  }
}

function parseLenient(span: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: parseExternalJson(span) };
  } catch (err) {
    try {
      return { ok: true, value: parseExternalJson(relaxedJson(span)) };
    } catch {
      // the strict parser's message says where the text went wrong
      return { ok: false, error: (err as Error).message };
    }
  }
}

/**
 * JSON from a Python-style literal: single-quoted strings become double-quoted, None/True/False null/true/false,
 * trailing commas and comments go. Text inside double-quoted strings is left as it is. Narrower than a general
 * JSON repairer (jsonrepair) on purpose: that one also quotes bare words, so prose such as `tags [car, red]` before
 * the answer became a valid list and was taken for it.
 */
function relaxedJson(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== "'"; j++) {
        if (text[j] === '\\' && j + 1 < text.length) {
          j++;
          s += text[j] === "'" ? "'" : `\\${text[j]}`;
        } else s += text[j] === '"' ? '\\"' : text[j];
      }
      out += `"${s}"`;
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close === -1 ? text.length : close + 1;
    } else if (c === ',' && /^\s*[}\]]/.test(text.slice(i + 1))) {
      // a trailing comma
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      out += word === 'None' ? 'null' : word === 'True' ? 'true' : word === 'False' ? 'false' : word;
      i += word.length - 1;
    } else out += c;
  }
  return out;
}

function firstOpen(text: string, from: number): number {
  for (let i = from; i < text.length; i++) if (text[i] === '{' || text[i] === '[') return i;
  return -1;
}

/** Index of the bracket closing the one at `start`, skipping strings; -1 when the text ends first. */
function matchingClose(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') stack.push('}');
    else if (c === '[') stack.push(']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

const label = z.string().transform((s) => s.trim()).pipe(z.string().min(1));

/**
 * A list of labels; a comma-separated string is accepted too, and null as none (`"actions": null` for "nobody
 * does anything" cost a repair request). Trimmed, de-duplicated, empty ones dropped.
 */
const labels = z.preprocess(
  (v) => (Array.isArray(v) ? v.filter((x) => x !== null).map(labelOf) : v),
  z
    .union([z.array(z.union([z.string(), z.number()])), z.string(), z.null()])
    .transform((v) => (v === null ? [] : typeof v === 'string' ? v.split(',') : v.map(String)))
    .transform((arr) => [...new Set(arr.map((s) => s.trim()).filter(Boolean))]),
);

/** Where models put the label when they write one as an object. */
const LABEL_KEYS = ['name', 'label', 'tag', 'action', 'category', 'text', 'value'] as const;

/**
 * The label an object holds (`{"action": "running", "confidence": 0.9}`, `{"name": "car"}`), as models often
 * write list items and the category: each such answer cost a repair request, for labels that were there.
 * Anything else is left as it is, for the schema to judge.
 */
function labelOf(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  const key = LABEL_KEYS.find((k) => typeof o[k] === 'string');
  return key ? o[key] : v;
}

/**
 * The category: a name or null. What models write for "none fits" ("", "null", "None", "n/a") is null: "" cost a
 * repair request, and "null" was kept as a category named null. A list of one name is that name.
 */
const category = z.preprocess(
  (v) => {
    const one = labelOf(Array.isArray(v) && v.length === 1 ? v[0] : v);
    return typeof one === 'string' && /^\s*(null|none|n\/a)?\s*$/i.test(one) ? null : one;
  },
  z.union([label, z.null()]),
);

/** The answer of JSON templates (tags-json, action-recognition, your own): every field optional here. */
export const AnswerSchema = z.object({
  // null is no description: missing when the template requires one, rather than a wrong shape
  description: z
    .string()
    .nullable()
    .transform((v) => v ?? undefined)
    .optional(),
  tags: labels.optional(),
  category: category.optional(),
  actions: labels.optional(),
});

export type Answer = z.infer<typeof AnswerSchema>;

export const ANSWER_FIELDS = ['description', 'tags', 'category', 'actions'] as const;
export type AnswerField = (typeof ANSWER_FIELDS)[number];

/**
 * One caption: a string, or an object holding it (`{"image": 1, "caption": "..."}`, as models often number their
 * captions): that cost a repair request for captions that were there.
 */
const caption = z.union([
  z.string(),
  z.object({ caption: z.string() }).transform((o) => o.caption),
  z.object({ text: z.string() }).transform((o) => o.text),
  z.object({ description: z.string() }).transform((o) => o.description),
]);

/** The per-scene captions answer: one caption per image, in order. */
export const CaptionsSchema = z.object({ captions: z.array(caption.transform((s) => s.trim())).min(1) });

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Validates a template's answer: the schema, and the fields the template requires. */
export function parseAnswer(text: string, required: readonly AnswerField[]): ParseResult<Answer> {
  const found = extractJson(text);
  if (!found.ok) return found;
  const value = withAnswerKeys(Array.isArray(found.value) && found.value.length === 1 ? found.value[0] : found.value);
  const parsed = AnswerSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: `wrong shape: ${describeIssues(parsed.error)}` };
  const missing = required.filter((f) => {
    const v = parsed.data[f];
    return v === undefined || v === null || (typeof v === 'string' && !v.trim());
  });
  if (missing.length > 0) return { ok: false, error: `wrong shape: missing ${missing.join(', ')}` };
  // every field is optional, so {"summary": ...} passed as an answer with nothing in it: an empty description kept
  if (ANSWER_FIELDS.every((f) => parsed.data[f] === undefined)) {
    return { ok: false, error: `wrong shape: none of ${ANSWER_FIELDS.join(', ')} in the answer` };
  }
  return { ok: true, value: parsed.data };
}

/**
 * The answer with its fields under their own names when the model capitalised them (`"Description"`, `"TAGS"`):
 * that read as an answer missing its description, and cost a repair request. A field already there wins.
 */
function withAnswerKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, v] of Object.entries(value)) {
    const field = ANSWER_FIELDS.find((f) => f === key.trim().toLowerCase());
    if (field && !(field in out)) out[field] = v;
  }
  return out;
}

/** Validates a captions answer; `expected` captions must come back. */
export function parseCaptions(text: string, expected: number): ParseResult<string[]> {
  const found = extractJson(text);
  if (!found.ok) return found;
  const value = Array.isArray(found.value) ? { captions: found.value } : found.value;
  const parsed = CaptionsSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: `wrong shape: ${describeIssues(parsed.error)}` };
  if (parsed.data.captions.length !== expected) {
    return { ok: false, error: `wrong shape: ${parsed.data.captions.length} captions for ${expected} images` };
  }
  return { ok: true, value: parsed.data.captions };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'answer'}: ${i.message}`)
    .join('; ');
}
