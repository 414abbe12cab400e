import { str } from '../config-key.js';

/** Empty paths are derived from DataDir at load time. */
export const Paths = {
  DataDir: str('videodex-data', 'Where videodex keeps its database, media, cache, keyframes and logs.'),
  MediaDir: str('', 'Downloaded and copied videos (default: <DataDir>/media).'),
  CacheDir: str('', 'Content-addressed cache of expensive stage results (default: <DataDir>/cache).'),
  KeyframesDir: str('', 'Keyframe JPEGs and contact sheets (default: <DataDir>/keyframes).'),
  TemplatesDir: str('', 'Your prompt templates; a file here overrides a shipped one of the same name (default: <DataDir>/templates).'),
  Ffmpeg: str('auto', 'ffmpeg binary: auto (system ffmpeg on PATH, else the one bundled in @ffmpeg-installer/ffmpeg) or a path.'),
  Ffprobe: str('auto', 'ffprobe binary: auto (system ffprobe on PATH, else the one bundled in @ffprobe-installer/ffprobe) or a path.'),
} as const;
