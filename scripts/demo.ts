/**
 * The main job, end to end, on the embedded default (SQLite, no server): makes a few short sample videos with
 * ffmpeg (the system one, or the npm-bundled one when the machine has none), runs `videodex process` over
 * them into ./videodex-data/, then prints a search and an export. Run: npm run demo
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MediaTools, runTool } from '../src/core/index.js';
import { CLI_NODE_FLAGS } from '../src/cli/node-flags.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const videos = path.join(root, 'demo-videos');
const dataDir = path.join(root, 'videodex-data');
const cli = path.join(root, 'dist/cli/main.js');

interface Sample {
  file: string;
  source: string;
  size: string;
  seconds: number;
  audio: boolean;
  title?: string;
}

const SAMPLES: Sample[] = [
  { file: 'holidays/beach_day_2024.mp4', source: 'testsrc2', size: '1280x720', seconds: 4, audio: true, title: 'Beach day with the family' },
  { file: 'work/office-meeting.mp4', source: 'smptebars', size: '640x360', seconds: 3, audio: false },
  { file: 'kitchen/CookingPasta.mp4', source: 'rgbtestsrc', size: '480x270', seconds: 2, audio: true, title: 'Cooking pasta' },
  { file: 'sports/skatePark_portrait.mp4', source: 'testsrc', size: '360x640', seconds: 3, audio: false },
];

function videodex(args: string[]): Promise<number> {
  process.stdout.write(`\n$ videodex ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    // the launcher's node flags, as `videodex` itself starts
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, cli, ...args], { stdio: 'inherit', cwd: root });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error('dist/ is missing: run npm ci (or npm run build) first');
  const tools = await MediaTools.resolve({ ffmpeg: 'auto', ffprobe: 'auto' });
  process.stdout.write(`ffmpeg: ${tools.ffmpeg.version} (${tools.ffmpeg.origin})\n`);
  for (const s of SAMPLES) {
    const out = path.join(videos, s.file);
    if (existsSync(out)) continue;
    mkdirSync(path.dirname(out), { recursive: true });
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `${s.source}=size=${s.size}:rate=25:duration=${s.seconds}`];
    if (s.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=330:duration=${s.seconds}`);
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
    if (s.audio) args.push('-c:a', 'aac', '-shortest');
    if (s.title) args.push('-metadata', `title=${s.title}`);
    await runTool(tools.ffmpeg.path, [...args, `${out}.part.mp4`], { timeoutMs: 120_000 });
    const { rename } = await import('node:fs/promises');
    await rename(`${out}.part.mp4`, out);
    process.stdout.write(`made ${path.relative(root, out)}\n`);
  }
  const dd = ['--data-dir', dataDir];
  const code = await videodex(['process', videos, ...dd]);
  if (code > 1) process.exit(code);
  await videodex(['search', 'beach', ...dd]);
  await videodex(['search', '--min-height', '360', '--sort', 'duration-desc', ...dd]);
  await videodex(['export', '--format', 'csv', '--fields', 'id,path,duration_sec,width,height,video_codec,audio_codec,tags', ...dd]);
  process.stdout.write(`\nDone. The library is in ${path.relative(root, dataDir)}/ (SQLite: videodex.db, log: videodex.log).\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(1);
});
