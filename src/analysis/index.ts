export { probeVideo, toVideoMetadata, parseRate } from './probe/ffprobe-adapter.js';
export type { ProbeOptions } from './probe/ffprobe-adapter.js';
