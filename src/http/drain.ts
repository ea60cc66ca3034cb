// Draining a server without failing a request. Closing a keep-alive socket
// that is idle races with a client that is sending on it right now, and that
// request fails. So a draining server:
// 1. answers every request with `Connection: close`, so clients stop reusing
//    their connections to it and open new ones (to the other workers);
// 2. stops accepting connections, without http.Server.close()'s immediate
//    closing of idle sockets;
// 3. closes the sockets that stay idle for a while after that (a client that
//    was about to send has sent by then, and gets its answer and a close).
// In-flight requests finish; the caller bounds the whole drain.
import net from 'node:net';
import type { Server } from 'node:http';

/** How long an idle keep-alive socket is left before a draining server closes it. */
const IDLE_GRACE_MS = 1000;

export interface Drainable {
  /** Resolves when every connection has ended. */
  drain(): Promise<void>;
}

export function drainable(server: Server): Drainable {
  let draining = false;
  // Before the app's own listener, so the header is set before any handler answers.
  server.prependListener('request', (_req, res) => {
    if (draining) res.setHeader('connection', 'close');
  });
  let drained: Promise<void> | undefined;
  return {
    drain: () =>
      (drained ??= new Promise<void>((resolve) => {
        draining = true;
        const idleSweep = setInterval(() => server.closeIdleConnections(), IDLE_GRACE_MS);
        // net.Server's close: stop listening and call back once every
        // connection has ended, without http's closing of idle sockets.
        net.Server.prototype.close.call(server, () => {
          clearInterval(idleSweep);
          resolve();
        });
      })),
  };
}
