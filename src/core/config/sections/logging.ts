import { bytes, int, oneOf, str } from '../config-key.js';

export const Logging = {
  Level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const, 'info', 'Log file level.'),
  File: str('', 'Log file, JSON lines (default: <DataDir>/videodex.log).'),
  MaxSize: bytes(10 * 1024 ** 2, 'Size at which the log file is rotated to <File>.1 (the older ones shift to .2, .3, ...); 0 = never.'),
  Keep: int(3, { min: 1, max: 100 }, 'Rotated log files kept (<File>.1 is the newest); older ones are deleted.'),
  AuditFile: str('', 'Audit trail of model calls, JSON lines (default: <DataDir>/audit.jsonl); never rotated: videodex usage totals it.'),
  AuditRetrySec: int(
    10,
    { min: 0, max: 3600 },
    'After a line of the audit trail could not be written (disk full), model calls are refused; every this many seconds a refused call first checks the trail again (a small file written beside it and removed; nothing added to the trail) and calls resume once it passes, so a long-running worker needs no restart. 0 = check at every call.',
  ),
} as const;
