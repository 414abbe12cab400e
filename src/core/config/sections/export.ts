import { list, oneOf } from '../config-key.js';

export const Export = {
  Format: oneOf(['jsonl', 'json', 'csv'] as const, 'jsonl', 'Default format of videodex export.'),
  Fields: list([], 'Default CSV columns (empty: all documented columns).'),
} as const;
