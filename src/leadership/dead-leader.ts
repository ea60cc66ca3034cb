// Lock file mode: a leader that died on this host need not hold everyone up
// until its lock goes stale. Its lock is removed at once when the owner it
// names is provably dead, and only then:
// - the owner file is written just after the lock directory is made, so a
//   reader can see the previous owner beside a new directory. The owner file
//   records which directory it took (inode and birth time: an inode number is
//   reused at once after a removal, a birth time is not); a directory that is
//   not the one named is left alone.
// - a directory close to stale is left to proper-lockfile's stale takeover,
//   which may be removing it right now; a fresh one cannot be taken that way
//   for at least half the stale time, far longer than the check and removal.
// - removers on this host (the primary of each cluster, start.sh, bidders
//   taking a stale lock) take turns (lock-turns.ts), so two of them never act
//   on the same look.
// Where the birth time or the owner's start time cannot be read, nothing is
// removed here and staleness decides, as before.
import fs from 'node:fs';
import os from 'node:os';
import { parseOwner, type LeaderOwner } from './election.js';
import { processState } from './process-identity.js';
import { waitForTurnSync } from './lock-turns.js';

export type DeadLockCheck =
  | { cleared: true; owner: LeaderOwner }
  | { cleared: false; owner: LeaderOwner | null; why: string };

/** `inode:birthtime` of a directory, or null when it is missing or the file system keeps no birth time. */
export function lockDirectoryId(directory: string): string | null {
  try {
    const stat = fs.statSync(directory, { bigint: true });
    return stat.birthtimeNs > 0n ? `${stat.ino}:${stat.birthtimeNs}` : null;
  } catch {
    return null;
  }
}

/**
 * Removes `<file>.lock` if the owner it names is provably dead. With
 * `diedPid` (the primary saw that worker exit) the owner must be that pid.
 */
export function clearDeadOwnersLock(file: string, staleMs: number, diedPid?: number): DeadLockCheck {
  const lockDirectory = `${file}.lock`;
  const owner = readOwnerFile(file);
  const refuse = (why: string): DeadLockCheck => ({ cleared: false, owner, why });
  if (!owner) return refuse('no owner named');
  if (owner.hostname !== os.hostname()) return refuse(`owner is on ${owner.hostname}`);
  if (diedPid !== undefined && owner.pid !== diedPid) return refuse(`owner is pid ${owner.pid}, not ${diedPid}`);
  return withTurn(file, refuse, () => {
    if (!owner.lockId || !owner.startTime) return refuse('the owner did not record its lock or start time');
    if (processState(owner.pid, owner.startTime) === 'alive') return refuse(`owner pid ${owner.pid} is alive`);
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(lockDirectory).mtimeMs;
    } catch {
      return refuse('no lock directory');
    }
    if (lockDirectoryId(lockDirectory) !== owner.lockId) return refuse('the lock directory is newer than its owner file');
    if (Date.now() - mtimeMs > staleMs / 2) return refuse('the lock is close to stale: left to the stale takeover');
    try {
      fs.rmdirSync(lockDirectory);
    } catch (err) {
      return refuse(`could not remove it: ${(err as Error).message}`);
    }
    return { cleared: true, owner };
  });
}

function readOwnerFile(file: string): LeaderOwner | null {
  try {
    return parseOwner(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function withTurn(file: string, busy: (why: string) => DeadLockCheck, body: () => DeadLockCheck): DeadLockCheck {
  const endTurn = waitForTurnSync(file);
  if (!endTurn) return busy('another remover is looking at it');
  try {
    return body();
  } finally {
    endTurn();
  }
}
