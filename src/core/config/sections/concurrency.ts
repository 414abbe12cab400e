import { int } from '../config-key.js';

export const Concurrency = {
  Downloads: int(4, { min: 1, max: 256 }, 'Downloads at once (resource "net").'),
  Cpu: int(2, { min: 1, max: 256 }, 'ffmpeg/ffprobe jobs at once (resource "cpu"), and the threads of videodex retag (its own and Cpu - 1 workers); about the number of cores.'),
  Ai: int(4, { min: 1, max: 256 }, 'Model requests at once (resource "ai").'),
} as const;
