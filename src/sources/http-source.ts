import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { SourceError } from '../core/index.js';
import type { InputItem } from './input-item.js';
import { uniqueMediaPath } from './media-names.js';
import type { AcquireContext, Acquired, Source } from './source.js';

/** Plain HTTP(S) download: streamed to `<name>.part`, hashed on the way, renamed when whole. */
export class HttpSource implements Source {
  readonly kind = 'http' as const;

  canHandle(input: InputItem): boolean {
    return input.kind === 'url' && /^https?:\/\//i.test(input.url ?? '');
  }

  async acquire(input: InputItem, ctx: AcquireContext): Promise<Acquired> {
    const url = input.url!;
    const timeout = AbortSignal.timeout(ctx.config.Sources.ConnectTimeoutSec * 1000);
    let response: Response;
    try {
      response = await fetch(url, {
        redirect: 'follow',
        headers: { 'user-agent': ctx.config.Sources.UserAgent },
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new SourceError(`download failed: ${cause}`, { cause: err, retryable: true, code: 'E_NETWORK' });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new SourceError(`HTTP ${response.status} ${response.statusText}`.trim(), {
        status: response.status,
        retryable: response.status >= 500 || response.status === 429,
        code: 'E_HTTP',
      });
    }
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    if (/^(text\/html|application\/json|text\/plain)/.test(type)) {
      await response.body?.cancel().catch(() => undefined);
      throw new SourceError(`expected a video but the server sent ${type.split(';')[0]}`, { code: 'E_NOT_VIDEO' });
    }
    const total = Number(response.headers.get('content-length') ?? '') || null;
    const name = path.basename(new URL(response.url || url).pathname) || 'video';
    await mkdir(ctx.mediaDir, { recursive: true });
    const target = await uniqueMediaPath(ctx.mediaDir, decodeURIComponent(name));
    const part = `${target}.part`;
    const hash = createHash('sha256');
    let bytes = 0;
    const maxBytes = ctx.config.Sources.MaxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (maxBytes && bytes > maxBytes) return done(new SourceError(`larger than [Sources] MaxBytes (${maxBytes} bytes)`, { code: 'E_TOO_LARGE' }));
        hash.update(chunk);
        ctx.progress(bytes, total);
        done(null, chunk);
      },
    });
    try {
      if (!response.body) throw new SourceError('empty response body');
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), meter, createWriteStream(part));
      if (total !== null && bytes !== total) throw new SourceError(`connection closed after ${bytes} of ${total} bytes`, { retryable: true, code: 'E_SHORT' });
      if (bytes === 0) throw new SourceError('empty response body (0 bytes)', { code: 'E_EMPTY' });
      await rename(part, target);
    } catch (err) {
      await unlink(part).catch(() => undefined);
      if (err instanceof SourceError) throw err;
      throw new SourceError(`download failed: ${(err as Error).message}`, { cause: err, retryable: true, code: 'E_NETWORK' });
    }
    return {
      path: target,
      bytes,
      sha256: hash.digest('hex'),
      storage: 'download',
      source: { url, kind: 'http', fetchedAt: new Date().toISOString(), ...(input.list ? { list: input.list } : {}) },
    };
  }
}
