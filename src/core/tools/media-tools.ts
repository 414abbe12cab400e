import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ToolError } from '../errors.js';
import { INSTALL_HINTS, runTool } from './run-tool.js';

export type ToolName = 'ffmpeg' | 'ffprobe' | 'yt-dlp';
export type ToolOrigin = 'system' | 'bundled' | 'config';

export interface ToolInfo {
  name: ToolName;
  path: string;
  origin: ToolOrigin;
  /** First line of `-version`, e.g. "ffmpeg version 5.1.6". */
  version: string;
  /** Year of the build, when the banner says (the bundled ffmpeg is a 2018 build). */
  year: number | null;
}

const BUNDLED_PACKAGE: Partial<Record<ToolName, string>> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

/** Finds an executable on PATH, without a shell. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

function bundledPath(name: ToolName): string | null {
  const pkg = BUNDLED_PACKAGE[name];
  if (!pkg) return null;
  try {
    const required = createRequire(import.meta.url)(pkg) as { path?: string };
    if (required.path) {
      accessSync(required.path, constants.X_OK);
      return required.path;
    }
  } catch {
    // package absent or binary not executable
  }
  return null;
}

/**
 * Locates a tool: an explicit path from config, else the system's (newer builds, preferred), else the
 * binary shipped inside an npm package. Throws ToolError with the install command when none is found.
 */
export function locateTool(name: ToolName, setting: string, envPath?: string): { path: string; origin: ToolOrigin } {
  if (setting && setting !== 'auto') {
    try {
      accessSync(setting, constants.X_OK);
    } catch (err) {
      throw new ToolError(`${name} not found at ${setting} (from config); install it: ${INSTALL_HINTS[name]}`, { command: setting }, { cause: err, code: 'E_TOOL_MISSING' });
    }
    return { path: setting, origin: 'config' };
  }
  const system = findOnPath(name, envPath);
  if (system) return { path: system, origin: 'system' };
  const bundled = bundledPath(name);
  if (bundled) return { path: bundled, origin: 'bundled' };
  throw new ToolError(`${name} not found on PATH nor bundled; install it: ${INSTALL_HINTS[name]}`, { command: name }, { code: 'E_TOOL_MISSING' });
}

export async function toolVersion(name: ToolName, file: string): Promise<{ version: string; year: number | null }> {
  const args = name === 'yt-dlp' ? ['--version'] : ['-hide_banner', '-version'];
  const { stdout } = await runTool(file, args, { timeoutMs: 20_000 });
  const text = stdout.toString('utf8');
  const first = text.split('\n')[0]?.trim() ?? '';
  const copyright = /Copyright \(c\) \d{4}-(\d{4})/.exec(text);
  const ytYear = name === 'yt-dlp' ? /^(\d{4})\./.exec(first) : null;
  const year = copyright ? Number(copyright[1]) : ytYear ? Number(ytYear[1]) : null;
  return { version: name === 'yt-dlp' ? `yt-dlp ${first}` : first.replace(/\s+Copyright.*$/, ''), year };
}

/** The resolved ffmpeg and ffprobe, with versions, and a check for filters the old bundled build lacks. */
export class MediaTools {
  private filters: Promise<Set<string>> | null = null;

  constructor(
    readonly ffmpeg: ToolInfo,
    readonly ffprobe: ToolInfo,
  ) {}

  static async resolve(settings: { ffmpeg: string; ffprobe: string }, envPath?: string): Promise<MediaTools> {
    const info = async (name: 'ffmpeg' | 'ffprobe', setting: string): Promise<ToolInfo> => {
      const loc = locateTool(name, setting, envPath);
      const v = await toolVersion(name, loc.path);
      return { name, ...loc, ...v };
    };
    const [ffmpeg, ffprobe] = await Promise.all([info('ffmpeg', settings.ffmpeg), info('ffprobe', settings.ffprobe)]);
    return new MediaTools(ffmpeg, ffprobe);
  }

  /** Whether ffmpeg has a filter (e.g. scdet and xfade are missing from the 2018 bundled build). */
  async hasFilter(name: string): Promise<boolean> {
    this.filters ??= runTool(this.ffmpeg.path, ['-hide_banner', '-filters'], { timeoutMs: 20_000 }).then(({ stdout }) => {
      const set = new Set<string>();
      for (const line of stdout.toString('utf8').split('\n')) {
        const m = /^\s*[.A-Z|]{3}\s+(\S+)\s/.exec(line);
        if (m) set.add(m[1]!);
      }
      return set;
    });
    return (await this.filters).has(name);
  }

  /**
   * Whether ffprobe reads an MPEG-TS file without crashing: the npm-bundled ffprobe dies (SIGSEGV) on all but the
   * tiniest, so .ts, .m2ts and .mts videos fail their probe. Tried on a second of 16x16 frames ffmpeg writes to a
   * temporary folder (one frame does not crash it); null when that file cannot be made (nothing known).
   */
  async readsMpegTs(): Promise<boolean | null> {
    const dir = mkdtempSync(path.join(tmpdir(), 'videodex-ts-check-'));
    const file = path.join(dir, 'check.ts');
    try {
      try {
        await runTool(this.ffmpeg.path, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=16x16:r=25', '-frames:v', '25', '-c:v', 'mpeg2video', '-f', 'mpegts', file], { timeoutMs: 20_000 });
      } catch {
        return null;
      }
      try {
        await runTool(this.ffprobe.path, ['-v', 'error', '-show_format', '--', file], { timeoutMs: 20_000 });
        return true;
      } catch (err) {
        return !(err instanceof ToolError && err.signal);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Throws a clear ToolError when a feature needs a filter the resolved ffmpeg lacks. */
  async requireFilter(name: string, feature: string): Promise<void> {
    if (!(await this.hasFilter(name))) {
      throw new ToolError(
        `${feature} needs ffmpeg's ${name} filter, which ${this.ffmpeg.version} (${this.ffmpeg.origin}) lacks; install a newer ffmpeg: ${INSTALL_HINTS.ffmpeg}`,
        { command: this.ffmpeg.path },
        { code: 'E_TOOL_FEATURE' },
      );
    }
  }
}
