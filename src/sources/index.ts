export type { InputItem } from './input-item.js';
export type { Source, AcquireContext, Acquired } from './source.js';
export { expandInputs, isUrl, sniffFile } from './expand-inputs.js';
export type { ExpandOptions, ExpandedInputs, InputProblem } from './expand-inputs.js';
export { LocalSource } from './local-source.js';
export { HttpSource } from './http-source.js';
export { safeFileName, uniqueMediaPath } from './media-names.js';
