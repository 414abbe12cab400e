import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { TaggingSetup, TaggingSetupOptions } from './tagging-setup.js';

/**
 * The tagging setups (rules, taxonomy, switches) that recent runs tagged with, kept in the data folder.
 *
 * A record remembers its setup only as a hash inside its stage entries. After a rule edit, retag looks here for
 * the rules a record was tagged with, so it can tell the records the edit cannot change (rule-diff.ts) and skip
 * recomputing them. A missing, unreadable or foreign file only means every record is recomputed.
 */
export const SETUP_LEDGER_FILE = 'tagging-setups.json';
/** Setups kept, newest first: enough for an edit, an undo and a few runs in between. */
export const SETUP_LEDGER_SIZE = 8;

const entrySchema = z.object({
  fingerprint: z.string(),
  at: z.string(),
  options: z.record(z.string(), z.unknown()),
});
const ledgerSchema = z.object({ version: z.literal(1), setups: z.array(entrySchema) });

export interface SetupLedgerEntry {
  fingerprint: string;
  at: string;
  options: TaggingSetupOptions;
}

/** The recorded setups, newest first; none when the file is missing or not one this version wrote. */
export function readSetupLedger(dataDir: string): SetupLedgerEntry[] {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, SETUP_LEDGER_FILE), 'utf8');
  } catch {
    return [];
  }
  try {
    const parsed = ledgerSchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data.setups as SetupLedgerEntry[]) : [];
  } catch {
    return [];
  }
}

/** Puts `setup` first (once), keeping the newest `SETUP_LEDGER_SIZE`. Written to a part file and renamed. */
export function recordSetup(dataDir: string, setup: TaggingSetup, now = new Date()): void {
  const setups = readSetupLedger(dataDir).filter((e) => e.fingerprint !== setup.fingerprint);
  setups.unshift({ fingerprint: setup.fingerprint, at: now.toISOString(), options: setup.options });
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, SETUP_LEDGER_FILE);
  const part = `${file}.${process.pid}.part`;
  writeFileSync(part, JSON.stringify({ version: 1, setups: setups.slice(0, SETUP_LEDGER_SIZE) }));
  renameSync(part, file);
}
