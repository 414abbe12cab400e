import { bool, list, oneOf } from '../config-key.js';

export const Export = {
  Format: oneOf(['jsonl', 'json', 'csv', 'scenes-csv', 'parquet'] as const, 'jsonl', 'Default format of videodex export (parquet needs --out).'),
  Fields: list([], 'Default columns: documented flat columns or dotted record paths (e.g. metadata.width); scene column names for scenes-csv. Empty: whole records for json/jsonl, all documented columns for csv/parquet/scenes-csv.'),
  EscapeFormulas: bool(
    true,
    "CSV exports (csv, scenes-csv): a text cell a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return; numbers excepted) gets a leading ' (CSV injection: titles come from the internet). false writes every cell as it is.",
  ),
  CsvBom: bool(
    false,
    'CSV exports (csv, scenes-csv) begin with a UTF-8 byte-order mark, so Excel reads titles beyond ASCII (accents, CJK) as UTF-8 instead of garbling them. Off by default: most CSV readers take the mark as part of the first column name unless told (Python: encoding="utf-8-sig").',
  ),
} as const;
