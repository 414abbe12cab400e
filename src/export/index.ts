export { writeRecords, EXPORT_FORMATS } from './record-writers.js';
export type { ExportFormat } from './record-writers.js';
export { CSV_COLUMNS } from './csv-columns.js';
export { SCENE_COLUMNS, timecode } from './scene-columns.js';
export { selectFields, defaultFields, pick } from './field-select.js';
export type { Field } from './field-select.js';
export { writeParquet } from './parquet-export.js';
export * from './dataset/index.js';
