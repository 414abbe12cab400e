import { int, str } from '../config-key.js';

export const Queue = {
  RedisUrl: str('redis://127.0.0.1:6379', 'Redis for BullMQ (enqueue / worker). Its password is masked everywhere.', { secret: true }),
  Name: str('videodex', 'BullMQ queue name.'),
  WorkerConcurrency: int(2, { min: 1, max: 256 }, 'Videos one worker processes at once.'),
} as const;
