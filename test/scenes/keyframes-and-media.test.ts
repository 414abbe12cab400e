import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SCENE_SETTINGS,
  detectScenes,
  extractKeyframes,
  probeStreamShape,
  probeVideo,
  scenesFromBoundaries,
  shapeFromMetadata,
  writeContactSheet,
} from '../../src/analysis/index.js';
import { findOnPath, runTool, UnsupportedMediaError } from '../../src/core/index.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';

const t = tempDir('videodex-keyframes-');
const ffmpeg = testFfmpeg();
const ffprobe = findOnPath('ffprobe')!;
const rgb = path.join(t.dir, 'rgb.mp4');

beforeAll(async () => {
  // red 0-24, green 25-49, blue 50-74 at 25 fps
  await runTool(ffmpeg, [
    '-loglevel', 'error', '-y',
    '-filter_complex', 'color=c=red:s=160x90:r=25:d=1[a];color=c=lime:s=160x90:r=25:d=1[b];color=c=blue:s=160x90:r=25:d=1[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]',
    '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '75', rgb,
  ]);
}, 120_000);
afterAll(() => t.cleanup());

/** The average colour of an image, via ffmpeg scaling it to one pixel. */
async function colourOf(file: string): Promise<[number, number, number]> {
  const { stdout } = await runTool(ffmpeg, ['-loglevel', 'error', '-i', file, '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  return [stdout[0]!, stdout[1]!, stdout[2]!];
}
/** The MP4 with moov's udta box moved before its trak boxes (moov at the end: no chunk offset moves). */
function udtaFirst(mp4: Buffer): Buffer {
  const boxes = (buf: Buffer, start: number, end: number) => {
    const out: Array<{ at: number; size: number; type: string }> = [];
    for (let at = start; at < end; ) {
      const size = buf.readUInt32BE(at);
      out.push({ at, size, type: buf.toString('latin1', at + 4, at + 8) });
      at += size;
    }
    return out;
  };
  const moov = boxes(mp4, 0, mp4.length).find((b) => b.type === 'moov')!;
  const kids = boxes(mp4, moov.at + 8, moov.at + moov.size);
  const rank = (type: string) => (type === 'mvhd' ? 0 : type === 'udta' ? 1 : 2);
  const sorted = [...kids].sort((a, b) => rank(a.type) - rank(b.type));
  const out = Buffer.from(mp4);
  Buffer.concat(sorted.map((k) => mp4.subarray(k.at, k.at + k.size))).copy(out, moov.at + 8);
  return out;
}
const dominant = (c: [number, number, number]) => (['red', 'green', 'blue'] as const)[c.indexOf(Math.max(...c))];

describe('keyframes', () => {
  const scenes = scenesFromBoundaries([25, 50].map((frame) => ({ frame, transition: 'cut' as const, score: 90 })), 75, 25);

  it('are seek-accurate at the first and the last frame of each scene', async () => {
    for (const position of ['start', 'end'] as const) {
      const dir = path.join(t.dir, `kf-${position}`);
      const files = await extractKeyframes({ ffmpeg, file: rgb, scenes, fps: 25, outDir: dir, position, width: 64, quality: 3, batch: 2 });
      expect(files.map((f) => path.basename(f))).toEqual(['scene-0001.jpg', 'scene-0002.jpg', 'scene-0003.jpg']);
      const colours = await Promise.all(files.map(colourOf));
      expect(colours.map(dominant)).toEqual(['red', 'green', 'blue']);
    }
  });

  it('writes a contact sheet of all keyframes in a grid, and leaves no .part files', async () => {
    const dir = path.join(t.dir, 'kf-sheet');
    await extractKeyframes({ ffmpeg, file: rgb, scenes, fps: 25, outDir: dir, position: 'middle', width: 64, quality: 3 });
    const sheet = await writeContactSheet({ ffmpeg, dir, count: 3, columns: 2, cellWidth: 64, quality: 3 });
    const { stdout } = await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', sheet]);
    // 2 columns x 2 rows of 64x36 cells, 4 px padding between and margin around
    expect(stdout.toString().trim()).toBe(`${2 * 64 + 4 + 8},${2 * 36 + 4 + 8}`);
    expect(existsSync(`${sheet}.part`)).toBe(false);
    // cells wider than the keyframes: the keyframes' own size, not enlarged
    const wide = await writeContactSheet({ ffmpeg, dir, count: 3, columns: 2, cellWidth: 320, quality: 3 });
    const size = (await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', wide])).stdout.toString().trim();
    expect(size).toBe(`${2 * 64 + 4 + 8},${2 * 36 + 4 + 8}`);
  });

  it('are made smaller to KeyframeWidth, never larger (a bigger keyframe only costs the model tokens), with both ffmpeg builds', async () => {
    const { locateTool } = await import('../../src/core/index.js');
    const widthOf = async (f: string) => Number((await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=width', '-of', 'csv=p=0', f])).stdout.toString().trim());
    for (const [name, bin] of [['system', ffmpeg], ['bundled', locateTool('ffmpeg', '', '').path]] as const) {
      const big = await extractKeyframes({ ffmpeg: bin, file: rgb, scenes, fps: 25, outDir: path.join(t.dir, `kf-wide-${name}`), position: 'middle', width: 4096, quality: 3 });
      const small = await extractKeyframes({ ffmpeg: bin, file: rgb, scenes, fps: 25, outDir: path.join(t.dir, `kf-narrow-${name}`), position: 'middle', width: 64, quality: 3 });
      const source = Number((await runTool(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width', '-of', 'csv=p=0', rgb])).stdout.toString().trim());
      expect(await widthOf(big[0]!), name).toBe(source);
      expect(await widthOf(small[0]!), name).toBe(64);
    }
  });

  it('in MPEG-TS and MPEG-PS, where input seeking is not frame-accurate, come from their own scene', async () => {
    for (const [format, ext] of [['mpegts', 'ts'], ['mpeg', 'mpg']] as const) {
      const file = path.join(t.dir, `rgb.${ext}`);
      await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', rgb, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '75', '-f', format, file]);
      const { stdout } = await runTool(ffprobe, ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'csv=p=0', file]);
      const container = stdout.toString().trim();
      for (const position of ['start', 'middle', 'end'] as const) {
        const files = await extractKeyframes({ ffmpeg, ffprobe, container, file, scenes, fps: 25, outDir: path.join(t.dir, `kf-${ext}-${position}`), position, width: 64, quality: 3 });
        expect((await Promise.all(files.map(colourOf))).map(dominant), `${ext} ${position}`).toEqual(['red', 'green', 'blue']);
      }
    }
  });

  it('of a video that starts after its file (audio first), in MP4, Matroska and MPEG-TS, come from their own scene', async () => {
    for (const ext of ['mp4', 'mkv', 'ts']) {
      // the video starts 2 s into the file; a sine plays from 0
      const file = path.join(t.dir, `late.${ext}`);
      await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-itsoffset', '2', '-i', rgb, '-f', 'lavfi', '-i', 'sine=d=5', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', file]);
      const metadata = await probeVideo(ffprobe, file);
      expect(metadata.videoStartSec, ext).toBeGreaterThan(1.9);
      expect(metadata.videoStartSec, ext).toBeLessThan(2.1);
      // frames count from the video's first frame: Matroska's resampling no longer prepends 2 s of its first frame
      const detected = await detectScenes({ ffmpeg, file, shape: shapeFromMetadata(metadata), settings: DEFAULT_SCENE_SETTINGS });
      expect(detected.frames, ext).toBe(75);
      expect(metadata.frameCount, ext).toBe(75);
      for (const position of ['start', 'middle', 'end'] as const) {
        const files = await extractKeyframes({ ffmpeg, ffprobe, container: metadata.container, videoStartSec: metadata.videoStartSec!, file, scenes, fps: 25, outDir: path.join(t.dir, `kf-late-${ext}-${position}`), position, width: 64, quality: 3 });
        expect((await Promise.all(files.map(colourOf))).map(dominant), `${ext} ${position}`).toEqual(['red', 'green', 'blue']);
      }
    }
    // a video starting with its file has no videoStartSec
    expect((await probeVideo(ffprobe, rgb)).videoStartSec).toBeUndefined();
  });

  it('of non-square pixels (DVD, HDV) have the shape players show, with both ffmpeg builds; square pixels keep their size', async () => {
    const { locateTool } = await import('../../src/core/index.js');
    const sizeOf = async (f: string) => (await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', f])).stdout.toString().trim();
    // 160x90 stored, pixels twice as wide as tall: shown 320x90
    const wide = path.join(t.dir, 'sar2.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', rgb, '-vf', 'setsar=2', '-c:v', 'libx264', '-preset', 'ultrafast', wide]);
    const metadata = await probeVideo(ffprobe, wide);
    expect([metadata.width, metadata.height, metadata.sampleAspectRatio]).toEqual([320, 90, '2:1']);
    for (const [name, bin] of [['system', ffmpeg], ['bundled', locateTool('ffmpeg', '', '').path]] as const) {
      const shown = await extractKeyframes({ ffmpeg: bin, file: wide, scenes, fps: 25, outDir: path.join(t.dir, `kf-sar-${name}`), position: 'middle', width: 480, quality: 3 });
      expect(await sizeOf(shown[0]!), name).toBe('320,90');
      const narrow = await extractKeyframes({ ffmpeg: bin, file: wide, scenes, fps: 25, outDir: path.join(t.dir, `kf-sar-narrow-${name}`), position: 'middle', width: 160, quality: 3 });
      expect(await sizeOf(narrow[0]!), name).toBe('160,46');
      const square = await extractKeyframes({ ffmpeg: bin, file: rgb, scenes, fps: 25, outDir: path.join(t.dir, `kf-square-${name}`), position: 'middle', width: 100, quality: 3 });
      expect(await sizeOf(square[0]!), name).toBe('100,56');
    }
  });

  it('of an MP4 whose cover picture is listed before its video (metadata before the tracks) show the video, with both ffmpeg builds', async () => {
    const { locateTool } = await import('../../src/core/index.js');
    const covered = path.join(t.dir, 'covered.mp4');
    const cover = path.join(t.dir, 'white.png');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=white:s=200x200', '-frames:v', '1', cover]);
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', rgb, '-i', cover, '-map', '0:v', '-map', '1:v', '-c:v:0', 'copy', '-c:v:1', 'png', '-disposition:v:1', 'attached_pic', covered]);
    // a legal layout other muxers write: udta (holding the cover) before the tracks, so ffmpeg lists the cover first
    const file = path.join(t.dir, 'cover-first.mp4');
    writeFileSync(file, udtaFirst(readFileSync(covered)));
    const { stdout } = await runTool(ffprobe, ['-v', 'error', '-show_entries', 'stream=index:stream_disposition=attached_pic', '-of', 'csv=p=0', file]);
    expect(stdout.toString().trim().split('\n')).toEqual(['0,1', '1,0']);
    const metadata = await probeVideo(ffprobe, file);
    expect(metadata.videoStreamIndex).toBe(1);
    const detected = await detectScenes({ ffmpeg, file, shape: shapeFromMetadata(metadata), settings: DEFAULT_SCENE_SETTINGS });
    expect(detected.frames).toBe(75);
    for (const [name, bin] of [['system', ffmpeg], ['bundled', locateTool('ffmpeg', '', '').path]] as const) {
      const files = await extractKeyframes({ ffmpeg: bin, file, streamIndex: metadata.videoStreamIndex!, scenes, fps: 25, outDir: path.join(t.dir, `kf-cover-${name}`), position: 'middle', width: 64, quality: 3 });
      expect((await Promise.all(files.map(colourOf))).map(dominant), name).toEqual(['red', 'green', 'blue']);
    }
    expect((await probeVideo(ffprobe, covered)).videoStreamIndex).toBeUndefined();
  });

  it('of a long-GOP video are taken in one decoding pass, not a seek per scene each decoding from its only key frame', async () => {
    const { locateTool, onePassIsCheaper } = { ...(await import('../../src/core/index.js')), ...(await import('../../src/analysis/index.js')) };
    // red, green, blue twice over, 25 frames each, one key frame (a screen recording's GOP)
    const file = path.join(t.dir, 'long-gop.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', rgb, '-i', rgb, '-filter_complex', '[0:v][1:v]concat=n=2:v=1:a=0[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-x264opts', 'keyint=1000:min-keyint=1000:scenecut=0', file]);
    const six = scenesFromBoundaries([25, 50, 75, 100, 125].map((frame) => ({ frame, transition: 'cut' as const, score: 90 })), 150, 25);
    const log = path.join(t.dir, 'ffmpeg-calls.log');
    for (const [name, bin] of [['system', ffmpeg], ['bundled', locateTool('ffmpeg', '', '').path]] as const) {
      // a wrapper that notes each run's arguments
      const wrapper = path.join(t.dir, `ffmpeg-${name}.sh`);
      writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> '${log}'\nexec '${bin}' "$@"\n`, { mode: 0o755 });
      for (const position of ['start', 'middle', 'end'] as const) {
        writeFileSync(log, '');
        const files = await extractKeyframes({ ffmpeg: wrapper, ffprobe, file, scenes: six, fps: 25, outDir: path.join(t.dir, `kf-gop-${name}-${position}`), position, width: 64, quality: 3 });
        expect((await Promise.all(files.map(colourOf))).map(dominant), `${name} ${position}`).toEqual(['red', 'green', 'blue', 'red', 'green', 'blue']);
        const runs = readFileSync(log, 'utf8').trim().split('\n');
        expect(runs, `${name} ${position}`).toHaveLength(1);
        expect(runs[0]).not.toMatch(/ -ss /);
      }
    }
    // a key frame every scene: seeking decodes little, and stays
    expect(onePassIsCheaper([12, 37, 62, 87], [0, 25, 50, 75])).toBe(false);
    expect(onePassIsCheaper([12, 37, 62, 87], [0])).toBe(true);
  });

  it('say which scene got no frame when a seek finds none, instead of failing on a missing file', async () => {
    const past = scenesFromBoundaries([{ frame: 25, transition: 'cut' as const, score: 90 }], 200, 25);
    const err = await extractKeyframes({ ffmpeg, file: rgb, scenes: past, fps: 25, outDir: path.join(t.dir, 'kf-past'), position: 'end', width: 64, quality: 3 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^ffmpeg wrote no keyframe for scene 2 \(frame 199, 7\.940 s\)/);
  });

  it('work with the 2018 bundled ffmpeg too', async () => {
    const { locateTool } = await import('../../src/core/index.js');
    const bundled = locateTool('ffmpeg', '', '').path;
    const files = await extractKeyframes({ ffmpeg: bundled, file: rgb, scenes, fps: 25, outDir: path.join(t.dir, 'kf-old'), position: 'start', width: 64, quality: 3 });
    expect((await Promise.all(files.map(colourOf))).map(dominant)).toEqual(['red', 'green', 'blue']);
    await writeContactSheet({ ffmpeg: bundled, dir: path.join(t.dir, 'kf-old'), count: 3, columns: 3, cellWidth: 64, quality: 3 });
  });
});

describe('awkward media', () => {
  const cutVideo = async (name: string, extra: string[] = [], vf = '') => {
    const file = path.join(t.dir, name);
    await runTool(ffmpeg, [
      '-loglevel', 'error', '-y',
      '-filter_complex', `testsrc2=s=320x180:r=25:d=1[a];smptehdbars=s=320x180:r=25:d=1[b];[a][b]concat=n=2:v=1:a=0${vf}[v]`,
      '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', ...extra, file,
    ]);
    return file;
  };
  const detect = async (file: string) => {
    const metadata = await probeVideo(ffprobe, file);
    return { metadata, result: await detectScenes({ ffmpeg, file, shape: shapeFromMetadata(metadata), settings: DEFAULT_SCENE_SETTINGS }) };
  };

  it('rotated: frames are read upright (display size) and the cut is found', async () => {
    const plain = await cutVideo('unrotated.mp4', ['-pix_fmt', 'yuv420p']);
    const file = path.join(t.dir, 'rotated.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file]);
    const { metadata, result } = await detect(file);
    expect([90, 270]).toContain(metadata.rotation);
    expect(result.height).toBeGreaterThan(result.width);
    expect(result.scenes.map((s) => s.startFrame)).toEqual([0, 25]);
  });

  it('10-bit: the cut is found', async () => {
    const file = await cutVideo('ten-bit.mp4', ['-pix_fmt', 'yuv420p10le']);
    const { result } = await detect(file);
    expect(result.scenes.map((s) => s.startFrame)).toEqual([0, 25]);
  });

  it('interlaced: the cut is found', async () => {
    const file = await cutVideo('interlaced.mp4', ['-pix_fmt', 'yuv420p', '-flags', '+ilme+ildct', '-x264opts', 'tff=1'], ',setfield=tff');
    const { metadata, result } = await detect(file);
    expect(metadata.interlaced).toBe(true);
    expect(result.scenes.map((s) => s.startFrame)).toEqual([0, 25]);
  });

  it('variable frame rate: the cut lands at its time', async () => {
    // 25 fps for a second, then 50 fps for a second
    const file = path.join(t.dir, 'vfr.mkv');
    await runTool(ffmpeg, [
      '-loglevel', 'error', '-y',
      '-filter_complex', 'testsrc2=s=320x180:r=25:d=1,settb=1/1000[a];smptehdbars=s=320x180:r=50:d=1,settb=1/1000[b];[a][b]concat=n=2:v=1:a=0[v]',
      '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-fps_mode', 'vfr', file,
    ]);
    const metadata = await probeVideo(ffprobe, file);
    // Matroska: ffprobe reports avg_frame_rate = r_frame_rate, so the probe cannot tell the rate varies
    for (const shape of [await probeStreamShape(ffprobe, file), shapeFromMetadata(metadata)]) {
      const result = await detectScenes({ ffmpeg, file, shape, settings: DEFAULT_SCENE_SETTINGS });
      expect(shape.fps).toBeGreaterThan(0);
      expect(result.scenes).toHaveLength(2);
      expect(result.scenes[1]!.startSec).toBeGreaterThan(0.85);
      expect(result.scenes[1]!.startSec).toBeLessThan(1.15);
    }
  });

  it('constant frame rate in Matroska: every frame read once (resampling to its own rate changes nothing)', async () => {
    const file = path.join(t.dir, 'ntsc.mkv');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=30000/1001:d=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    const { result } = await detect(file);
    expect(result.frames).toBe(240);
  });

  it('very short (under a second): one scene covering every frame', async () => {
    const file = await makeTestVideo(path.join(t.dir, 'short.mp4'), { seconds: 0.4, width: 160, height: 90 });
    const { result } = await detect(file);
    expect(result.frames).toBe(10);
    expect(result.scenes).toEqual([expect.objectContaining({ startFrame: 0, endFrame: 10, transition: 'start' })]);
  });

  it.each([
    ['fade out, then black to the end', ['-f', 'lavfi', '-i', 'smptebars=s=160x120:r=25:d=3', '-vf', 'fade=t=out:st=1:d=1']],
    ['fade out on the last frames', ['-f', 'lavfi', '-i', 'smptebars=s=160x120:r=25:d=2', '-vf', 'fade=t=out:st=1:d=1']],
    ['black, then fade in', ['-filter_complex', 'color=c=black:s=160x120:r=25:d=1[a];smptebars=s=160x120:r=25:d=2,fade=t=in:st=0:d=1[b];[a][b]concat=n=2:v=1:a=0[v]', '-map', '[v]']],
  ])('%s: one scene (black at the very start or end is no boundary, nor are its ramps)', async (name, input) => {
    const file = path.join(t.dir, `edge-${name.replace(/\W+/g, '-')}.mp4`);
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', ...input, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    const { result } = await detect(file);
    expect(result.scenes.map((s) => [s.startFrame, s.transition])).toEqual([[0, 'start']]);
  });

  it('one black frame in a shot (a dropped frame, a blink) is a flash, not a fade through black; a cut through two black frames to a new shot is one boundary', async () => {
    const glitch = path.join(t.dir, 'black-frame.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=4', '-vf', "drawbox=c=black:t=fill:enable='eq(n,50)'", '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', glitch]);
    expect((await detect(glitch)).result.scenes.map((s) => s.startFrame)).toEqual([0]);
    const dip = path.join(t.dir, 'dip-to-black.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-filter_complex', 'testsrc2=s=160x120:r=25:d=2[a];color=c=black:s=160x120:r=25:d=0.08[b];smptebars=s=160x120:r=25:d=2[c];[a][b][c]concat=n=3:v=1:a=0[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', dip]);
    const scenes = (await detect(dip)).result.scenes;
    expect(scenes.map((s) => s.transition)).toEqual(['start', 'fade']);
    expect(scenes[1]!.startFrame).toBeGreaterThanOrEqual(50);
    expect(scenes[1]!.startFrame).toBeLessThanOrEqual(52);
  });

  it('a white flash on the very last frame (the picture never returns) is no one-frame scene of its own', async () => {
    const file = path.join(t.dir, 'flash-at-end.mp4');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=2', '-vf', "drawbox=c=white:t=fill:enable='eq(n,49)'", '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    const { result } = await detect(file);
    expect(result.scenes.map((s) => [s.startFrame, s.endFrame])).toEqual([[0, 50]]);
  });

  it('no video stream: a clear error', async () => {
    const file = path.join(t.dir, 'song.m4a');
    await runTool(ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', file]);
    await expect(probeStreamShape(ffprobe, file)).rejects.toThrow(UnsupportedMediaError);
    expect(() => shapeFromMetadata(null)).toThrow(/no video stream/);
  });
});
