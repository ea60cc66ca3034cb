// The primary's side of the host-wide ceiling on password hashes
// (config-limits.ts): a worker asks for a place before each argon2 hash and
// says when it is done; at most `running` places are out at once across all
// workers, at most `queued` asks wait, and one more is refused at once (the
// worker answers that sign-in with a 503 and Retry-After). A worker that dies
// gives back every place it held and its asks still waiting.
import type { HostHashLimits } from '../config-limits.js';

interface Ask {
  workerId: number;
  requestId: string;
  answer: (granted: boolean) => void;
}

export class HostHashCeiling {
  /** requestId -> worker, for every place out now. */
  private readonly held = new Map<string, number>();
  private readonly waiting: Ask[] = [];

  constructor(private readonly limits: HostHashLimits) {}

  ask(workerId: number, requestId: string, answer: (granted: boolean) => void): void {
    if (this.held.size < this.limits.running) {
      this.held.set(requestId, workerId);
      answer(true);
    } else if (this.waiting.length < this.limits.queued) {
      this.waiting.push({ workerId, requestId, answer });
    } else {
      answer(false);
    }
  }

  /** The hash is done, or the worker gave up waiting: its place (or its ask) goes, and the next ask in line gets one. */
  done(requestId: string): void {
    const queued = this.waiting.findIndex((a) => a.requestId === requestId);
    if (queued !== -1) this.waiting.splice(queued, 1);
    if (this.held.delete(requestId)) this.grantNext();
  }

  workerGone(workerId: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i].workerId === workerId) this.waiting.splice(i, 1);
    for (const [requestId, holder] of this.held) if (holder === workerId) this.held.delete(requestId);
    while (this.held.size < this.limits.running && this.waiting.length > 0) this.grantNext();
  }

  private grantNext(): void {
    const next = this.waiting.shift();
    if (!next) return;
    this.held.set(next.requestId, next.workerId);
    next.answer(true);
  }
}
