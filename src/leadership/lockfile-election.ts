// Leader election on one host: proper-lockfile's `<file>.lock` directory is
// the lock (its mtime refreshed by the holder, taken over by anyone once it
// is older than `staleMs`), and `<file>` itself names the owner as JSON so
// `cat` shows who leads.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import lockfile from 'proper-lockfile';
import { ownerForThisProcess, parseOwner, type Election, type LeaderOwner, type LeadershipSnapshot } from './election.js';
import type { Knex } from 'knex';
import { lockDirectoryId } from './dead-leader.js';
import { processState } from './process-identity.js';
import { beginTerm } from './terms.js';
import { recordTermEnd, type PredecessorFate } from './term-history.js';

export interface LockfileElectionOptions {
  file: string;
  staleMs: number;
  workerId: number | null;
  /**
   * The shared database that grants terms. Without it (tests of the lock
   * alone, lock:status) leadership has no term and writes are not fenced.
   */
  db?: Knex;
}

export class LockfileElection implements Election {
  private releaseLock: (() => Promise<void>) | null = null;
  private lostListeners: ((reason: Error) => void)[] = [];
  private heldTerm: number | null = null;

  constructor(private readonly options: LockfileElectionOptions) {}

  get lockDirectory(): string {
    return `${this.options.file}.lock`;
  }

  get term(): number | null {
    return this.releaseLock ? this.heldTerm : null;
  }

  stepDown(reason: Error): void {
    this.lost(reason);
  }

  async acquire(predecessor?: PredecessorFate): Promise<boolean> {
    if (this.releaseLock) return true;
    fs.mkdirSync(path.dirname(this.options.file), { recursive: true });
    checkLockPath(this.options.file);
    try {
      this.releaseLock = await lockfile.lock(this.options.file, {
        stale: this.options.staleMs,
        // Refresh well inside the stale window so one slow refresh is not fatal.
        update: Math.max(1000, Math.floor(this.options.staleMs / 4)),
        realpath: false,
        retries: 0,
        // The default throws inside a timer and kills the process; losing the
        // lock must instead stop the scheduler at once and let us retry later.
        onCompromised: (err) => this.lost(err),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return false;
      throw err;
    }
    const owner = ownerForThisProcess(this.options.workerId);
    try {
      this.heldTerm = this.options.db ? await beginTerm(this.options.db, { ...owner, election: 'lockfile' }, predecessor ?? fateOf(readOwner(this.options.file))) : null;
      // Which directory we took, so the lock of a dead leader can be told from
      // a newer one made beside its owner file (dead-leader.ts).
      writeOwner(this.options.file, { ...owner, lockId: lockDirectoryId(this.lockDirectory), term: this.heldTerm });
    } catch (err) {
      // No term (the database is away) or no name: lead nothing, hold nothing.
      await this.release().catch(() => undefined);
      throw err;
    }
    return true;
  }

  onLost(listener: (reason: Error) => void): void {
    this.lostListeners.push(listener);
  }

  async release(): Promise<void> {
    const release = this.releaseLock;
    const term = this.heldTerm;
    this.releaseLock = null;
    this.heldTerm = null;
    if (!release) return;
    // Said before the lock goes, so the successor finds the term closed. The
    // history is a record, not a guard: a database away must not keep the lock.
    if (term !== null && this.options.db) await recordTermEnd(this.options.db, term, 'released').catch(() => undefined);
    try {
      await release();
    } catch (err) {
      // Already taken away (compromised): nothing of ours left to remove.
      if ((err as NodeJS.ErrnoException).code !== 'ERELEASED') throw err;
    }
  }

  currentOwner(): Promise<LeadershipSnapshot> {
    return Promise.resolve(readLockState(this.options.file, this.options.staleMs));
  }

  stillLeading(): Promise<boolean> {
    if (!this.releaseLock) return Promise.resolve(false);
    const snapshot = readLockState(this.options.file, this.options.staleMs);
    const ours = snapshot.state === 'held' && snapshot.owner?.pid === process.pid && snapshot.owner.hostname === os.hostname();
    // A stale directory means our refreshes stopped (a blocked event loop):
    // anyone may take over now, so we must not run anything.
    if (!ours) this.lost(new Error(`scheduler lock is ${snapshot.state === 'held' ? `held by pid ${snapshot.owner?.pid}` : snapshot.state}`));
    return Promise.resolve(ours);
  }

  private lost(reason: Error): void {
    if (!this.releaseLock) return;
    this.releaseLock = null;
    for (const listener of this.lostListeners) listener(reason);
  }
}

/** How the previous holder's term ended, judged from the owner file it left. */
function fateOf(previous: LeaderOwner | null): PredecessorFate {
  if (previous && previous.hostname === os.hostname() && processState(previous.pid, previous.startTime) === 'alive') return { reason: 'stale' };
  return { reason: previous?.hostname === os.hostname() ? 'died' : 'stale' };
}

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

function writeOwner(file: string, owner: LeaderOwner): void {
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
