import { StoreError } from '../core/index.js';

/**
 * Refuses a library that a newer videodex has upgraded: this one would otherwise take the schema it does not
 * know for its own (writing rows without the newer columns' upkeep) and "rebuild" a newer index format back to
 * its older one, rewriting every record. `found` is the stored version (a number, or the text a meta row holds);
 * anything not a number is left to the caller's own checks.
 */
export function refuseNewerLibrary(where: string, what: 'schema' | 'index format', found: number | string | undefined | null, known: number): void {
  const n = typeof found === 'string' ? Number(found) : found;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= known) return;
  throw new StoreError(`${where} was made by a newer videodex (${what} ${n}; this videodex knows up to ${known}): upgrade videodex to use it; nothing was changed`);
}
