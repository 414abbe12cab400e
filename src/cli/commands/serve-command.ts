import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Video } from '../../core/index.js';
import type { TagEdit } from '../../server/index.js';
import { outliveHangup } from '../hangup.js';
import { appFrom, err, nonNegativeInt, withConfigOptions, type CommonFlags } from '../shared-options.js';

/** How long a stopping server lets requests in flight finish before it closes their connections. */
const STOP_GRACE_MS = 3000;

export function registerServe(program: Command): void {
  withConfigOptions(program.command('serve').description('the HTTP API and the web page: search, filter, browse, play a video from a scene'))
    .option('--host <address>', 'listen address ([Server] Host; default 127.0.0.1, only this machine)')
    .option('--port <n>', 'port ([Server] Port; 0 = any free port)', nonNegativeInt)
    .action(async (flags: CommonFlags & { host?: string; port?: number }) => {
      const app = appFrom(flags, { 'Server.Host': flags.host, 'Server.Port': flags.port });
      // the server (Hono and its middleware) is loaded by this command alone, not at every command's start
      const { closeHttp, createHttpApi, editsAllowed, isLoopback, listenHttp } = await import('../../server/index.js');
      const stopOutliving = outliveHangup(app.logger, 'serve');
      try {
        const store = await app.library();
        // before listening: the first searches would otherwise wait for it
        const t0 = Date.now();
        await store.warm?.();
        app.logger.info({ ms: Date.now() - t0 }, 'search structures ready');
        const { Host, Port, AllowedHosts, AllowEdits, Token } = app.config.Server;
        // listening on loopback means "this machine only": refuse requests for other host names too (DNS rebinding);
        // beyond it, the names this machine goes by and the configured ones
        const machine = hostname().toLowerCase();
        const hostNames = isLoopback(Host) ? AllowedHosts : [machine, `${machine.split('.')[0]}.local`, ...AllowedHosts];
        const tagEditing = { allowed: editsAllowed(Host, AllowEdits, Token !== ''), edit: async (video: Video, edit: TagEdit) => (await app.editTags(video, edit)).video };
        const api = createHttpApi(store, { loopbackOnly: isLoopback(Host), hostNames, logger: app.logger, tagEditing, ...(Token ? { token: Token } : {}) });
        await new Promise<void>((resolve, reject) => {
          const server = listenHttp(api.fetch, Host, Port, (port) => {
            // The API has no password and no TLS: beyond loopback, whoever reaches the port reads the whole library
            // and downloads its videos. A mistyped or copied --host 0.0.0.0 said nothing of it.
            if (!isLoopback(Host) && !Token) {
              err(`videodex: warning: listening on ${Host}, beyond this machine: anyone who can reach port ${port} can search the library${tagEditing.allowed ? ', change its tags' : ''} and download its videos (no password, no TLS); set [Server] Token (VIDEODEX_SERVER_TOKEN) for a password, or --host 127.0.0.1 keeps it to this machine`);
              app.logger.warn({ host: Host, port }, 'listening beyond loopback: no password, no TLS');
            } else if (!isLoopback(Host)) {
              // the token crosses the network as written: a TLS proxy in front keeps it from those who can watch it
              err(`videodex: listening on ${Host}, beyond this machine: requests must carry [Server] Token (no TLS: put a TLS proxy in front on a network you do not trust)`);
            }
            // Scripts and tests read this line to find the port.
            err(`videodex: serving ${store.kind} library on http://${Host.includes(':') ? `[${Host}]` : Host}:${port}/`);
          });
          server.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${Host}:${Port}: ${e.code ?? e.message}`)));
          // a few seconds for the answers in flight; a video still streaming to a browser is then cut
          const stop = () => void closeHttp(server, STOP_GRACE_MS).then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      } finally {
        stopOutliving();
      }
      await app.close();
    });
}
