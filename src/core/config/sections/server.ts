import { int, str } from '../config-key.js';

export const Server = {
  Host: str('127.0.0.1', 'Address videodex serve listens on.'),
  Port: int(8080, { min: 0, max: 65535 }, 'Port videodex serve listens on (0 = any free port).'),
} as const;
