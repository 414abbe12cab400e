import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { RateLimiter } from '../../src/analysis/vlm/index.js';
import { App } from '../../src/app.js';
import { AuditLog, configWith, ContentCache, loadConfig, MediaTools } from '../../src/core/index.js';
import { createDescribeStage } from '../../src/workflow/index.js';
import { makeRecord } from '../helpers/records.js';
import { reply } from '../helpers/fake-vlm-server.js';
import { fakeVlmServers } from '../helpers/fake-vlm-servers.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

/**
 * The audit trail made unwritable mid-run (here: the disk full, as /dev/full answers every write with ENOSPC, which
 * works as root where a chmod does not). The describe stage failed with the raw write error after the model had
 * answered, the answer was lost and the next run paid for it again.
 */
const t = tempDir('videodex-audit-full-');
afterAll(() => t.cleanup());
const fake = fakeVlmServers();

describe('the audit trail cannot be written mid-run', () => {
  it.each([
    ['a plain-text template', {}, reply.text('A plain colour card.')],
    ['a JSON template', { 'QwenVL.Template': 'tags-json' }, reply.fencedJson({ description: 'A plain colour card.', tags: ['colour'], category: null, actions: [] })],
  ])('keeps the paid answer (the next run asks nothing and writes the line late), fails that video naming the cause, and sends no further call: %s', async (what, settings, answer) => {
    const data = path.join(t.dir, what.replace(/ /g, '-'));
    const audit = path.join(data, 'audit.jsonl');
    const clips = [await makeTestVideo(path.join(t.dir, `${what}-red.mp4`), { seconds: 1, width: 160, height: 120, fps: 5, source: 'color=c=red' })];
    clips.push(await makeTestVideo(path.join(t.dir, `${what}-blue.mp4`), { seconds: 1, width: 160, height: 120, fps: 5, source: 'color=c=blue' }));
    let full = true;
    const s = await fake({
      defaultReply: () => {
        // the disk fills while the model is thinking
        if (full) {
          rmSync(audit, { force: true });
          symlinkSync('/dev/full', audit);
        }
        return answer;
      },
    });
    const make = () =>
      new App(loadConfig({ env: {}, overrides: { 'Paths.DataDir': data, 'QwenVL.PublicEndpoint': s.url, 'QwenVL.BackoffMs': 5, 'Concurrency.Ai': 1, ...settings } }), { logToFile: false });
    mkdirSync(data, { recursive: true });
    writeFileSync(audit, '');

    let app = make();
    const first = await app.process(clips);
    await app.close();
    expect(s.requests).toHaveLength(1);
    expect(first.failures).toHaveLength(2);
    const paid = first.failures.find((f) => f.error.includes('the answer is kept: once the trail can be written, --retry-failed uses it without a new call'));
    const unsent = first.failures.find((f) => f.error.includes('no model call sent'));
    expect(paid?.error).toMatch(new RegExp(`^${paid?.videoName}: the model answered but its call could not be recorded: the audit trail \\[Logging\\] AuditFile .*audit\\.jsonl cannot be written: ENOSPC`));
    expect(unsent?.error).toMatch(new RegExp(`^${unsent?.videoName}: the audit trail \\[Logging\\] AuditFile .*audit\\.jsonl cannot be written: ENOSPC.*no model call sent until it can be$`));
    expect(paid?.videoName).not.toBe(unsent?.videoName);

    // the disk has room again
    full = false;
    rmSync(audit);
    app = make();
    const second = await app.process(clips, { retryFailed: true });
    const store = await app.store();
    const records = await Promise.all(second.videos.map((id) => store.get(id)));
    await app.close();
    expect(second.failures).toEqual([]);
    // one call for each video across both runs: the first video's answer was not asked again
    expect(s.requests).toHaveLength(2);
    for (const r of records) expect(r!.ai?.description).toBe('A plain colour card.');
    const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    const paidId = records.find((r) => path.basename(r!.file.path) === paid!.videoName)!.id;
    expect(lines.find((l) => l.videoId === paidId)).toMatchObject({ status: 'ok', late: true });
    expect(lines.filter((l) => l.late)).toHaveLength(1);
  });
});

describe('the audit trail and the cache both full', () => {
  it('says the answer could not be kept either, with the audit failure, not the raw cache error alone', async () => {
    const s = await fake();
    const dir = path.join(t.dir, 'both-full');
    mkdirSync(dir, { recursive: true });
    const clip = await makeTestVideo(path.join(dir, 'clip.mp4'), { seconds: 1, width: 160, height: 120, fps: 5 });
    const full = path.join(dir, 'audit.jsonl');
    symlinkSync('/dev/full', full);
    const config = configWith({ Paths: { DataDir: dir }, QwenVL: { PublicEndpoint: `${s.url}/v1`, BackoffMs: 5, RequestsPerMinute: 100_000 } });
    const cache = new ContentCache(path.join(dir, 'cache'));
    cache.put = () => {
      throw new Error('ENOSPC: no space left on device, write');
    };
    const video = makeRecord({ file: { path: clip, bytes: 1000, sha256: 'cd'.repeat(32) }, metadata: { durationSec: 1, container: 'mp4', bitRate: 1000, width: 160, height: 120, fps: 5, rotation: 0, videoCodec: 'h264', audio: null, containerTags: {} } });
    const run = createDescribeStage(config, { limiter: new RateLimiter(1_000_000) }).run(video, {
      config,
      logger: pino({ level: 'silent' }),
      tools: await MediaTools.resolve({ ffmpeg: 'auto', ffprobe: 'auto' }),
      cache,
      audit: new AuditLog(full),
      signal: new AbortController().signal,
      progress: () => undefined,
      cpu: (job) => job(),
    });
    await expect(run).rejects.toThrow(/^clip\.mp4: the model answered but its call could not be recorded: the audit trail \[Logging\] AuditFile .*audit\.jsonl cannot be written: ENOSPC.*; the answer could not be kept either \(ENOSPC: no space left on device, write\)$/);
    expect(s.requests).toHaveLength(1);
  });
});

describe('the audit trail writable again while the same process runs (a worker)', () => {
  it('refuses calls while it cannot be written, then sends and records them again without a restart', async () => {
    const data = path.join(t.dir, 'worker-like');
    const trailDir = path.join(data, 'trail');
    const audit = path.join(trailDir, 'audit.jsonl');
    const clip = (name: string, colour: string) => makeTestVideo(path.join(t.dir, `wl-${name}.mp4`), { seconds: 1, width: 160, height: 120, fps: 5, source: `color=c=${colour}` });
    const [red, green, blue] = [await clip('red', 'red'), await clip('green', 'green'), await clip('blue', 'blue')];
    let broken = false;
    const s = await fake({
      defaultReply: () => {
        // the trail's folder goes while the model is thinking (a file in its place: every write fails, as a full disk's)
        if (broken) {
          rmSync(trailDir, { recursive: true, force: true });
          writeFileSync(trailDir, '');
        }
        return reply.text('A plain colour card.');
      },
    });
    mkdirSync(data, { recursive: true });
    const app = new App(
      loadConfig({ env: {}, overrides: { 'Paths.DataDir': data, 'Logging.AuditFile': audit, 'Logging.AuditRetrySec': 0, 'QwenVL.PublicEndpoint': s.url, 'QwenVL.BackoffMs': 5, 'Concurrency.Ai': 1 } }),
      { logToFile: false },
    );
    try {
      broken = true;
      const first = await app.process([red, green]);
      expect(s.requests).toHaveLength(1);
      expect(first.failures.map((f) => f.error).join('\n')).toMatch(/no model call sent until it can be/);
      // the folder is back: the same App (a worker that was not restarted) sends and records the next call
      broken = false;
      rmSync(trailDir, { force: true });
      mkdirSync(trailDir);
      const second = await app.process([blue]);
      expect(second.failures).toEqual([]);
      expect(s.requests).toHaveLength(2);
      const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: string });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ status: 'ok' });
    } finally {
      await app.close();
    }
  });
});
