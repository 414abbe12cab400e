import { list, oneOf } from '../config-key.js';

export const Export = {
  Format: oneOf(['jsonl', 'json', 'csv', 'scenes-csv', 'parquet'] as const, 'jsonl', 'Default format of videodex export (parquet needs --out).'),
  Fields: list([], 'Default columns: documented flat columns or dotted record paths (e.g. metadata.width); scene column names for scenes-csv. Empty: whole records for json/jsonl, all documented columns for csv/parquet/scenes-csv.'),
} as const;
