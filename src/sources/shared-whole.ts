import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex, type Logger } from '../core/index.js';
import type { InputItem } from './input-item.js';
import { withPart } from './part-lock.js';
import { PARTIAL_DIR } from './partial-dir.js';
import type { Acquired } from './source.js';

/**
 * A kept whole video nobody came back for (a row's job removed from the queue, or failed for good) goes at the next
 * fetch of a whole video into the same media folder once it has not been used for this long.
 */
export const WHOLE_KEEP_MS = 24 * 3600_000;

/** What the state file beside a kept whole video says. */
interface WholeState {
  address: string;
  /** The kept whole video; null while no row has fetched it (rows done without fetching it are counted already). */
  acquired: Acquired | null;
  /** Per group of rows (one enqueue's rows of this video): how many rows it has. */
  groups: Record<string, number>;
  /** Per group: the keys of its rows that have cut their clip (a set: a job run again counts once). */
  done: Record<string, string[]>;
}

async function readState(file: string, address: string): Promise<WholeState | null> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as WholeState;
    return s.address === address && s.acquired !== undefined && s.groups && s.done ? s : null;
  } catch {
    return null;
  }
}

async function writeState(file: string, state: WholeState): Promise<void> {
  await writeFile(`${file}.part`, JSON.stringify(state));
  await rename(`${file}.part`, file);
}

async function intact(a: Acquired | null): Promise<boolean> {
  if (!a) return false;
  const info = await stat(a.path).catch(() => null);
  return info !== null && info.size === a.bytes;
}

/** Whole videos kept for rows that never came, untouched for WHOLE_KEEP_MS, and their state files. */
async function sweepForgotten(partDir: string, logger: Logger): Promise<void> {
  const names = await readdir(partDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.endsWith('.whole.json')) continue;
    const file = path.join(partDir, name);
    const info = await stat(file).catch(() => null);
    if (!info || Date.now() - info.mtimeMs < WHOLE_KEEP_MS) continue;
    // the folder named after the state file, whatever the state says: a state file edited by hand removes nothing else
    await rm(file.slice(0, -'.json'.length), { recursive: true, force: true });
    await rm(file, { force: true });
    logger.info({ whole: file.slice(0, -'.json'.length) }, 'removed a whole video kept for list rows that did not come back for it');
  }
}

const finished = (s: WholeState) => Object.entries(s.groups).every(([g, rows]) => (s.done[g]?.length ?? 0) >= rows);

/**
 * For a list row that cuts a clip out of a video other rows (other jobs, maybe in other processes or on other
 * machines sharing the media folder) cut theirs from too (`item.shared`): fetches the whole video once, keeps it in
 * `<MediaDir>/.partial/<hash>.whole/<its name>` with a state file counting the rows done, hands it to `use`, and removes
 * it once every row of every group that asked for it has cut its clip. Each queue job downloaded the whole video
 * again for its own clip: fifty labelled segments of one long video were fifty downloads of it.
 * A row stopped (aborted) before its clip does not count as done: its job comes back for the whole.
 */
export async function withSharedWhole<T>(
  item: InputItem & { shared: NonNullable<InputItem['shared']> },
  address: string,
  ctx: { mediaDir: string; signal: AbortSignal; logger: Logger },
  fetch: () => Promise<Acquired>,
  use: (whole: Acquired) => Promise<T>,
): Promise<T> {
  const { partDir, base, stateFile, lock } = placeOf(item, address, ctx);
  const { group, rows } = item.shared;
  const whole = await withPart(
    base,
    async () => {
      const state = await readState(stateFile, address);
      if (state?.acquired && (await intact(state.acquired))) {
        state.groups[group] = Math.max(state.groups[group] ?? 0, rows);
        await writeState(stateFile, state);
        ctx.logger.info({ input: item.raw, whole: state.acquired.path }, 'list row: cutting from the whole video another row fetched');
        return state.acquired;
      }
      await sweepForgotten(partDir, ctx.logger);
      const acquired = await fetch();
      // the user's own file, read where it is: nothing was fetched, so nothing is kept or removed
      if (acquired.storage === 'reference') return acquired;
      // under its own name (clips are named after it), in a folder of its own
      const kept = path.join(base, path.basename(acquired.path));
      await rm(base, { recursive: true, force: true });
      await mkdir(base, { recursive: true });
      await rename(acquired.path, kept);
      const next: WholeState = {
        address,
        acquired: { ...acquired, path: kept },
        groups: { ...(state?.groups ?? {}), [group]: Math.max(state?.groups[group] ?? 0, rows) },
        done: state?.done ?? {},
      };
      await writeState(stateFile, next);
      return next.acquired!;
    },
    lock,
  );
  try {
    return await use(whole);
  } finally {
    if (whole.storage !== 'reference' && !ctx.signal.aborted) await countRowDone(item, address, ctx);
  }
}

function placeOf(item: InputItem, address: string, ctx: { mediaDir: string; signal: AbortSignal; logger: Logger }) {
  const partDir = path.join(ctx.mediaDir, PARTIAL_DIR);
  const base = path.join(partDir, `${sha256Hex(address).slice(0, 32)}.whole`);
  const lock = { signal: ctx.signal, onWait: (holder: string) => ctx.logger.info({ input: item.raw, holder }, 'another process is fetching the whole video this row cuts its clip from; waiting for it') };
  return { partDir, base, stateFile: `${base}.json`, lock };
}

/**
 * Counts the row done with the whole video of its group: its clip is cut, or it needed none this time (acquired
 * before, or failed before and not retried). Removes the whole video once every row of every group is done. A row
 * done before any fetched the video is counted too, or the group would wait for it for ever.
 */
export async function countRowDone(
  item: InputItem & { shared: NonNullable<InputItem['shared']> },
  address: string,
  ctx: { mediaDir: string; signal: AbortSignal; logger: Logger },
): Promise<void> {
  const { base, stateFile, lock } = placeOf(item, address, ctx);
  const { group, rows } = item.shared;
  await withPart(
    base,
    async () => {
      const state = (await readState(stateFile, address)) ?? { address, acquired: null, groups: {}, done: {} };
      state.groups[group] = Math.max(state.groups[group] ?? 0, rows);
      state.done[group] = [...new Set([...(state.done[group] ?? []), item.key])];
      if (!finished(state)) return writeState(stateFile, state);
      await rm(base, { recursive: true, force: true });
      await rm(stateFile, { force: true });
    },
    lock,
  ).catch((err: unknown) => ctx.logger.warn({ input: item.raw, err: (err as Error).message }, 'could not count this row done with the whole video it was cut from'));
}
