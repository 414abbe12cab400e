import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';

/** A JSON error as the API answers every other error. */
const jsonError = (status: number, error: string) => new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json' } });

/** What Node's HTTP parser refuses before any handler runs (a header block over 16 kB, bytes that are not HTTP). */
function refuseMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, error] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'the request line and headers are over 16 kB'] : [400, `not a valid HTTP request (${err.code ?? err.message})`];
  const body = JSON.stringify({ error });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * An HTTP server for a fetch handler (the API), listening on `host:port`. Unlike `@hono/node-server`'s `serve`, it
 * answers requests the adapter refuses with the API's JSON errors, and takes a Host header in any case: the
 * adapter compared it with the URL's lowercased host name and refused `LOCALHOST` with an empty 400.
 */
export function listenHttp(fetch: (req: Request) => Response | Promise<Response>, host: string, port: number, onListening: (port: number) => void): Server {
  const listener = getRequestListener(fetch, {
    hostname: host,
    errorHandler: (e) => jsonError(400, `bad request: ${e instanceof Error ? e.message : String(e)}`),
  });
  const server = createServer((req, res) => {
    // host names are case-insensitive (RFC 9110)
    if (req.headers.host) req.headers.host = req.headers.host.toLowerCase();
    void listener(req, res);
  });
  server.on('clientError', refuseMalformed);
  server.listen(port, host, () => {
    const address = server.address();
    onListening(typeof address === 'object' && address ? address.port : port);
  });
  return server;
}

/**
 * Stops taking connections and resolves once the server is closed. Requests in flight get `graceMs` to finish;
 * then their connections are cut. A browser tab with a video open holds its download for as long as the tab
 * stays open (a paused player keeps reading), and `server.close()` alone waited for it: `serve` went on after
 * SIGTERM until a supervisor killed it. A cut video download is only a seek away from resuming (Range).
 */
export function closeHttp(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
