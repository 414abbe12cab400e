import { bytes, int, oneOf, str } from '../config-key.js';

export const Logging = {
  Level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const, 'info', 'Log file level.'),
  File: str('', 'Log file, JSON lines (default: <DataDir>/videodex.log).'),
  MaxSize: bytes(10 * 1024 ** 2, 'Size at which the log file is rotated to <File>.1 (the older ones shift to .2, .3, ...); 0 = never.'),
  Keep: int(3, { min: 1, max: 100 }, 'Rotated log files kept (<File>.1 is the newest); older ones are deleted.'),
  AuditFile: str('', 'Audit trail of model calls, JSON lines (default: <DataDir>/audit.jsonl); never rotated: videodex usage totals it.'),
} as const;
