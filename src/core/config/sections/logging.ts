import { oneOf, str } from '../config-key.js';

export const Logging = {
  Level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const, 'info', 'Log file level.'),
  File: str('', 'Log file, JSON lines (default: <DataDir>/videodex.log).'),
  AuditFile: str('', 'Audit trail of model calls, JSON lines (default: <DataDir>/audit.jsonl).'),
} as const;
