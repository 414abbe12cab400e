import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { locateTool } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { PAGE_SIZE } from '../../src/store/sqlite/sqlite-store.js';
import { fixtureVideos } from '../store/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

const t = tempDir('videodex-doctor-');
afterAll(() => t.cleanup());

type Check = { what: string; ok: boolean; detail: string };
const checksOf = (stdout: string) => JSON.parse(stdout).checks as Check[];

describe('videodex doctor', () => {
  it('checks a data folder that is not there yet without making it, or an empty library in it', async () => {
    const dir = path.join(t.dir, 'typo', 'data');
    const r = await runCli(['doctor', '--json', '--data-dir', dir]);
    const checks = checksOf(r.stdout);
    expect(checks.find((c) => c.what === 'data folder')).toMatchObject({ ok: true, detail: `${dir} (not there yet: the first process run makes it, in ${t.dir})` });
    expect(checks.find((c) => c.what === 'database')).toMatchObject({ ok: true, detail: `sqlite (${path.join(dir, 'videodex.db')}): no library there yet; videodex process <folder> makes it` });
    expect(existsSync(path.join(t.dir, 'typo'))).toBe(false);
  });

  it('--check-db reads every page: a damaged page that count() never reads fails it, naming the damage (exit 1)', async () => {
    const data = path.join(t.dir, 'checked');
    const file = path.join(data, 'videodex.db');
    const store = new SqliteStore(file);
    await store.migrate();
    const videos = fixtureVideos();
    for (let i = 0; i < 20; i++) await store.upsertMany(videos.map((v) => ({ ...v, id: `${v.id}-${i}` })));
    await store.close();
    const sound = await runCli(['doctor', '--json', '--check-db', '--data-dir', data]);
    expect(checksOf(sound.stdout).find((c) => c.what === 'database pages')).toMatchObject({ ok: true, detail: 'every page read back sound (quick_check)' });
    // a leaf page of the documents overwritten, as a disk fault might: counting reads other pages and still works
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(file, { readonly: true });
    const leaf = raw.prepare("SELECT pageno FROM dbstat WHERE name = 'video_docs' AND pagetype = 'leaf' ORDER BY pageno DESC LIMIT 1").pluck().get() as number;
    raw.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(PAGE_SIZE, 0x5a), 0, PAGE_SIZE, (leaf - 1) * PAGE_SIZE);
    closeSync(fd);
    const plain = await runCli(['doctor', '--json', '--data-dir', data]);
    expect(checksOf(plain.stdout).find((c) => c.what === 'database')).toMatchObject({ ok: true });
    const damaged = await runCli(['doctor', '--json', '--check-db', '--data-dir', data]);
    expect(damaged.code).toBe(1);
    const pages = checksOf(damaged.stdout).find((c) => c.what === 'database pages')!;
    expect(pages.ok).toBe(false);
    expect(pages.detail).toMatch(/^damaged: /);
  });

  it('names what the filters an old ffmpeg lacks are for, and promises no message it never gives', async () => {
    const config = path.join(t.dir, 'bundled.ini');
    writeFileSync(config, `[Paths]\nDataDir = ${path.join(t.dir, 'bundled-data')}\nFfmpeg = ${locateTool('ffmpeg', '', '').path}\n`);
    const r = await runCli(['doctor', '--json', '--config', config]);
    const filters = checksOf(r.stdout).find((c) => c.what === 'ffmpeg filters');
    expect(filters?.detail).toMatch(/^this ffmpeg lacks xfade \(scripts\/make-scene-testset\.ts dissolves\), scdet \(the benchmark's scdet row, skipped without it\); videodex's own stages do not need them$/);
  });

  it('says the bundled ffprobe crashes on MPEG-TS files (their probe fails), and says nothing of it for a system ffprobe that reads them', async () => {
    const config = path.join(t.dir, 'bundled-probe.ini');
    writeFileSync(config, `[Paths]\nDataDir = ${path.join(t.dir, 'bundled-probe-data')}\nFfprobe = ${locateTool('ffprobe', '', '').path}\n`);
    const bundled = checksOf((await runCli(['doctor', '--json', '--config', config])).stdout).find((c) => c.what === 'ffprobe MPEG-TS');
    expect(bundled?.detail).toBe('this ffprobe (config) crashes reading MPEG-TS files: .ts, .m2ts and .mts videos fail their probe');
    const system = checksOf((await runCli(['doctor', '--json', '--data-dir', path.join(t.dir, 'system-data')])).stdout);
    expect(system.find((c) => c.what === 'ffprobe MPEG-TS')).toBeUndefined();
  });
});
