import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, describeError, findOnPath, INSTALL_HINTS, locateTool, maskSecret, MediaTools, toolVersion } from '../../core/index.js';
import { DAMAGED_LIBRARY_FIX } from '../../store/index.js';
import { BATCH_COMMANDS, CLI_NODE_FLAGS } from '../node-flags.js';
import { appFrom, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface Check {
  what: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export function registerDoctor(program: Command): void {
  withConfigOptions(program.command('doctor').description('check tools, config and database; say what is missing and how to install it'))
    .option('--json', 'as JSON')
    .option('--check-db', 'also read the whole library to find damage (SQLite quick_check; seconds per GB)')
    .action(async (flags: CommonFlags & { json?: boolean; checkDb?: boolean }) => {
      const app = appFrom(flags);
      const checks: Check[] = [];
      const nodeOk = Number(process.versions.node.split('.')[0]) >= 20;
      checks.push({
        what: 'node',
        ok: nodeOk,
        detail: `${process.version}; ${[...BATCH_COMMANDS].join(', ')} run with ${CLI_NODE_FLAGS.join(' ')}`,
        ...(nodeOk ? {} : { fix: 'install Node.js 20 or newer' }),
      });
      let tools: MediaTools | null = null;
      try {
        tools = await app.tools();
        for (const t of [tools.ffmpeg, tools.ffprobe]) {
          const old = t.year !== null && t.year < 2021;
          checks.push({
            what: t.name,
            ok: true,
            detail: `${t.version} (${t.origin}: ${t.path})${old ? `; an old ${t.year} build` : ''}`,
            ...(t.origin === 'bundled' ? { fix: `the npm-bundled build is used; for a newer one: ${INSTALL_HINTS[t.name]}` } : {}),
          });
        }
        const missing: string[] = [];
        // Only tools around videodex use these (it said "features needing them say so when used", which none did):
        // scene detection and keyframes need scale, setsar, yadif and tile, which every build has.
        for (const [filter, feature] of [['xfade', 'scripts/make-scene-testset.ts dissolves'], ['scdet', "the benchmark's scdet row, skipped without it"], ['signalstats', 'the brightness example plugin']] as const) {
          if (!(await tools.hasFilter(filter))) missing.push(`${filter} (${feature})`);
        }
        if (missing.length) {
          checks.push({ what: 'ffmpeg filters', ok: true, detail: `this ffmpeg lacks ${missing.join(', ')}; videodex's own stages do not need them`, fix: INSTALL_HINTS.ffmpeg });
        }
        // The bundled ffprobe crashes on MPEG-TS files: said here, before a run fails on each such video.
        if ((await tools.readsMpegTs()) === false) {
          checks.push({
            what: 'ffprobe MPEG-TS',
            ok: true,
            detail: `this ffprobe (${tools.ffprobe.origin}) crashes reading MPEG-TS files: .ts, .m2ts and .mts videos fail their probe`,
            fix: INSTALL_HINTS.ffprobe,
          });
        }
      } catch (e) {
        checks.push({ what: 'ffmpeg/ffprobe', ok: false, detail: describeError(e), fix: INSTALL_HINTS.ffmpeg });
      }
      const ytSetting = app.config.Sources.YtDlp;
      if (ytSetting === 'off') checks.push({ what: 'yt-dlp', ok: true, detail: 'off ([Sources] YtDlp = off)' });
      else {
        try {
          const loc = ytSetting === 'auto' ? findOnPath('yt-dlp') : locateTool('yt-dlp', ytSetting).path;
          if (!loc) checks.push({ what: 'yt-dlp', ok: true, detail: 'not found (only needed for video-site pages)', fix: INSTALL_HINTS['yt-dlp'] });
          else {
            const v = await toolVersion('yt-dlp', loc);
            checks.push({ what: 'yt-dlp', ok: true, detail: `${v.version} (${loc})` });
          }
        } catch (e) {
          checks.push({ what: 'yt-dlp', ok: false, detail: describeError(e), fix: INSTALL_HINTS['yt-dlp'] });
        }
      }
      checks.push({ what: 'config file', ok: true, detail: app.loaded.file ?? 'none (defaults, environment and flags)' });
      // Checked, not made: a doctor run with a mistyped --data-dir must not leave a folder and an empty library
      // behind that then pass every check.
      const dataDir = app.config.Paths.DataDir;
      const made = existsSync(dataDir);
      const writable = nearestFolder(dataDir);
      try {
        accessSync(writable, constants.W_OK);
        checks.push({ what: 'data folder', ok: true, detail: made ? dataDir : `${dataDir} (not there yet: the first process run makes it, in ${writable})` });
      } catch (e) {
        checks.push({ what: 'data folder', ok: false, detail: `${dataDir}: ${describeError(e)}`, fix: 'choose a writable folder with --data-dir or [Paths] DataDir' });
      }
      const db = app.config.Database;
      if (db.Backend === 'sqlite' && db.Path !== ':memory:' && !existsSync(db.Path)) {
        checks.push({ what: 'database', ok: true, detail: `sqlite (${db.Path}): no library there yet; videodex process <folder> makes it` });
      } else {
        let none = false;
        // which server and schema: a library on the wrong server or schema counts its videos all the same
        const where = db.Backend === 'sqlite' ? db.Path : db.Backend === 'postgres' ? `${maskSecret(db.Url)}, schema ${db.Schema}` : maskSecret(db.Url);
        try {
          // library(), not store(): a schema with no library is reported, not made
          const store = await app.library();
          const n = await store.count();
          checks.push({ what: 'database', ok: true, detail: `${store.kind} (${where}), ${n} video(s)${existsSync(app.config.Logging.File) ? `; log ${app.config.Logging.File}` : ''}` });
          if (app.config.Database.Backend === 'postgres') {
            const file = (store as { searchReplica?: { file: string } | null }).searchReplica?.file;
            const size = file && existsSync(file) ? `${Math.round(statSync(file).size / 1048576)} MB, brought up to date before each search` : 'made by the first search';
            checks.push({ what: 'search replica', ok: true, detail: file ? `${file} (${size})` : 'off: searches run in PostgreSQL ([Database] SearchReplica = false)' });
          }
        } catch (e) {
          none = e instanceof ConfigError && e.message.startsWith('no library at ');
          if (none) checks.push({ what: 'database', ok: true, detail: `${db.Backend} (${where}): no library there yet; videodex process <folder> (or videodex db migrate) makes it` });
          else checks.push({ what: 'database', ok: false, detail: describeError(e) });
        }
        if (flags.checkDb && !none) checks.push(await integrityCheck(app));
      }
      await app.close();
      if (flags.json) out(JSON.stringify({ ok: checks.every((c) => c.ok), checks }, null, 2));
      else {
        for (const c of checks) {
          out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what.padEnd(15)} ${c.detail}`);
          if (c.fix) out(`     ${''.padEnd(15)} → ${c.fix}`);
        }
      }
      process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
    });
}

/** `--check-db`: the store's own reading of every page, where it has one (SQLite). */
async function integrityCheck(app: ReturnType<typeof appFrom>): Promise<Check> {
  try {
    const store = await app.store();
    if (!store.checkIntegrity) return { what: 'database pages', ok: true, detail: `not checked: ${store.kind} checks its own storage` };
    const problems = await store.checkIntegrity();
    if (problems.length === 0) return { what: 'database pages', ok: true, detail: 'every page read back sound (quick_check)' };
    return {
      what: 'database pages',
      ok: false,
      detail: `damaged: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; ... (${problems.length} found)` : ''}`,
      fix: DAMAGED_LIBRARY_FIX,
    };
  } catch (e) {
    return { what: 'database pages', ok: false, detail: describeError(e), fix: DAMAGED_LIBRARY_FIX };
  }
}

/** The folder itself when it exists, else its nearest existing parent (where making it would need write access). */
function nearestFolder(dir: string): string {
  let at = path.resolve(dir);
  while (!existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}
