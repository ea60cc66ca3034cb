// A bound on the argon2 work one worker does at once. Each hash takes about
// 19 MiB and a thread-pool slot for tens of milliseconds, and a sign-in for
// an unknown email costs one too (passwords.ts: verifyNobody), so a flood of
// sign-ins would otherwise be a memory and CPU attack on every worker. A few
// hashes run at once, a bounded queue waits behind them, and beyond that the
// answer is a fast 503 with Retry-After (errors.ts sets it) instead of
// unbounded memory. In a cluster each hash also needs a place under the
// host's ceiling, which the primary holds for all workers together
// (useHostCeiling; cluster/hash-ceiling.ts): more workers than cores must not
// mean more hashes at once than the host can carry.
import { UnavailableError } from '../errors.js';

export interface HashGateLimits {
  /** Hashes that run at once on this worker. */
  concurrent: number;
  /** Hashes that may wait for a place; one more is refused at once. */
  queued: number;
}

/** libuv runs four thread-pool jobs at once by default: more hashes would only queue there, holding memory. */
export const DEFAULT_HASH_LIMITS: HashGateLimits = { concurrent: 4, queued: 64 };

export class HashesBusyError extends UnavailableError {
  constructor() {
    super('The server is checking too many passwords at once; try again in a few seconds');
  }
}

/** The host-wide ceiling, as a worker sees it: `enter` gives a function that gives the place back, or null when refused. */
export interface HostPlaces {
  enter(): Promise<(() => void) | null>;
}

export class HashGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private host: HostPlaces | null = null;

  constructor(private limits: HashGateLimits = DEFAULT_HASH_LIMITS) {}

  /** For tests and operators' tuning: new limits for the hashes that start from now on. */
  configure(limits: HashGateLimits): void {
    this.limits = limits;
  }

  /** In a cluster worker: every hash from now on also needs a place under the host's ceiling. */
  useHostCeiling(host: HostPlaces | null): void {
    this.host = host;
  }

  /** Runs `work` when a place is free here and on the host; throws HashesBusyError at once when a queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.concurrent) {
      if (this.waiting.length >= this.limits.queued) throw new HashesBusyError();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      const leave = this.host ? await this.host.enter() : () => undefined;
      if (!leave) throw new HashesBusyError();
      try {
        return await work();
      } finally {
        leave();
      }
    } finally {
      // The place passes straight to the next in line, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

/** This worker's gate: every argon2 hash and verification goes through it. */
export const hashGate = new HashGate();
