// A worker's side of the host-wide ceiling on password hashes: before each
// hash it asks the primary for a place (cluster/hash-ceiling.ts) and gives it
// back when done. A primary that does not answer in time counts as a refusal
// (the sign-in gets a 503 and tries again), and the ask is withdrawn, so a
// late grant is not held for ever.
import { randomUUID } from 'node:crypto';
import type { HostPlaces } from '../auth/hash-gate.js';
import { askPrimary, sendToPrimary } from './worker-ipc.js';

const ASK_TIMEOUT_MS = 10_000;

export function hostHashPlaces(timeoutMs = ASK_TIMEOUT_MS): HostPlaces {
  return {
    async enter() {
      const requestId = randomUUID();
      const leave = () => sendToPrimary({ type: 'hash-done', requestId });
      try {
        const answer = await askPrimary<'hash-place-result'>({ type: 'hash-place' }, timeoutMs, requestId);
        return answer.granted ? leave : null;
      } catch {
        leave();
        return null;
      }
    },
  };
}
