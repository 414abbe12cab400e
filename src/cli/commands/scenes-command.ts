import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { detectScenes, probeVideo, scenesToCsv, sceneSettingsFrom, shapeFromMetadata } from '../../analysis/index.js';
import { AppError, ConfigError, UnsupportedMediaError } from '../../core/index.js';
import { outputTarget } from '../output-target.js';
import { appFrom, err, number, withConfigOptions, type CommonFlags } from '../shared-options.js';

interface ScenesFlags extends CommonFlags {
  csv?: boolean;
  json?: boolean;
  output?: string;
  skipCuts?: boolean;
  detector?: string;
  threshold?: number;
  sceneThreshold?: number;
  minSceneLen?: string;
  adaptiveThreshold?: number;
  fadeThreshold?: number;
  fades?: boolean;
  dissolves?: boolean;
  quiet?: boolean;
}

/**
 * Flags that contradict each other or do nothing without another: refused before any work (a ConfigError,
 * exit code 3, like every other flag combination a command cannot honour) rather than one silently winning.
 */
function checkScenesFlags(flags: ScenesFlags): void {
  if (flags.csv && flags.json) throw new ConfigError('scenes: --csv and --json cannot be used together (choose one output format)');
  if (flags.threshold !== undefined && flags.sceneThreshold !== undefined && flags.threshold !== flags.sceneThreshold) {
    throw new ConfigError(`scenes: --threshold ${flags.threshold} and --scene-threshold ${flags.sceneThreshold} conflict (--scene-threshold is the same setting as --threshold; give one)`);
  }
  if (flags.skipCuts && !flags.csv) throw new ConfigError('scenes: --skip-cuts needs --csv (it drops the timecode row of the CSV)');
}

/**
 * `videodex scenes <video>`: detect scenes in one file without touching the library; PySceneDetect's
 * `list-scenes` CSV (`--csv`), the scene list as JSON (`--json`) or a short table.
 */
export function registerScenes(program: Command): void {
  withConfigOptions(
    program
      .command('scenes')
      .description('detect the scenes of one video file and print them (PySceneDetect list-scenes CSV with --csv)')
      .argument('<video>', 'a video file'),
    // scenes reads no library: `--out scenes.csv` (as export takes it) was the data folder, and the CSV went to stdout
    { outIsDataDir: false },
  )
    .option('--csv', "PySceneDetect's list-scenes CSV columns (not with --json)")
    .option('--json', 'the scene list as JSON (not with --csv)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--out <file>', 'same as --output')
    .option('--skip-cuts', 'with --csv: no leading "Timecode List:" row (plain RFC 4180)')
    .option('--detector <kind>', 'content, adaptive or threshold ([SceneDetection] Detector)')
    .option('--threshold <n>', 'content threshold, PySceneDetect scale 0-255 ([SceneDetection] Threshold)', number)
    .option('--scene-threshold <n>', 'same as --threshold (both with different values is an error)', number)
    .option('--min-scene-len <len>', 'frames ("15") or seconds ("0.6s") ([SceneDetection] MinSceneLen)')
    .option('--adaptive-threshold <n>', 'adaptive ratio ([SceneDetection] AdaptiveThreshold)', number)
    .option('--fade-threshold <n>', 'black level for fades; 255 minus it is the white level ([SceneDetection] FadeThreshold)', number)
    .option('--no-fades', 'do not look for fades through black or white ([SceneDetection] DetectFades)')
    .option('--no-dissolves', 'do not look for cross-dissolves ([SceneDetection] DetectDissolves)')
    .option('-q, --quiet', 'no summary on stderr')
    .action(async (video: string, flags: ScenesFlags) => {
      checkScenesFlags(flags);
      if (flags.out !== undefined && flags.output !== undefined && flags.out !== flags.output) {
        throw new ConfigError(`scenes: --out ${flags.out} and --output ${flags.output} conflict (--out is the same as --output; give one)`);
      }
      flags.output ??= flags.out;
      // checked before the detection: the rename at the end failed with a raw EISDIR and left <output>.part behind
      if (flags.output !== undefined && outputTarget(flags.output).kind === 'folder') {
        throw new ConfigError(`scenes: --output ${flags.output} is a folder, not a file`);
      }
      const app = appFrom({ ...flags, outIsFile: true }, {
        'SceneDetection.Detector': flags.detector,
        'SceneDetection.Threshold': flags.threshold ?? flags.sceneThreshold,
        'SceneDetection.MinSceneLen': flags.minSceneLen,
        'SceneDetection.AdaptiveThreshold': flags.adaptiveThreshold,
        'SceneDetection.FadeThreshold': flags.fadeThreshold,
        'SceneDetection.DetectFades': flags.fades === false ? false : undefined,
        'SceneDetection.DetectDissolves': flags.dissolves === false ? false : undefined,
      }, { flagNames: { 'SceneDetection.Threshold': flags.threshold !== undefined ? '--threshold' : '--scene-threshold' } });
      const name = path.basename(video);
      try {
        if (!existsSync(video)) throw new AppError('E_NOT_FOUND', `${name}: no such file`);
        const tools = await app.tools();
        let result;
        let fps: number;
        let videoStartSec: number | undefined;
        try {
          const metadata = await probeVideo(tools.ffprobe.path, video, { bundled: tools.ffprobe.origin === 'bundled' });
          const shape = shapeFromMetadata(metadata);
          fps = shape.fps;
          videoStartSec = metadata.videoStartSec;
          result = await detectScenes({ ffmpeg: tools.ffmpeg.path, file: video, shape, settings: sceneSettingsFrom(app.config) });
        } catch (e) {
          // the input could not be read (corrupt, not a video): the one input failed (exit 1); a missing tool stays fatal
          if ((e instanceof UnsupportedMediaError || e instanceof AppError) && e.code !== 'E_TOOL_MISSING') throw new AppError('E_INPUT_FAILED', `${name}: ${e.message}`, { cause: e });
          throw e;
        }
        let text: string;
        if (flags.csv) text = scenesToCsv(result.scenes, fps, { includeCutList: !flags.skipCuts });
        // times count from the video's first frame: where it starts after the file, seeking the file needs the lead
        else if (flags.json) text = JSON.stringify({ video: path.resolve(video), fps, frames: result.frames, ...(videoStartSec ? { videoStartSec } : {}), scenes: result.scenes }, null, 2) + '\n';
        else {
          text = result.scenes
            .map((s) => `${String(s.index + 1).padStart(4)}  ${s.startSec.toFixed(3).padStart(10)}s  ${s.endSec.toFixed(3).padStart(10)}s  ${String(s.endFrame - s.startFrame).padStart(6)} frames  ${s.transition}${s.index ? ` ${s.score}` : ''}`)
            .join('\n') + '\n';
        }
        const out = flags.output ? outputTarget(flags.output) : undefined;
        if (flags.output && out?.kind === 'special') {
          writeFileSync(flags.output, text);
        } else if (flags.output) {
          const target = out?.kind === 'file' ? out.path : flags.output;
          const part = `${target}.part`;
          try {
            mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
            writeFileSync(part, text);
            renameSync(part, target);
          } catch (e) {
            try {
              rmSync(part, { force: true });
            } catch {
              // no .part could be made there either
            }
            throw new AppError('E_OUTPUT', `scenes: cannot write ${flags.output}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' || (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'a file is in the way of its folder' : (e as Error).message}`);
          }
        } else process.stdout.write(text);
        if (!flags.quiet) {
          const secs = result.ms / 1000;
          err(`${name}: ${result.scenes.length} scene${result.scenes.length === 1 ? '' : 's'}, ${result.frames} frames in ${secs.toFixed(1)} s (${Math.round(result.frames / Math.max(secs, 0.001))} fps)`);
        }
      } finally {
        await app.close();
      }
    });
}
