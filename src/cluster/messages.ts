// What the primary and its workers say to each other over cluster IPC. The
// primary only relays: it serves no HTTP and runs no job.
import type { LeaderLinkMessage } from '../scheduler/leader-link.js';

/** Worker -> primary: the seam's messages (relayed), and the worker's own. */
export type WorkerMessage =
  | LeaderLinkMessage
  /** Ask the primary for the whole cluster's metrics. */
  | { type: 'metrics'; requestId: string }
  /** The leader let go on purpose (stopping): someone else should take over now. */
  | { type: 'leadership-released' }
  /** The worker serves and has made its first bid for leadership. */
  | { type: 'ready' }
  /** A place for one password hash under the host's ceiling (hash-ceiling.ts); answered by hash-place-result. */
  | { type: 'hash-place'; requestId: string }
  /** That hash is done (or no longer wanted): its place goes back. */
  | { type: 'hash-done'; requestId: string };

/** Primary -> worker. */
export type PrimaryMessage =
  | LeaderLinkMessage
  | { type: 'metrics-result'; requestId: string; contentType: string; body: string; error?: string }
  | { type: 'shutdown' }
  | { type: 'hash-place-result'; requestId: string; granted: boolean }
  /** The leader is gone (released, or died and its lock was cleared): bid now instead of at the next retry. */
  | { type: 'bid-now'; reason: BidReason; previousPid: number; at: number };

/** Why a worker is asked to bid at once; its "scheduler started" line says it. */
export type BidReason = 'handed-over' | 'died';

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
