// A cap on the connections one worker holds open, sized from its open-file
// limit (`ulimit -n`): every connection is a descriptor, and a worker out of
// descriptors cannot open a file, a database connection or an upload either.
// The live streams' own cap (live-admission.ts) is half of this one, so
// streams can never take every connection from ordinary requests.
//
// Not `server.maxConnections`: in a cluster the primary hands each connection
// to a worker, and a worker at its maxConnections sends it back to be handed
// to the next one (Node's round-robin handle), so with every worker full one
// connection would go round the workers over IPC until a place frees up. A
// full worker here closes the new connection at once instead: the client sees
// it refused and retries, as it would on a full listen backlog.
import type { Server, Socket } from 'node:net';
import { DESCRIPTOR_HEADROOM, openFilesSoftLimit, STREAMS_PER_USER, FALLBACK_OPEN_FILES } from './live-admission.js';

/** Connections a worker may hold for a soft open-file limit: what the headroom leaves, at least two users' worth of streams. */
export function workerConnectionCap(softLimit: number | null = openFilesSoftLimit()): number {
  return Math.max(2 * STREAMS_PER_USER, (softLimit ?? FALLBACK_OPEN_FILES) - DESCRIPTOR_HEADROOM);
}

/** Closes every connection beyond `cap` as it arrives; `onRefused` hears of each (for a log line). */
export function capConnections(server: Server, cap: number, onRefused: () => void): void {
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= cap) {
      socket.destroy();
      onRefused();
      return;
    }
    open += 1;
    socket.once('close', () => (open -= 1));
  });
}
