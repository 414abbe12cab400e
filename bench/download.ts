/**
 * Download throughput: videodex's HTTP source against `curl` in the same run, over loopback.
 *  1. One large file (1 GiB; 256 MiB with --quick): videodex vs `curl -s -o`, best of N rounds each, alternated.
 *  2. 500 small files (64 KiB) at concurrency 8: videodex (HttpSource, PerHost 8) vs one `curl --parallel
 *     --parallel-max 8` process; items/s (also with `[Sources] Fsync = false`, since curl does not fsync).
 * The server runs in its own process so it does not share the downloader's event loop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { configWith, createLogger } from '../src/core/index.js';
import { HttpSource } from '../src/sources/index.js';
import { hasFlag, recordResult, timed, workDir } from './bench-lib.js';

const quick = hasFlag('--quick');
const BIG = (quick ? 256 : 1024) * 1024 * 1024;
const ROUNDS = quick ? 2 : 3;
const SMALL_COUNT = 500;
const SMALL_SIZE = 64 * 1024;
const CONCURRENCY = 8;

if (spawnSync('curl', ['--version']).status !== 0) {
  console.error('bench/download: curl is needed as the baseline (apt-get install -y curl)');
  process.exit(1);
}

const SERVER = `
const http = require('node:http');
const chunk = Buffer.alloc(1 << 20, 7); chunk.write('\\x00\\x00\\x00\\x20ftypisom');
const small = Buffer.alloc(${SMALL_SIZE}, 9); small.write('\\x00\\x00\\x00\\x20ftypisom');
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/small/')) {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(small.length), etag: '"s"' });
    res.end(small);
    return;
  }
  const total = ${BIG};
  res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(total), etag: '"big"', 'accept-ranges': 'bytes' });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function startServer(): Promise<{ base: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

const curl = (args: string[]) => run('curl', args);

/**
 * Removes a finished output and waits for the disk to be quiet again before the next timed run. The root
 * filesystem here is mounted with `discard`: deleting a fsynced 1 GiB file sends its blocks to the device as
 * discards at the next journal commit, and a run started right after a delete measured that work (it halved
 * the next download, whichever tool ran it). `sync` forces the commit; the pause lets the device finish.
 */
async function removeAndSettle(file: string): Promise<void> {
  rmSync(file, { recursive: true, force: true });
  await run('sync', []);
  await new Promise((r) => setTimeout(r, 1000));
}

const work = workDir('download');
const server = await startServer();
const logger = createLogger({ file: null, level: 'silent', secrets: [] });
const ctxFor = (mediaDir: string) => ({ mediaDir, signal: new AbortController().signal, logger, progress: () => {} });

try {
  // 1. One big file.
  const config = configWith({ Sources: { PerHost: CONCURRENCY } });
  const source = new HttpSource(config);
  // Warm-up (not timed): JIT, connection pool, first file creation.
  const warm = path.join(work, 'warm');
  rmSync(warm, { recursive: true, force: true });
  mkdirSync(warm, { recursive: true });
  await Promise.all(Array.from({ length: 16 }, (_, i) => source.download(`${server.base}/small/w${i}.mp4`, ctxFor(warm))));
  await curl(['-s', '-S', '-o', path.join(warm, 'c.bin'), `${server.base}/small/c.mp4`]);
  rmSync(warm, { recursive: true, force: true });
  const noSyncSource = new HttpSource(configWith({ Sources: { PerHost: CONCURRENCY, Fsync: false } }));
  let bestCurl = Infinity;
  let bestCurlSync = Infinity;
  let bestVdx = Infinity;
  let bestVdxNoSync = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const curlOut = path.join(work, 'curl-big.bin');
    const c = await timed(() => curl(['-s', '-S', '-o', curlOut, `${server.base}/big.mp4`]));
    if (statSync(curlOut).size !== BIG) throw new Error('curl got a short file');
    await removeAndSettle(curlOut);
    bestCurl = Math.min(bestCurl, c.ms);

    const media = path.join(work, `vdx-${round}`);
    const vdx = async (src: HttpSource) => {
      rmSync(media, { recursive: true, force: true });
      mkdirSync(media, { recursive: true });
      const v = await timed(() => src.download(`${server.base}/big.mp4`, ctxFor(media)));
      if (v.value.bytes !== BIG) throw new Error('videodex got a short file');
      await removeAndSettle(media);
      return v.ms;
    };
    const v = await vdx(source);
    bestVdx = Math.min(bestVdx, v);
    // curl with the same durability as videodex: the file fsynced (coreutils `sync FILE`) before it counts.
    const cs = await timed(async () => {
      await curl(['-s', '-S', '-o', curlOut, `${server.base}/big.mp4`]);
      await run('sync', [curlOut]);
    });
    await removeAndSettle(curlOut);
    bestCurlSync = Math.min(bestCurlSync, cs.ms);
    const vn = await vdx(noSyncSource);
    bestVdxNoSync = Math.min(bestVdxNoSync, vn);
    const mibs = (ms: number) => (BIG / 2 ** 20 / (ms / 1000)).toFixed(0);
    process.stdout.write(`round ${round + 1}: curl ${mibs(c.ms)} MiB/s, videodex ${mibs(v)}, curl+fsync ${mibs(cs.ms)}, videodex Fsync=false ${mibs(vn)}\n`);
  }
  await noSyncSource.close();
  const curlMiBs = BIG / 2 ** 20 / (bestCurl / 1000);
  const vdxMiBs = BIG / 2 ** 20 / (bestVdx / 1000);
  const curlSyncMiBs = BIG / 2 ** 20 / (bestCurlSync / 1000);
  const vdxNoSyncMiBs = BIG / 2 ** 20 / (bestVdxNoSync / 1000);

  // 2. Many small files at concurrency 8.
  const smallCurlDir = path.join(work, 'small-curl');
  rmSync(smallCurlDir, { recursive: true, force: true });
  mkdirSync(smallCurlDir, { recursive: true });
  const cfg = path.join(work, 'curl-small.cfg');
  writeFileSync(cfg, Array.from({ length: SMALL_COUNT }, (_, i) => `url = "${server.base}/small/${i}.mp4"\noutput = "${path.join(smallCurlDir, `${i}.mp4`)}"\n`).join(''));
  const cs = await timed(() => curl(['-s', '-S', '--no-progress-meter', '--parallel', '--parallel-max', String(CONCURRENCY), '-K', cfg]));
  rmSync(smallCurlDir, { recursive: true, force: true });

  const smallDir = path.join(work, 'small-vdx');
  rmSync(smallDir, { recursive: true, force: true });
  mkdirSync(smallDir, { recursive: true });
  const limit = pLimit(CONCURRENCY);
  const vs = await timed(() => Promise.all(Array.from({ length: SMALL_COUNT }, (_, i) => limit(() => source.download(`${server.base}/small/${i}.mp4`, ctxFor(smallDir))))));
  rmSync(smallDir, { recursive: true, force: true });
  await source.close();
  // The same with [Sources] Fsync = false: what durability costs on this disk.
  const noSync = new HttpSource(configWith({ Sources: { PerHost: CONCURRENCY, Fsync: false } }));
  mkdirSync(smallDir, { recursive: true });
  const vn = await timed(() => Promise.all(Array.from({ length: SMALL_COUNT }, (_, i) => limit(() => noSync.download(`${server.base}/small/${i}.mp4`, ctxFor(smallDir))))));
  rmSync(smallDir, { recursive: true, force: true });
  await noSync.close();
  const vdxNoSyncItems = SMALL_COUNT / (vn.ms / 1000);

  const curlItems = SMALL_COUNT / (cs.ms / 1000);
  const vdxItems = SMALL_COUNT / (vs.ms / 1000);
  process.stdout.write(
    `big file (${BIG / 2 ** 20} MiB): videodex ${vdxMiBs.toFixed(0)} MiB/s vs curl -o ${curlMiBs.toFixed(0)} MiB/s = ${(vdxMiBs / curlMiBs).toFixed(2)}x (target >= 0.9x)\n` +
      `  like for like: videodex ${vdxMiBs.toFixed(0)} vs curl -o + fsync ${curlSyncMiBs.toFixed(0)} MiB/s = ${(vdxMiBs / curlSyncMiBs).toFixed(2)}x; videodex Fsync=false ${vdxNoSyncMiBs.toFixed(0)} vs curl -o = ${(vdxNoSyncMiBs / curlMiBs).toFixed(2)}x\n` +
      `${SMALL_COUNT} x ${SMALL_SIZE / 1024} KiB at concurrency ${CONCURRENCY}: videodex ${vdxItems.toFixed(0)} items/s vs curl --parallel ${curlItems.toFixed(0)} items/s = ${(vdxItems / curlItems).toFixed(2)}x; with Fsync = false ${vdxNoSyncItems.toFixed(0)} items/s = ${(vdxNoSyncItems / curlItems).toFixed(2)}x\n`,
  );
  recordResult('download', {
    quick,
    bigBytes: BIG,
    rounds: ROUNDS,
    videodexMiBs: Math.round(vdxMiBs),
    curlMiBs: Math.round(curlMiBs),
    throughputRatio: Number((vdxMiBs / curlMiBs).toFixed(3)),
    curlFsyncMiBs: Math.round(curlSyncMiBs),
    ratioVsCurlFsync: Number((vdxMiBs / curlSyncMiBs).toFixed(3)),
    videodexNoFsyncMiBs: Math.round(vdxNoSyncMiBs),
    ratioNoFsyncVsCurl: Number((vdxNoSyncMiBs / curlMiBs).toFixed(3)),
    smallFiles: SMALL_COUNT,
    concurrency: CONCURRENCY,
    videodexItemsPerSec: Math.round(vdxItems),
    curlItemsPerSec: Math.round(curlItems),
    itemsRatio: Number((vdxItems / curlItems).toFixed(3)),
    videodexNoFsyncItemsPerSec: Math.round(vdxNoSyncItems),
    itemsRatioNoFsync: Number((vdxNoSyncItems / curlItems).toFixed(3)),
  });
} finally {
  server.stop();
}
