import { bool, list, oneOf } from '../config-key.js';

export const Export = {
  Format: oneOf(['jsonl', 'json', 'csv', 'scenes-csv', 'parquet'] as const, 'jsonl', 'Default format of videodex export (parquet needs --out).'),
  Fields: list([], 'Default columns: documented flat columns or dotted record paths (e.g. metadata.width); scene column names for scenes-csv. Empty: whole records for json/jsonl, all documented columns for csv/parquet/scenes-csv.'),
  EscapeFormulas: bool(
    true,
    "CSV exports (csv, scenes-csv): a text cell a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return; numbers excepted) gets a leading ' (CSV injection: titles come from the internet). false writes every cell as it is.",
  ),
} as const;
