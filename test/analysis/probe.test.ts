import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideo, toVideoMetadata, parseRate } from '../../src/analysis/index.js';
import { findOnPath, locateTool, runTool, ToolError, UnsupportedMediaError } from '../../src/core/index.js';
import { makeTestVideo, tempDir, testFfmpeg } from '../helpers/media.js';

const ffprobe = findOnPath('ffprobe')!;
const t = tempDir();
afterAll(() => t.cleanup());
const f = (n: string) => path.join(t.dir, n);

beforeAll(async () => {
  await makeTestVideo(f('av.mp4'), { seconds: 2, width: 640, height: 360, fps: 30, audio: true, extra: ['-metadata', 'title=Sunny Beach'] });
  await makeTestVideo(f('silent.mp4'), { seconds: 1, width: 320, height: 240, fps: 25 });
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=30000/1001:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('ntsc.mp4')]);
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-i', f('silent.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', f('rotated.mp4')]);
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', f('audio.m4a')]);
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=160x120', '-frames:v', '1', f('cover.png')]);
  copyFileSync(f('cover.png'), f('image.mp4'));
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', '-i', f('cover.png'), '-map', '0', '-map', '1', '-c:a', 'aac', '-c:v', 'png', '-disposition:v:0', 'attached_pic', f('song-cover.m4a')]);
  const whole = readFileSync(f('av.mp4'));
  writeFileSync(f('truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 3)));
  // header first (faststart), then cut: the header promises 10 s that are not all there
  await makeTestVideo(f('faststart.mp4'), { seconds: 10, width: 320, height: 240, fps: 25, extra: ['-movflags', '+faststart'] });
  const fast = readFileSync(f('faststart.mp4'));
  writeFileSync(f('cut-short.mp4'), fast.subarray(0, Math.floor(fast.length * 0.4)));
  writeFileSync(f('text.mp4'), 'this is not a video\n');
  writeFileSync(f('empty.mp4'), '');
  copyFileSync(f('silent.mp4'), f('no-extension'));
  // a bell and an escape in the title, as a badly written file can carry
  await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-i', f('silent.mp4'), '-c', 'copy', '-metadata', 'title=Bell\u0007 and\u001b escape', '-metadata', 'comment=two\nlines', f('control.mp4')]);
});

describe('probe (real ffprobe)', () => {
  it('reads a video with audio: size, fps, codecs, duration, container tags', async () => {
    const m = await probeVideo(ffprobe, f('av.mp4'));
    expect(m.width).toBe(640);
    expect(m.height).toBe(360);
    expect(m.fps).toBe(30);
    expect(m.videoCodec).toBe('h264');
    expect(m.audio).toMatchObject({ codec: 'aac', channels: 1 });
    expect(m.durationSec).toBeGreaterThan(1.9);
    expect(m.durationSec).toBeLessThan(2.2);
    expect(m.containerTags.title).toBe('Sunny Beach');
    expect(m.bitRate).toBeGreaterThan(0);
    expect(m.frameCount).toBe(60);
  });

  it('drops control characters from container tags (PostgreSQL cannot store a NUL), keeping newlines', async () => {
    const m = await probeVideo(ffprobe, f('control.mp4'));
    expect(m.containerTags.title).toBe('Bell and escape');
    expect(m.containerTags.comment).toBe('two\nlines');
  });

  it('says null audio for a silent video, and reads fps from a rational', async () => {
    expect((await probeVideo(ffprobe, f('silent.mp4'))).audio).toBeNull();
    expect((await probeVideo(ffprobe, f('ntsc.mp4'))).fps).toBeCloseTo(29.97, 2);
    expect((await probeVideo(ffprobe, f('no-extension'))).width).toBe(320);
  });

  it('swaps width and height for a rotated video', async () => {
    const m = await probeVideo(ffprobe, f('rotated.mp4'));
    expect(m.rotation === 90 || m.rotation === 270).toBe(true);
    expect(m.width).toBe(240);
    expect(m.height).toBe(320);
  });

  it('rotation is the clockwise turn that shows the picture upright (the legacy rotate tag\'s sense)', async () => {
    // red on top of blue, stored; ffmpeg's autorotation shows it turned, and the record must say which way
    const file = f('halves.mp4');
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-filter_complex', 'color=c=red:s=160x60:d=1[a];color=c=blue:s=160x60:d=1[b];[a][b]vstack,format=yuv420p[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', f('halves-plain.mp4')]);
    for (const tag of ['90', '270']) {
      await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-i', f('halves-plain.mp4'), '-c', 'copy', '-metadata:s:v:0', `rotate=${tag}`, file]);
      const m = await probeVideo(ffprobe, file);
      const { stdout } = await runTool(testFfmpeg(), ['-loglevel', 'error', '-i', file, '-frames:v', '1', '-vf', 'format=rgb24,scale=2:2:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
      const leftIsRed = stdout[0]! > stdout[2]!;
      // turned clockwise, the top (red) goes to the right; counter-clockwise, to the left
      expect(m.rotation, `rotate=${tag} shown with red on the ${leftIsRed ? 'left' : 'right'}`).toBe(leftIsRed ? 270 : 90);
      expect([m.width, m.height]).toEqual([120, 160]);
    }
  });

  it('a file cut short after its header: duration and frames are what is there, and the header\'s promise is kept apart', async () => {
    const whole = await probeVideo(ffprobe, f('faststart.mp4'));
    expect(whole.truncated).toBeUndefined();
    expect(whole.frameCount).toBe(250);
    expect(whole.durationSec).toBe(10);
    const cut = await probeVideo(ffprobe, f('cut-short.mp4'));
    expect(cut.truncated).toEqual({ headerSec: 10, headerFrames: 250 });
    expect(cut.frameCount).toBeGreaterThan(0);
    expect(cut.frameCount).toBeLessThan(200);
    expect(cut.durationSec).toBeCloseTo(cut.frameCount! / 25, 2);
    // what decodes agrees with the frames recorded
    const { stdout } = await runTool(ffprobe, ['-v', 'quiet', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', f('cut-short.mp4')]);
    expect(Math.abs(Number(stdout.toString().trim()) - cut.frameCount!)).toBeLessThanOrEqual(2);
  });

  it.each([
    ['audio.m4a', /no video stream \(only audio\)/],
    ['song-cover.m4a', /^no video stream \(only audio, with cover art\)$/],
    ['image.mp4', /^content is an image \(png\), not a video$/],
    ['truncated.mp4', /not a readable video|no duration/],
    ['text.mp4', /not a readable video/],
    ['empty.mp4', /empty file \(0 bytes\)/],
  ])('refuses %s with a clear UnsupportedMediaError', async (name, message) => {
    const err = await probeVideo(ffprobe, f(name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('Matroska and WebM with no duration (written to a pipe, as a live recording or a browser\'s MediaRecorder): duration and frames from the packets, with both ffprobe builds', async () => {
    for (const [format, codec] of [['matroska', 'libx264'], ['webm', 'libvpx-vp9']] as const) {
      const { stdout } = await runTool(testFfmpeg(), ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=3', '-c:v', codec, ...(codec === 'libx264' ? ['-preset', 'ultrafast'] : ['-deadline', 'realtime', '-cpu-used', '8']), '-pix_fmt', 'yuv420p', '-f', format, 'pipe:1']);
      writeFileSync(f(`piped.${format}`), stdout);
      for (const probe of [ffprobe, locateTool('ffprobe', '', '').path]) {
        const m = await probeVideo(probe, f(`piped.${format}`));
        expect(m.frameCount, `${format} ${probe}`).toBe(75);
        expect(m.durationSec, `${format} ${probe}`).toBe(3);
        expect(m.bitRate, `${format} ${probe}`).toBeGreaterThan(0);
      }
    }
  });

  it('an MP4 cut with stream copy (an edit list starting the picture after its key frame): the frames that play, not every frame stored', async () => {
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', f('gop.mp4')]);
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-ss', '1.5', '-i', f('gop.mp4'), '-c', 'copy', f('copy-cut.mp4')]);
    const m = await probeVideo(ffprobe, f('copy-cut.mp4'));
    const { stdout } = await runTool(testFfmpeg(), ['-loglevel', 'error', '-i', f('copy-cut.mp4'), '-map', '0:v:0', '-vsync', 'passthrough', '-vf', 'scale=4:4', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
    const decoded = stdout.length / 16;
    expect(decoded).toBeLessThan(140);
    expect(m.frameCount).toBe(decoded);
    expect(m.durationSec).toBeCloseTo(decoded / 25, 1);
    expect(m.truncated).toBeUndefined();
  });

  it('a file written with a start offset (ffmpeg -output_ts_offset 5): duration is the length that plays, in Matroska, WebM, MP4 and MPEG-TS alike, and frames agree', async () => {
    // 4 s of picture, audio 23 ms ahead of it (AAC priming), all starting 5 s into the timeline
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=4', '-f', 'lavfi', '-i', 'sine=d=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', f('offset-src.mp4')]);
    for (const ext of ['mkv', 'mp4', 'ts', 'webm']) {
      const out = f(`offset.${ext}`);
      const codec = ext === 'webm' ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-an'] : ['-c', 'copy'];
      await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-i', f('offset-src.mp4'), ...codec, '-output_ts_offset', '5', out]);
      const m = await probeVideo(ffprobe, out);
      const lead = m.videoStartSec ?? 0;
      expect(lead, ext).toBeLessThan(0.05);
      expect(m.durationSec - lead, ext).toBeCloseTo(4, 1);
      expect(m.frameCount, ext).toBe(100);
    }
  });

  it('non-square pixels: the display width is the stored width stretched by the sample aspect ratio, before rotation', () => {
    const stream = { codec_type: 'video', codec_name: 'mpeg2video', width: 720, height: 480, avg_frame_rate: '30000/1001', r_frame_rate: '30000/1001' };
    const dvd = toVideoMetadata({ streams: [{ ...stream, sample_aspect_ratio: '32:27' }], format: { duration: '1' } });
    expect([dvd.width, dvd.height, dvd.sampleAspectRatio]).toEqual([853, 480, '32:27']);
    const turned = toVideoMetadata({ streams: [{ ...stream, sample_aspect_ratio: '32:27', tags: { rotate: '90' } }], format: { duration: '1' } });
    expect([turned.width, turned.height]).toEqual([480, 853]);
    for (const sar of ['1:1', '0:1', 'N/A', undefined]) {
      const square = toVideoMetadata({ streams: [{ ...stream, ...(sar ? { sample_aspect_ratio: sar } : {}) }], format: { duration: '1' } });
      expect([square.width, square.height, square.sampleAspectRatio], String(sar)).toEqual([720, 480, undefined]);
    }
  });

  it('bit depth: from bits_per_raw_sample, else from the pixel format (12-bit is 12, 8-bit VP9 is 8)', async () => {
    const depth = (pix_fmt: string, bits?: string) =>
      toVideoMetadata({ format: { duration: '1' }, streams: [{ codec_type: 'video', codec_name: 'vp9', width: 4, height: 2, pix_fmt, ...(bits ? { bits_per_raw_sample: bits } : {}) }] }).bitDepth;
    expect(['yuv420p12le', 'yuv444p12be', 'gbrp12le', 'gray12le', 'yuv420p10le', 'p010le', 'p016le', 'yuv420p', 'yuvj420p', 'nv12', 'rgb24', 'rgb48le', 'weird'].map((f) => depth(f)))
      .toEqual([12, 12, 12, 12, 10, 10, 16, 8, 8, 8, 8, 16, undefined]);
    expect(depth('yuv420p', '10')).toBe(10);
    for (const [pix, bits] of [['yuv420p12le', 12], ['yuv420p', 8]] as const) {
      const file = f(`vp9-${bits}.webm`);
      await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=0.4', '-c:v', 'libvpx-vp9', '-pix_fmt', pix, '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '100k', file]);
      expect((await probeVideo(ffprobe, file)).bitDepth, pix).toBe(bits);
    }
  });

  it('an ffprobe that crashes is reported as a crash of the tool, not as a corrupt file', async () => {
    const crashing = f('crashing-ffprobe');
    writeFileSync(crashing, '#!/bin/sh\nkill -SEGV $$\n');
    chmodSync(crashing, 0o755);
    const err = await probeVideo(crashing, f('silent.mp4'), { bundled: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).not.toBeInstanceOf(UnsupportedMediaError);
    expect((err as Error).message).toBe('ffprobe crashed (SIGSEGV) reading it; the bundled ffprobe cannot read this file: install ffmpeg (apt-get install -y ffmpeg)');
    expect(((await probeVideo(crashing, f('silent.mp4')).catch((e: unknown) => e)) as Error).message).toBe('ffprobe crashed (SIGSEGV) reading it');
  });

  it('the bundled 2018 ffprobe on MPEG-TS: reads it, or says it crashed', async () => {
    const ts = f('clip.ts');
    await runTool(testFfmpeg(), ['-loglevel', 'error', '-y', '-i', f('silent.mp4'), '-c', 'copy', '-f', 'mpegts', ts]);
    const bundled = locateTool('ffprobe', '', '').path;
    const result = await probeVideo(bundled, ts, { bundled: true }).catch((e: unknown) => e);
    if (result instanceof Error) expect(result.message).toMatch(/^ffprobe crashed \(SIG\w+\) reading it; the bundled ffprobe cannot read this file/);
    else expect((result as { width: number }).width).toBe(320);
  });

  it('maps display-matrix rotation and attached pictures from ffprobe JSON', () => {
    const m = toVideoMetadata({
      format: { format_name: 'mov', duration: '4' },
      streams: [
        { codec_type: 'video', codec_name: 'mjpeg', width: 10, height: 10, disposition: { attached_pic: 1 } },
        { codec_type: 'video', codec_name: 'hevc', width: 1920, height: 1080, avg_frame_rate: '60/1', r_frame_rate: '60/1', pix_fmt: 'yuv420p10le', side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] },
      ],
    });
    expect(m).toMatchObject({ videoCodec: 'hevc', width: 1080, height: 1920, rotation: 90, fps: 60, bitDepth: 10 });
    const tagged = (rotate: string) => toVideoMetadata({ format: { duration: '1' }, streams: [{ codec_type: 'video', width: 4, height: 2, tags: { rotate } }] }).rotation;
    expect([tagged('90'), tagged('270'), tagged('-90')]).toEqual([90, 270, 270]);
    expect(parseRate('0/0')).toBe(0);
  });
});
