// The lock file as anyone on this host reads it: the `<file>.lock` directory
// (proper-lockfile's lock) and `<file>` beside it, the owner as JSON. Used by
// the election, the CLI's lock:status, start.sh's stale-lock clearing and
// the tests.
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseOwner, type LeaderOwner, type LeadershipSnapshot } from './election.js';
import { lockDirectoryId } from './dead-leader.js';
import { processState } from './process-identity.js';

/** The lock path is unusable: a symbolic link, or someone else's. */
export class LockPathError extends Error {
  override name = 'LockPathError';
}

/**
 * The lock often lives in a shared /tmp, where another local user could
 * plant a symbolic link (to make us write elsewhere) or a lock of their own
 * (to keep us from ever leading). Refuse both, naming the path.
 */
export function checkLockPath(file: string): void {
  const uid = process.getuid?.();
  for (const candidate of [file, `${file}.lock`]) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(candidate);
    } catch {
      continue; // not there yet: ours to create
    }
    if (stat.isSymbolicLink()) throw new LockPathError(`${candidate} is a symbolic link; refusing to use it for the scheduler lock (remove it, or set SCHEDULER_LOCK_FILE elsewhere)`);
    if (uid !== undefined && stat.uid !== uid) {
      throw new LockPathError(`${candidate} belongs to uid ${stat.uid}, not to this process (uid ${uid}); refusing to use it for the scheduler lock (remove it, or set SCHEDULER_LOCK_FILE elsewhere)`);
    }
  }
}

export function writeOwner(file: string, owner: LeaderOwner): void {
  // Written beside and renamed over, so a reader never sees half a file. The
  // temporary is created exclusively ('wx'): never written through a link or
  // a file someone placed there. rename() replaces the name, never a target.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temporary, JSON.stringify(owner) + '\n', { flag: 'wx', mode: 0o644 });
    fs.renameSync(temporary, file);
  } catch (err) {
    fs.rmSync(temporary, { force: true });
    throw err;
  }
}

export function readOwner(file: string): LeaderOwner | null {
  try {
    return parseOwner(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The lock as anyone on this host sees it: free (no lock directory), stale
 * (not refreshed within staleMs, or its owner on this host is dead), or held.
 */
export function readLockState(file: string, staleMs: number, now = Date.now()): LeadershipSnapshot {
  let mtime: number;
  try {
    mtime = fs.statSync(`${file}.lock`).mtimeMs;
  } catch {
    return { state: 'free', owner: null };
  }
  const owner = readOwner(file);
  // A dead owner only counts when the owner file describes this directory: a
  // lock just taken, its owner file not yet written, sits beside the previous
  // (dead) owner's file and must not be called stale for it.
  const ownerDead = owner !== null && owner.hostname === os.hostname() && processState(owner.pid, owner.startTime) === 'dead' && ownerFileDescribes(file, owner);
  return { state: now - mtime > staleMs || ownerDead ? 'stale' : 'held', owner };
}

function ownerFileDescribes(file: string, owner: LeaderOwner): boolean {
  const directory = `${file}.lock`;
  const id = lockDirectoryId(directory);
  if (id === null) return true; // no birth time on this file system: staleness alone can tell
  if (owner.lockId) return owner.lockId === id;
  // Written by an older version, with no lockId: it must not predate the directory.
  try {
    return fs.statSync(file, { bigint: true }).mtimeNs >= fs.statSync(directory, { bigint: true }).birthtimeNs;
  } catch {
    return false;
  }
}

/** Removes a stale lock (start.sh, before the cluster starts). Returns what it found. */
export function clearStaleLock(file: string, staleMs: number): LeadershipSnapshot {
  checkLockPath(file);
  const snapshot = readLockState(file, staleMs);
  if (snapshot.state === 'stale') fs.rmSync(`${file}.lock`, { recursive: true, force: true });
  return snapshot;
}
