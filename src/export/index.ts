export { writeRecords } from './record-writers.js';
export type { ExportFormat } from './record-writers.js';
export { CSV_COLUMNS } from './csv-columns.js';
