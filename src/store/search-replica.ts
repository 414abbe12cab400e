/**
 * A local SQLite copy of a team store's library that answers its searches.
 *
 * PostgreSQL answers a search over a large match by visiting every matching row: the exact total, the facet
 * counts and the relevance ranking each scan the match (100k records: 250-400 ms at p95 on two cores). The
 * SQLite store answers the same query language from its in-memory column and text indexes in a few ms. The
 * replica is such a store, kept in a file on this machine and brought up to date from the team store's change
 * feed before every search, so a search sees every write committed before it started, from any machine.
 *
 * The file is a cache: deleting it costs one rebuild (the whole library is read once), and a replica of
 * another library (the database was recreated, the URL now points elsewhere) is rebuilt on its own.
 */
import { rmSync } from 'node:fs';
import { StoreError, type Logger, type Video } from '../core/index.js';
import type { SearchQuery, SearchResult } from './search-query.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export interface ChangeBatch {
  /** The replica holds another library, or none: drop what it holds before applying this batch. */
  reset?: boolean;
  upserts: Video[];
  deletes: string[];
}

/** Where a replica stands in a library's change feed. */
export interface FeedPosition {
  library: string;
  position: string;
}

/** Where a replica reads changes from: a team store. */
export interface ChangeFeed {
  /**
   * Every record written and every id deleted since `from` (everything, starting with a reset, when `from` is
   * null or names another library), in batches, all from one consistent snapshot. Returns the library's
   * identity and the position to ask from next time. Applying a batch twice is harmless, so positions may
   * overlap: what matters is that nothing committed before the call is missed.
   */
  changesSince(from: FeedPosition | null, apply: (batch: ChangeBatch) => Promise<void>): Promise<FeedPosition>;
}

/** The code of a failure of the local copy itself (its file or disk), as opposed to the team store's. */
export const REPLICA_ERROR_CODE = 'E_REPLICA';

const LIBRARY_KEY = 'replica_library';
const POSITION_KEY = 'replica_position';

export class SearchReplica {
  private store: SqliteStore | null = null;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private closed = false;
  /** Records applied by the last pull (tests and logs). */
  lastPulled = 0;

  constructor(
    readonly file: string,
    private readonly feed: ChangeFeed,
    private readonly logger?: Logger,
  ) {}

  /** Runs an operation on the local copy; its failure is told apart from the team store's (see REPLICA_ERROR_CODE). */
  private async local<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreError(`search replica ${this.file}: ${what} failed: ${(err as Error).message}`, { cause: err, code: REPLICA_ERROR_CODE });
    }
  }

  private async open(): Promise<SqliteStore> {
    if (this.store) return this.store;
    const store = await this.local('open', async () => {
      const s = new SqliteStore(this.file);
      await s.migrate();
      return s;
    });
    this.store = store;
    return store;
  }

  /**
   * Brings the copy up to date. Calls that arrive while a pull runs share the next one (which starts after it
   * and so sees their writes): a burst of searches makes at most two pulls, never a stale answer.
   */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.pull().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.sync();
      });
    return this.queued;
  }

  private async pull(): Promise<void> {
    if (this.closed) throw new StoreError(`search replica ${this.file}: store is closed`);
    let store = await this.open();
    const [library, position] = await this.local('read its position', () => [store.readMeta(LIBRARY_KEY), store.readMeta(POSITION_KEY)]);
    const started = performance.now();
    let pulled = 0;
    const next = await this.feed.changesSince(library && position ? { library, position } : null, async (batch) => {
      if (batch.reset) {
        this.logger?.info({ replica: this.file }, library ? 'search replica: the library changed; copying it afresh' : 'search replica: copying the library (once per machine)');
        store = await this.recreate();
      }
      await this.local('write', async () => {
        for (const id of batch.deletes) await store.delete(id);
        // as the library holds them, hand edits too: the edit was made there
        if (batch.upserts.length > 0) await store.upsertMany(batch.upserts, { mirror: true });
      });
      pulled += batch.upserts.length + batch.deletes.length;
    });
    await this.local('write its position', () => {
      store.writeMeta(LIBRARY_KEY, next.library);
      store.writeMeta(POSITION_KEY, next.position);
    });
    this.lastPulled = pulled;
    if (pulled > 1000) this.logger?.info({ replica: this.file, records: pulled, ms: Math.round(performance.now() - started) }, 'search replica: brought up to date');
  }

  /** An empty copy in place of the current file. */
  private async recreate(): Promise<SqliteStore> {
    await this.store?.close();
    this.store = null;
    await this.local('recreate', () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(this.file + suffix, { force: true });
    });
    return this.open();
  }

  async search(query: SearchQuery): Promise<SearchResult> {
    await this.sync();
    return this.store!.search(query);
  }

  /** Up to date, with the in-memory indexes built: what `serve` calls before it listens. */
  async warm(): Promise<void> {
    await this.sync();
    await this.store!.warm();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running?.catch(() => undefined);
    await this.store?.close();
    this.store = null;
  }
}
