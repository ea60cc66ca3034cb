// Who may run the scheduler. A strategy answers four questions: can I lead
// now (acquire), tell me the moment I no longer lead (onLost), let go
// (release), and who leads (currentOwner). The lock file on one host and a
// lease row in the shared database for several hosts both fit behind it.
import os from 'node:os';

export interface LeaderOwner {
  pid: number;
  hostname: string;
  workerId: number | null;
  /** ISO-8601 UTC. */
  acquiredAt: string;
}

export type LeadershipState = 'held' | 'stale' | 'free';

export interface LeadershipSnapshot {
  state: LeadershipState;
  owner: LeaderOwner | null;
}

export interface Election {
  /** Tries once; true when this process now leads. Never throws for "someone else leads". */
  acquire(): Promise<boolean>;
  /** Called at most once per acquired term, when leadership is lost without release(). */
  onLost(listener: (reason: Error) => void): void;
  /** Lets go, if held. Safe to call when not leading. */
  release(): Promise<void>;
  /** Who leads, as anyone can see it (the leader itself, other workers, the CLI). */
  currentOwner(): Promise<LeadershipSnapshot>;
  /** Cheap check right before a job runs: does this process still lead? */
  stillLeading(): Promise<boolean>;
}

export function ownerForThisProcess(workerId: number | null, now = Date.now()): LeaderOwner {
  return { pid: process.pid, hostname: os.hostname(), workerId, acquiredAt: new Date(now).toISOString() };
}

export function parseOwner(text: string): LeaderOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LeaderOwner>;
    if (typeof value?.pid !== 'number' || typeof value.hostname !== 'string') return null;
    return { pid: value.pid, hostname: value.hostname, workerId: value.workerId ?? null, acquiredAt: String(value.acquiredAt ?? '') };
  } catch {
    return null;
  }
}

/** True when pid is a live process on this host (signal 0 checks without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
