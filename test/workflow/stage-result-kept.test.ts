import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AuditLog, configWith, ContentCache, MediaTools, type Video } from '../../src/core/index.js';
import { LocalSource, type InputItem } from '../../src/sources/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { hashInputs, PipelineRunner, type Stage } from '../../src/workflow/index.js';
import { tempDir } from '../helpers/media.js';

/**
 * A stage's result (a model answer: paid for) goes to the content cache before the record is written. The
 * describe stage drops its per-request answers once its whole result is returned, so while the record write came
 * first, a run that died (or whose write failed) between the two lost the answer, and the next run asked the
 * model again (found while reading the runner for test/workflow/crash-resume-differential.test.ts's model-call
 * bound; a kill lands in that window too rarely for the seeds to hit it, a failed write does not).
 */
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const fakeTools = new MediaTools({ name: 'ffmpeg', path: '/bin/false', origin: 'system', version: 'x', year: 2024 }, { name: 'ffprobe', path: '/bin/false', origin: 'system', version: 'x', year: 2024 });

/** A SQLite store whose next write of a record with `stage` done fails once, as a kill or a full disk would stop it. */
class FailingOnceStore extends SqliteStore {
  failOn: string | null = null;
  override async upsert(video: Video): Promise<void> {
    if (this.failOn && video.stages[this.failOn]?.status === 'done') {
      this.failOn = null;
      throw new Error('disk full');
    }
    return super.upsert(video);
  }
}

describe('a stage result and the record write', () => {
  it('the result is in the content cache even when the record write after it fails: no second run of the stage', async () => {
    const t = tempDir();
    const store = new FailingOnceStore(path.join(t.dir, 'v.db'));
    await store.migrate();
    cleanups.push(async () => {
      await store.close();
      t.cleanup();
    });
    const file = path.join(t.dir, 'a.mp4');
    writeFileSync(file, 'video a');
    const items: InputItem[] = [{ key: file, raw: 'a.mp4', kind: 'local', path: file }];
    let calls = 0;
    const expensive: Stage = {
      name: 'expensive',
      version: '1',
      needs: [],
      resource: 'ai',
      cacheable: true,
      inputHash: (v) => hashInputs(v.file.sha256),
      async run(v) {
        calls++;
        return { extra: { ...v.extra, answer: `answer ${calls}` } };
      },
    };
    const config = configWith({ Paths: { DataDir: t.dir } });
    const runner = () => new PipelineRunner({ config, logger: pino({ level: 'silent' }), tools: fakeTools, store, sources: [new LocalSource()], stages: [expensive], cache: new ContentCache(config.Paths.CacheDir), audit: new AuditLog(config.Logging.AuditFile) });

    store.failOn = 'expensive';
    const first = await runner().run(items);
    expect(first.failures.map((f) => f.error)).toEqual([expect.stringContaining('disk full')]);
    expect(calls).toBe(1);

    await runner().run(items, { retryFailed: true });
    expect(calls).toBe(1);
    const [v] = await store.findByPath(file);
    expect(v?.extra?.answer).toBe('answer 1');
    expect(v?.stages.expensive?.status).toBe('done');
  });
});
