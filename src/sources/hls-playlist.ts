/**
 * What an HLS playlist says before ffmpeg copies it: which variant of a master playlist is the best, and whether
 * the stream is live. ffmpeg alone cannot be asked either: `-map 0:v? -map 0:a?` takes the streams of every
 * variant (a 1080p/720p/480p ladder was downloaded three times over and saved as one file with three video
 * tracks), and a live playlist never ends, so the copy ran into ToolTimeoutSec, was killed and thrown away.
 */

export interface HlsVariant {
  /** Absolute URL of the variant's media playlist. */
  url: string;
  /** Its position among the `#EXT-X-STREAM-INF` entries: ffmpeg's program number for it. */
  program: number;
  bandwidth: number;
  /** width × height from RESOLUTION; 0 when not declared (audio-only variants have none). */
  area: number;
}

export interface HlsPlan {
  /** The ffmpeg program of the chosen variant; null for a media playlist (nothing to choose). */
  program: number | null;
  /** Variants the master playlist offered (0 for a media playlist). */
  variants: number;
  /** True when the (chosen) media playlist has no end: a live or event stream still being written. */
  live: boolean;
  /** A DASH manifest (MPD) rather than HLS, with its declared length when static. */
  dash?: { durationSec: number | null };
}

/** `PT1H2M3.5S` → 3723.5; null for anything else. */
export function isoDurationSec(text: string | undefined): number | null {
  const m = text ? /^P(?:(\d+(?:\.\d+)?)D)?T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text.trim()) : null;
  if (!m || !m.slice(1).some(Boolean)) return null;
  const [d, h, min, sec] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number];
  return d * 86400 + h * 3600 + min * 60 + sec;
}

/** What an MPD says of itself: live (`type="dynamic"`), and the length of a static one. */
export function dashFacts(text: string): { live: boolean; durationSec: number | null } {
  const mpd = /<MPD\b[^>]*>/i.exec(text)?.[0] ?? '';
  const live = /\btype\s*=\s*["']dynamic["']/i.test(mpd);
  return { live, durationSec: live ? null : isoDurationSec(/\bmediaPresentationDuration\s*=\s*["']([^"']+)["']/i.exec(mpd)?.[1]) };
}

/** Playlists larger than this are not inspected (ffmpeg still copies them, all variants mapped). */
const MAX_PLAYLIST_BYTES = 16 * 1024 * 1024;

/** The attributes of an `#EXT-X-...:A=1,B="x,y"` tag line. */
function attributes(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = line.slice(line.indexOf(':') + 1);
  for (const m of body.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

/** The variants of a master playlist, in the order ffmpeg numbers its programs; empty for a media playlist. */
export function masterVariants(text: string, baseUrl: string): HlsVariant[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const variants: HlsVariant[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('#EXT-X-STREAM-INF:')) continue;
    const attrs = attributes(lines[i]!);
    // the URI is the next line that is neither blank nor a tag or comment
    let j = i + 1;
    while (j < lines.length && (!lines[j] || lines[j]!.startsWith('#'))) j++;
    if (j >= lines.length) break;
    let url: string;
    try {
      url = new URL(lines[j]!, baseUrl).toString();
    } catch {
      url = lines[j]!;
    }
    const res = /^(\d+)x(\d+)$/i.exec(attrs.RESOLUTION ?? '');
    variants.push({
      url,
      program: variants.length,
      bandwidth: Number(attrs.BANDWIDTH) || 0,
      area: res ? Number(res[1]) * Number(res[2]) : 0,
    });
    i = j;
  }
  return variants;
}

/** The best variant: the largest picture, then the highest bandwidth; the first of equals. */
export function bestVariant(variants: readonly HlsVariant[]): HlsVariant | null {
  let best: HlsVariant | null = null;
  for (const v of variants) {
    if (!best || v.area > best.area || (v.area === best.area && v.bandwidth > best.bandwidth)) best = v;
  }
  return best;
}

/** A media playlist without `#EXT-X-ENDLIST` is still being written (live, or an event not yet over). */
export function isLivePlaylist(text: string): boolean {
  if (/^#EXT-X-ENDLIST\b/m.test(text)) return false;
  if (/^#EXT-X-PLAYLIST-TYPE:\s*VOD\b/im.test(text)) return false;
  return /^#EXTINF:/m.test(text);
}

/**
 * Reads one playlist (HLS) or manifest (DASH); `{ status }` for an HTTP error answer, null when it cannot be read
 * otherwise or is neither (ffmpeg then reports why).
 */
async function readPlaylist(url: string, options: { userAgent: string; timeoutMs: number; signal: AbortSignal }): Promise<{ text: string; url: string } | { status: number } | null> {
  try {
    const res = await fetch(url, {
      headers: { 'user-agent': options.userAgent, accept: '*/*' },
      redirect: 'follow',
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    });
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (!res.ok || !res.body || declared > MAX_PLAYLIST_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 400 ? { status: res.status } : null;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > MAX_PLAYLIST_BYTES) return null;
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '');
    return text.trimStart().startsWith('#EXTM3U') || /<MPD\b/i.test(text.slice(0, 4096)) ? { text, url: res.url || url } : null;
  } catch {
    if (options.signal.aborted) throw options.signal.reason;
    return null;
  }
}

/**
 * Looks at an HLS playlist before the copy: the best variant of a master playlist (its media playlist read too),
 * and whether the stream is live. `{ status }` when the playlist answered an HTTP error; null when it cannot be
 * read here otherwise (ffmpeg will say why) or is not HLS.
 */
export async function planHlsCopy(url: string, options: { userAgent: string; timeoutMs: number; signal: AbortSignal }): Promise<HlsPlan | { status: number } | null> {
  const top = await readPlaylist(url, options);
  if (!top || 'status' in top) return top;
  if (!top.text.trimStart().startsWith('#EXTM3U')) {
    const facts = dashFacts(top.text);
    return { program: null, variants: 0, live: facts.live, dash: { durationSec: facts.durationSec } };
  }
  const variants = masterVariants(top.text, top.url);
  if (variants.length === 0) return { program: null, variants: 0, live: isLivePlaylist(top.text) };
  const best = bestVariant(variants)!;
  const media = await readPlaylist(best.url, options);
  return { program: variants.length > 1 ? best.program : null, variants: variants.length, live: media && 'text' in media ? isLivePlaylist(media.text) : false };
}
