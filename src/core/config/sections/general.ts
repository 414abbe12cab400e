import { bool, int, list } from '../config-key.js';

export const General = {
  VideoExtensions: list(
    ['mp4', 'm4v', 'mov', 'mkv', 'webm', 'avi', 'wmv', 'flv', 'mpg', 'mpeg', 'ts', 'mts', 'm2ts', '3gp', 'ogv'],
    'File extensions a folder scan treats as videos (content sniffing finds others too).',
  ),
  SniffContent: bool(true, 'Look at the first bytes of files in folders, so videos with odd names are found and text named .mp4 is not.'),
  IdLength: int(16, { min: 8, max: 64 }, 'Hex characters of the content sha256 used as a video id.'),
  FollowSymlinks: bool(false, 'Follow symbolic links when scanning folders.'),
} as const;
