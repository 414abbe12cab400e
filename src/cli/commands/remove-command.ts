import type { Command } from 'commander';
import { ConfigError } from '../../core/index.js';
import { queryTree } from '../../store/index.js';
import { removeStrayFiles, removeVideos, STRAY_MIN_AGE_MS } from '../../workflow/index.js';
import { queryFromFlags, withSearchFlags, type SearchFlags } from '../search-flags.js';
import { appFrom, err, out, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface RemoveFlags extends SearchFlags, CommonFlags {
  missing?: boolean;
  media?: boolean;
  strays?: boolean;
  strayAge?: string;
  all?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerRemove(program: Command): void {
  withSearchFlags(
    withConfigOptions(
      program
        .command('remove')
        .alias('rm')
        .description('remove matching videos from the library (records and keyframes; --media also deletes downloaded files)')
        .argument('[query...]', 'as for search; id:<id> names one video'),
    ),
  )
    .option('--missing', 'only videos whose file is gone (prune after moving or deleting files); one still at another path it lists is re-pointed there, not removed')
    .option('--media', 'also delete the media files videodex downloaded, copied or linked into MediaDir (never your own files)')
    .option('--strays', 'instead of records: delete the files in MediaDir and the keyframe folders that no record names (left by a run killed between its file and its record)')
    .option('--stray-age <minutes>', 'with --strays: only those unchanged for this long (a run may be about to record a newer one)', String(STRAY_MIN_AGE_MS / 60_000))
    .option('--all', 'allow removing with no query: every record (or every missing one with --missing)')
    .option('--dry-run', 'list what would be removed, change nothing')
    .option('--json', 'the summary as JSON on stdout')
    .action(async (words: string[], flags: RemoveFlags) => {
      if (flags.strays) return removeStrays(words, flags);
      const q = queryFromFlags(words.join(' '), flags);
      // a query of only sort:, limit: or cursor words names no record: it would mean every one
      const selective = queryTree(q).where !== null;
      if (!selective && !flags.all && !flags.missing) {
        throw new ConfigError('remove: give a query or filter flags naming what to remove, or --all (or --missing) to mean every record');
      }
      const app = appFrom(flags);
      try {
        const summary = await removeVideos({
          store: await app.library(),
          config: app.config,
          query: q,
          missingOnly: Boolean(flags.missing),
          deleteMedia: Boolean(flags.media),
          dryRun: Boolean(flags.dryRun),
        });
        for (const r of summary.removed) {
          err(`${summary.dryRun ? 'would remove' : 'removed'} ${r.id} ${r.path}${r.fileChanged ? ' (file replaced: another video is there now)' : r.fileExists ? '' : ' (file missing)'}${r.keptBecause ? `; file kept: ${r.keptBecause}` : ''}`);
        }
        for (const r of summary.repointed) {
          err(`${summary.dryRun ? 'would re-point' : 're-pointed'} ${r.id} ${r.from} -> ${r.to} (file missing; the same video is still there)`);
        }
        if (flags.json) out(JSON.stringify(summary));
        const mb = (summary.bytesFreed / 1e6).toFixed(1);
        const repointed = summary.repointed.length ? `; ${summary.dryRun ? 'would re-point' : 're-pointed'} ${summary.repointed.length} to a copy still on disk` : '';
        err(`videodex: ${summary.dryRun ? '(dry run) would remove' : 'removed'} ${summary.removed.length} video(s)${flags.media ? `, ${mb} MB of media` : ''}${repointed}`);
      } finally {
        await app.close();
      }
    });
}

async function removeStrays(words: string[], flags: RemoveFlags): Promise<void> {
  // the strays are what no record names: a query, or a flag about records, would mean something else
  if (words.length > 0 || flags.missing || flags.media || flags.all) throw new ConfigError('remove --strays takes no query and no --missing, --media or --all: it removes files no record names');
  const minutes = Number(flags.strayAge);
  if (!Number.isFinite(minutes) || minutes < 0) throw new ConfigError(`remove: --stray-age must be a number of minutes (0 or more), not "${flags.strayAge}"`);
  const app = appFrom(flags);
  try {
    const summary = await removeStrayFiles({ store: await app.library(), config: app.config, dryRun: Boolean(flags.dryRun), minAgeMs: minutes * 60_000 });
    for (const s of summary.removed) err(`${summary.dryRun ? 'would remove' : 'removed'} stray ${s.kind === 'media' ? 'file' : 'keyframe folder'} ${s.path} (${(s.bytes / 1e6).toFixed(1)} MB)`);
    if (flags.json) out(JSON.stringify(summary));
    const recent = summary.tooRecent ? `; ${summary.tooRecent} changed in the last ${minutes} minute(s) kept (--stray-age)` : '';
    err(`videodex: ${summary.dryRun ? '(dry run) would remove' : 'removed'} ${summary.removed.length} stray file(s) and folder(s), ${(summary.bytesFreed / 1e6).toFixed(1)} MB${recent}`);
  } finally {
    await app.close();
  }
}
