import { describe, expect, it } from 'vitest';
import { BandwidthLimiter } from '../../src/sources/bandwidth-limiter.js';
import { sniffNotVideo, videoSignature } from '../../src/sources/content-sniff.js';
import { contentDispositionName, safeFileName } from '../../src/sources/media-names.js';
import { backoffMs, parseRetryAfter } from '../../src/sources/retry-policy.js';
import { readInputList } from '../../src/sources/expand-inputs.js';
import { toAcquireError } from '../../src/sources/http-download.js';
import { bestVariant, dashFacts, isLivePlaylist, isoDurationSec, masterVariants } from '../../src/sources/hls-playlist.js';

describe('retry policy', () => {
  it('backs off exponentially with jitter, capped at 60 s', () => {
    expect(backoffMs(0, 1000, () => 0)).toBe(500);
    expect(backoffMs(0, 1000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, () => 0.5)).toBe(6000);
    expect(backoffMs(20, 1000, () => 1)).toBe(60_000);
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('1')).toBe(1000);
    expect(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000)).toBe(5000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });
});

describe('file names', () => {
  it('never leave the folder and stay usable', () => {
    expect(safeFileName('/etc/passwd')).toBe('passwd');
    expect(safeFileName('..\\..\\boot.ini')).toBe('boot.ini');
    expect(safeFileName('nul')).toBe('_nul');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('   ')).toBe('video');
    const long = safeFileName(`${'é'.repeat(300)}.mp4`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(180);
    expect(long.endsWith('.mp4')).toBe(true);
  });
  it('parse Content-Disposition, filename* first', () => {
    expect(contentDispositionName(`attachment; filename="a.mp4"; filename*=UTF-8''%E6%B5%B7.mp4`)).toBe('海.mp4');
    expect(contentDispositionName('attachment; filename="say \\"hi\\".mp4"')).toBe('say "hi".mp4');
    expect(contentDispositionName('inline; filename=clip.webm')).toBe('clip.webm');
    expect(contentDispositionName('inline')).toBeNull();
  });
});

describe('content sniffing', () => {
  it('recognises pages, JSON and manifests, not video bytes', () => {
    expect(sniffNotVideo(Buffer.from('\n  <!DOCTYPE html><html>'))).toBe('an HTML page');
    expect(sniffNotVideo(Buffer.from('{"error":"denied"}'))).toBe('JSON');
    expect(sniffNotVideo(Buffer.from('#EXTM3U\n#EXT-X-VERSION:3'))).toBe('an HLS playlist');
    expect(sniffNotVideo(Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]))).toBeNull();
    expect(sniffNotVideo(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))).toBeNull();
  });

  it('names other XML and text only when asked (bodies whose type does not claim a video)', () => {
    const xml = Buffer.from('<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>');
    const text = Buffer.from('Access denied. Your link has expired.\n');
    expect(sniffNotVideo(xml)).toBeNull();
    expect(sniffNotVideo(text)).toBeNull();
    expect(sniffNotVideo(xml, { anyText: true })).toBe('an XML document');
    expect(sniffNotVideo(Buffer.from('<Error><Code>AccessDenied</Code></Error>'), { anyText: true })).toBe('an XML document');
    expect(sniffNotVideo(text, { anyText: true })).toBe('text');
    expect(sniffNotVideo(Buffer.from(`<!-- ${'x'.repeat(1000)} -->\n<html><head>`))).toBe('an HTML page');
  });

  it('never names video bytes, and no text passes for a video', () => {
    const pad = (head: number[], size = 600) => Buffer.concat([Buffer.from(head), Buffer.alloc(size - head.length, 0x80)]);
    const ts = Buffer.alloc(188 * 3, 0xff);
    for (const at of [0, 188, 376]) Buffer.from([0x47, 0x40, 0x00, 0x10]).copy(ts, at);
    const videos: Record<string, Buffer> = {
      mp4: pad([0, 0, 0, 0x20, ...Buffer.from('ftypisom')]),
      quicktime: pad([0, 0, 0, 0x08, ...Buffer.from('wide')]),
      matroska: pad([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]),
      'mpeg-ts': ts,
      mpeg: pad([0, 0, 1, 0xba, 0x44]),
      avi: pad([...Buffer.from('RIFF'), 0x10, 0, 0, 0, ...Buffer.from('AVI LIST')]),
      flv: pad([0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 0x09]),
      ogg: pad([...Buffer.from('OggS'), 0, 0x02]),
      asf: pad([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]),
      y4m: Buffer.from(`YUV4MPEG2 W160 H120 F25:1 Ip A1:1 C420jpeg\nFRAME\n${'A'.repeat(1000)}`),
    };
    for (const [name, head] of Object.entries(videos)) {
      expect([name, videoSignature(head)]).toEqual([name, name === 'quicktime' ? 'mp4' : name]);
      expect([name, sniffNotVideo(head, { anyText: true })]).toEqual([name, null]);
    }
    // text that starts like a signature is still text: 'G' as an MPEG-TS sync byte, 'free' where an MP4 box type sits
    expect(videoSignature(Buffer.from(`Gone. ${'This file was removed. '.repeat(40)}`))).toBeNull();
    expect(videoSignature(Buffer.from('Try free for 30 days'))).toBeNull();
    expect(sniffNotVideo(Buffer.from('Try free for 30 days'), { anyText: true })).toBe('text');
  });
});

describe('bandwidth cap', () => {
  it('holds a process-wide rate', async () => {
    const limiter = new BandwidthLimiter(200_000);
    const t0 = performance.now();
    // 200 kB burst passes at once; 100 kB more needs about half a second.
    for (let i = 0; i < 30; i++) await limiter.take(10_000);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(3000);
  });
});

describe('plain lists', () => {
  it('keep comments out and rows numbered', () => {
    const r = readInputList('# list\nhttps://x/a.mp4\n\nb.mp4\n', '/l/list.txt');
    expect(r.entries).toEqual([
      { raw: 'https://x/a.mp4', list: { file: '/l/list.txt', row: 2 } },
      { raw: 'b.mp4', list: { file: '/l/list.txt', row: 4 } },
    ]);
  });
  it('refuse a CSV whose header has no url column, naming what it found', () => {
    const r = readInputList('name,label\nfoo,bar\n', '/l/k.csv');
    expect(r.problems[0]!.message).toMatch(/header with a url or youtube_id column; found: name, label/);
  });
});

describe('HLS playlists', () => {
  it('lists the variants of a master playlist in ffmpeg program order, quoted commas and all, and picks the best', () => {
    const master = [
      '#EXTM3U',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720',
      'hd/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"',
      'audio/index.m3u8',
      '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="iframes.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080',
      '',
      'https://cdn.example.com/fhd/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=9000000,RESOLUTION=1920x1080',
      'fhd-hi/index.m3u8',
    ].join('\r\n');
    const variants = masterVariants(master, 'https://example.com/show/master.m3u8');
    expect(variants.map((v) => [v.program, v.url, v.area, v.bandwidth])).toEqual([
      [0, 'https://example.com/show/hd/index.m3u8', 1280 * 720, 800000],
      [1, 'https://example.com/show/audio/index.m3u8', 0, 64000],
      [2, 'https://cdn.example.com/fhd/index.m3u8', 1920 * 1080, 5000000],
      [3, 'https://example.com/show/fhd-hi/index.m3u8', 1920 * 1080, 9000000],
    ]);
    expect(bestVariant(variants)?.program).toBe(3);
    expect(masterVariants('#EXTM3U\n#EXTINF:2,\nseg0.ts\n', 'https://example.com/a.m3u8')).toEqual([]);
  });

  it('tells a live playlist from a finished one', () => {
    expect(isLivePlaylist('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2,\na.ts\n')).toBe(true);
    expect(isLivePlaylist('#EXTM3U\n#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n')).toBe(false);
    expect(isLivePlaylist('#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2,\na.ts\n')).toBe(false);
    expect(isLivePlaylist('#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:2,\na.ts\n')).toBe(true);
  });

  it('reads the length and kind of a DASH manifest', () => {
    expect(isoDurationSec('PT12.0S')).toBe(12);
    expect(isoDurationSec('PT1H2M3.5S')).toBe(3723.5);
    expect(isoDurationSec('P1DT1S')).toBe(86401);
    expect(isoDurationSec('PT')).toBeNull();
    expect(isoDurationSec('12')).toBeNull();
    expect(dashFacts('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8.0S">')).toEqual({ live: false, durationSec: 8 });
    expect(dashFacts('<MPD type="dynamic" availabilityStartTime="2024-01-01T00:00:00Z">')).toEqual({ live: true, durationSec: null });
  });
});

describe('download errors', () => {
  it('a download that cannot be written names the folder and the cause in words', () => {
    const sys = (code: string) => Object.assign(new Error(`${code}: raw system text, write`), { code });
    const full = toAcquireError(sys('ENOSPC'), 'https://example.com/v.mp4', '/lib/media/.partial');
    expect([full.code, full.retryable, full.message]).toEqual(['E_DISK', false, 'cannot write the download into /lib/media/.partial: no space left on the device (ENOSPC)']);
    expect(toAcquireError(sys('EACCES'), 'https://example.com/v.mp4', '/lib/media/.partial').message).toBe('cannot write the download into /lib/media/.partial: permission denied (EACCES)');
  });
});
