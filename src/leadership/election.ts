// Who may run the scheduler. A strategy answers four questions: can I lead
// now (acquire), tell me the moment I no longer lead (onLost), let go
// (release), and who leads (currentOwner). The lock file on one host and a
// lease row in the shared database for several hosts both fit behind it.
import os from 'node:os';
import { processStartTime } from './process-identity.js';
import type { PredecessorFate } from './term-history.js';

export interface LeaderOwner {
  pid: number;
  hostname: string;
  workerId: number | null;
  /** ISO-8601 UTC. */
  acquiredAt: string;
  /** The owner process's start time (process-identity.ts), so a reused pid is not taken for it. */
  startTime?: string | null;
  /** Lock file mode: which lock directory this owner took (inode and birth time), see dead-leader.ts. */
  lockId?: string | null;
  /** The leadership's term (terms.ts); null where no database granted one. */
  term?: number | null;
}

export type LeadershipState = 'held' | 'stale' | 'free';

export interface LeadershipSnapshot {
  state: LeadershipState;
  owner: LeaderOwner | null;
}

export interface Election {
  /**
   * Tries once; true when this process now leads, with a new term from the
   * database. `predecessor` says how the previous term ended, when the caller
   * knows (for the leadership history). Never throws for "someone else leads";
   * throws, leading nothing, when no term could be had.
   */
  acquire(predecessor?: PredecessorFate): Promise<boolean>;
  /** The term of the leadership held now, else null. */
  readonly term: number | null;
  /** A write was refused for a newer term: stop leading now, touching nothing (the lock is someone else's). */
  stepDown(reason: Error): void;
  /** Called at most once per acquired term, when leadership is lost without release(). */
  onLost(listener: (reason: Error) => void): void;
  /** Lets go, if held. Safe to call when not leading. */
  release(): Promise<void>;
  /** Who leads, as anyone can see it (the leader itself, other workers, the CLI). */
  currentOwner(): Promise<LeadershipSnapshot>;
  /**
   * Whose leadership the last won bid replaced, where the election can tell
   * (the lock file names its previous owner); null when nobody had led;
   * undefined when the election cannot say.
   */
  readonly replaced?: LeaderOwner | null;
  /** Cheap check right before a job runs: does this process still lead? */
  stillLeading(): Promise<boolean>;
}

export function ownerForThisProcess(workerId: number | null, now = Date.now()): LeaderOwner {
  return { pid: process.pid, hostname: os.hostname(), workerId, acquiredAt: new Date(now).toISOString(), startTime: processStartTime(process.pid) };
}

export function parseOwner(text: string): LeaderOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LeaderOwner>;
    if (typeof value?.pid !== 'number' || typeof value.hostname !== 'string') return null;
    return {
      pid: value.pid,
      hostname: value.hostname,
      workerId: value.workerId ?? null,
      acquiredAt: String(value.acquiredAt ?? ''),
      startTime: typeof value.startTime === 'string' ? value.startTime : null,
      lockId: typeof value.lockId === 'string' ? value.lockId : null,
      term: typeof value.term === 'number' ? value.term : null,
    };
  } catch {
    return null;
  }
}

