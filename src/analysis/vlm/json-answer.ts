import { z } from 'zod';
import { parseExternalJson } from '../../core/index.js';

/**
 * Finds the JSON value in a model answer: inside ```json fences or not, with prose before or after it.
 * Returns the first complete object (or array) that parses, or an error saying why none did.
 */
export function extractJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const candidates: string[] = [];
  const fence = /```(?:json|JSON)?\s*\n?([\s\S]*?)(?:```|$)/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) if (m[1]!.trim()) candidates.push(m[1]!);
  candidates.push(text);
  let lastError = 'the answer holds no JSON object';
  for (const candidate of candidates) {
    for (let start = firstOpen(candidate, 0); start !== -1; start = firstOpen(candidate, start + 1)) {
      const end = matchingClose(candidate, start);
      if (end === -1) {
        lastError = 'the JSON in the answer is cut off (no closing bracket)';
        break;
      }
      try {
        return { ok: true, value: parseExternalJson(candidate.slice(start, end + 1)) };
      } catch (err) {
        lastError = `the JSON in the answer does not parse: ${(err as Error).message}`;
      }
    }
  }
  return { ok: false, error: lastError };
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

/** A list of labels; a comma-separated string is accepted too. Trimmed, de-duplicated, empty ones dropped. */
const labels = z
  .union([z.array(z.union([z.string(), z.number()])), z.string()])
  .transform((v) => (typeof v === 'string' ? v.split(',') : v.map(String)))
  .transform((arr) => [...new Set(arr.map((s) => s.trim()).filter(Boolean))]);

/** The answer of JSON templates (tags-json, action-recognition, your own): every field optional here. */
export const AnswerSchema = z.object({
  description: z.string().optional(),
  tags: labels.optional(),
  category: z.union([label, z.null()]).optional(),
  actions: labels.optional(),
});

export type Answer = z.infer<typeof AnswerSchema>;

export const ANSWER_FIELDS = ['description', 'tags', 'category', 'actions'] as const;
export type AnswerField = (typeof ANSWER_FIELDS)[number];

/** The per-scene captions answer: one caption per image, in order. */
export const CaptionsSchema = z.object({ captions: z.array(z.string().transform((s) => s.trim())).min(1) });

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Validates a template's answer: the schema, and the fields the template requires. */
export function parseAnswer(text: string, required: readonly AnswerField[]): ParseResult<Answer> {
  const found = extractJson(text);
  if (!found.ok) return found;
  const value = Array.isArray(found.value) && found.value.length === 1 ? found.value[0] : found.value;
  const parsed = AnswerSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: `wrong shape: ${describeIssues(parsed.error)}` };
  const missing = required.filter((f) => {
    const v = parsed.data[f];
    return v === undefined || v === null || (typeof v === 'string' && !v.trim());
  });
  if (missing.length > 0) return { ok: false, error: `wrong shape: missing ${missing.join(', ')}` };
  return { ok: true, value: parsed.data };
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
