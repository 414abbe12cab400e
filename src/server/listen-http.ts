import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';

/** A JSON error as the API answers every other error. */
const jsonError = (status: number, error: string) => new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json' } });

/**
 * How long a client may take to send a request. Node's defaults (60 s for the headers, 300 s for the whole request,
 * checked every 30 s) let a client that trickles its headers hold a connection for up to 90 s, and a few hundred
 * such clients (slowloris) hold every descriptor the process may open. A request is its headers and at most a tag
 * edit's few names (64 kB): 15 s is ample even over a slow link, and a video download (the response) is not limited by it.
 */
export interface RequestTimeouts {
  headersMs: number;
  requestMs: number;
  /** How often Node looks for connections past their time. */
  checkEveryMs: number;
}
export const REQUEST_TIMEOUTS: RequestTimeouts = { headersMs: 15_000, requestMs: 30_000, checkEveryMs: 1_000 };

/** What Node's HTTP parser refuses before any handler runs (a header block over 16 kB, bytes that are not HTTP, too slow). */
function refuseMalformed(timeouts: RequestTimeouts): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const [status, error] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request line and headers are over 16 kB']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, `the request did not arrive in time (its headers within ${timeouts.headersMs / 1000} s, all of it within ${timeouts.requestMs / 1000} s)`]
          : [400, `not a valid HTTP request (${err.code ?? err.message})`];
    const body = JSON.stringify({ error });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
}

/**
 * An HTTP server for a fetch handler (the API), listening on `host:port`. Unlike `@hono/node-server`'s `serve`, it
 * answers requests the adapter refuses with the API's JSON errors, and takes a Host header in any case: the
 * adapter compared it with the URL's lowercased host name and refused `LOCALHOST` with an empty 400.
 */
export function listenHttp(fetch: (req: Request) => Response | Promise<Response>, host: string, port: number, onListening: (port: number) => void, timeouts: RequestTimeouts = REQUEST_TIMEOUTS): Server {
  const listener = getRequestListener(fetch, {
    hostname: host,
    errorHandler: (e) => jsonError(400, `bad request: ${e instanceof Error ? e.message : String(e)}`),
  });
  const server = createServer({ headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: timeouts.checkEveryMs }, (req, res) => {
    // host names are case-insensitive (RFC 9110)
    if (req.headers.host) req.headers.host = req.headers.host.toLowerCase();
    void listener(req, res);
  });
  server.on('clientError', refuseMalformed(timeouts));
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
