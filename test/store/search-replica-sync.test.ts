import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Video } from '../../src/core/index.js';
import { SearchReplica, type ChangeBatch, type ChangeFeed } from '../../src/store/search-replica.js';
import { makeRecord } from '../helpers/records.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vdx-replica-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A team store in memory: records by id, a change log with positions, a pause to hold a pull open. */
class FakeFeed implements ChangeFeed {
  library = 'lib-1';
  readonly log: Array<{ at: number; id: string; video: Video | null }> = [];
  calls: Array<string | null> = [];
  hold: Promise<void> | null = null;
  private at = 0;
  write(v: Video): void {
    this.log.push({ at: ++this.at, id: v.id, video: v });
  }
  remove(id: string): void {
    this.log.push({ at: ++this.at, id, video: null });
  }
  async changesSince(from: { library: string; position: string } | null, apply: (b: ChangeBatch) => Promise<void>): Promise<{ library: string; position: string }> {
    const since = from && from.library === this.library ? Number(from.position) : null;
    this.calls.push(since === null ? null : String(since));
    const upTo = this.at; // the snapshot: what was written when the pull began
    await this.hold;
    const latest = new Map<string, Video | null>();
    for (const e of this.log) if (e.at <= upTo && (since === null || e.at > since)) latest.set(e.id, e.video);
    if (since === null) await apply({ reset: true, upserts: [], deletes: [] });
    await apply({ upserts: [...latest.values()].filter((v): v is Video => v !== null), deletes: [...latest].filter(([, v]) => v === null).map(([id]) => id) });
    return { library: this.library, position: String(upTo) };
  }
}

const titled = (id: string, title: string) => makeRecord({ id, source: { url: `/v/${id}`, kind: 'local', fetchedAt: '2024-01-01T00:00:00.000Z', title } });

describe('SearchReplica (with a fake change feed)', () => {
  it('copies everything first, then only what changed; a burst of searches shares at most two pulls and none answers stale', async () => {
    const feed = new FakeFeed();
    const replica = new SearchReplica(path.join(dir, 'burst.db'), feed);
    try {
      feed.write(titled('r1', 'robin'));
      expect((await replica.search({ text: 'robin' })).total).toBe(1);
      expect(feed.calls).toEqual([null]);

      // a pull held open; a write lands meanwhile; searches arrive
      let release!: () => void;
      feed.hold = new Promise((r) => (release = r));
      const first = replica.search({ text: 'robin' });
      await new Promise((r) => setImmediate(r));
      feed.write(titled('r2', 'robin redbreast'));
      const burst = Array.from({ length: 10 }, () => replica.search({ text: 'robin' }));
      release();
      feed.hold = null;
      expect((await first).total).toBe(1); // began before the write
      for (const r of await Promise.all(burst)) expect(r.total).toBe(2); // began after it: never stale
      expect(feed.calls).toEqual([null, '1', '1']);
    } finally {
      await replica.close();
    }
  });

  it('applies deletions, keeps its position across processes, and starts over for another library', async () => {
    const feed = new FakeFeed();
    const file = path.join(dir, 'shared.db');
    const a = new SearchReplica(file, feed);
    feed.write(titled('s1', 'sparrow'));
    feed.write(titled('s2', 'sparrow hawk'));
    expect((await a.search({ text: 'sparrow' })).total).toBe(2);
    await a.close();

    const b = new SearchReplica(file, feed);
    try {
      feed.remove('s2');
      expect((await b.search({ text: 'sparrow' })).hits.map((h) => h.id)).toEqual(['s1']);
      expect(feed.calls.at(-1)).toBe('2');
      expect(b.lastPulled).toBe(1);

      feed.library = 'lib-2';
      feed.log.length = 0;
      feed.write(titled('t1', 'thrush'));
      const r = await b.search({});
      expect(r.hits.map((h) => h.id)).toEqual(['t1']);
    } finally {
      await b.close();
    }
  });

  it('a failed pull leaves the copy as it was and the next search retries it', async () => {
    const feed = new FakeFeed();
    const replica = new SearchReplica(path.join(dir, 'retry.db'), feed);
    try {
      feed.write(titled('w1', 'wren'));
      await replica.sync();
      const original = feed.changesSince.bind(feed);
      feed.changesSince = async () => {
        throw new Error('server went away');
      };
      feed.write(titled('w2', 'wren again'));
      await expect(replica.search({ text: 'wren' })).rejects.toThrow(/server went away/);
      feed.changesSince = original;
      expect((await replica.search({ text: 'wren' })).total).toBe(2);
    } finally {
      await replica.close();
    }
  });
});
