// Leader election on one host: proper-lockfile's `<file>.lock` directory is
// the lock (its mtime refreshed by the holder, taken over by anyone once it
// is older than `staleMs`), and `<file>` itself names the owner as JSON so
// `cat` shows who leads.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ownerForThisProcess, type Election, type LeaderOwner, type LeadershipSnapshot } from './election.js';
import { checkLockPath, readLockState, readOwner, writeOwner } from './lock-file.js';
import type { Knex } from 'knex';
import { lockDirectoryId } from './dead-leader.js';
import { processState } from './process-identity.js';
import { beginTerm } from './terms.js';
import { inTurn } from './lock-turns.js';
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

/** The lock as this process holds it: proper-lockfile's release, and which directory we made. */
interface HeldLock {
  release: () => Promise<void>;
  /** lockDirectoryId of the directory we made, read inside our turn; null where the file system keeps no birth time. */
  lockId: string | null;
}

export class LockfileElection implements Election {
  private held: HeldLock | null = null;
  /** The lock being let go: its directory is removed only if it is still this one. */
  private releasing: HeldLock | null = null;
  private lettingGo: Promise<void> = Promise.resolve();
  private lostListeners: ((reason: Error) => void)[] = [];
  private heldTerm: number | null = null;
  private replacedOwner: LeaderOwner | null = null;
  /**
   * proper-lockfile's file system calls, with one change: the removal of our
   * own directory when we let go checks first that the directory is still
   * ours, so a successor's lock is never removed.
   */
  private readonly lockFs = { ...fs, rmdir: (dir: string, done: (err: NodeJS.ErrnoException | null) => void) => this.removeDirectory(dir, done) };

  constructor(private readonly options: LockfileElectionOptions) {}

  get lockDirectory(): string {
    return `${this.options.file}.lock`;
  }

  get term(): number | null {
    return this.held ? this.heldTerm : null;
  }

  /** The owner named in the lock file when we took the lock: the leader we replaced. */
  get replaced(): LeaderOwner | null {
    return this.replacedOwner;
  }

  stepDown(reason: Error): void {
    this.lost(reason);
  }

  async acquire(predecessor?: PredecessorFate): Promise<boolean> {
    if (this.held) return true;
    await this.lettingGo;
    fs.mkdirSync(path.dirname(this.options.file), { recursive: true });
    checkLockPath(this.options.file);
    // One bidder at a time may take a stale lock (lock-turns.ts): two at once
    // would each remove "the stale one", and the second would remove the
    // first's fresh directory.
    const taken = await inTurn(this.options.file, () => null, () => this.lockOnce());
    if (!taken) return false;
    this.held = taken;
    const owner = ownerForThisProcess(this.options.workerId);
    const previous = readOwner(this.options.file);
    try {
      this.heldTerm = this.options.db ? await beginTerm(this.options.db, { ...owner, election: 'lockfile' }, predecessor ?? fateOf(previous)) : null;
      // Which directory we took, so the lock of a dead leader can be told from
      // a newer one made beside its owner file (dead-leader.ts).
      writeOwner(this.options.file, { ...owner, lockId: taken.lockId, term: this.heldTerm });
    } catch (err) {
      // No term (the database is away) or no name: lead nothing, hold nothing.
      await this.release().catch(() => undefined);
      throw err;
    }
    this.replacedOwner = previous;
    return true;
  }

  private async lockOnce(): Promise<HeldLock | null> {
    try {
      const release = await lockfile.lock(this.options.file, {
        stale: this.options.staleMs,
        // Refresh well inside the stale window so one slow refresh is not fatal.
        update: Math.max(1000, Math.floor(this.options.staleMs / 4)),
        realpath: false,
        retries: 0,
        fs: this.lockFs,
        // The default throws inside a timer and kills the process; losing the
        // lock must instead stop the scheduler at once and let us retry later.
        onCompromised: (err) => this.compromised(err),
      });
      return { release, lockId: lockDirectoryId(this.lockDirectory) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return null;
      throw err;
    }
  }

  onLost(listener: (reason: Error) => void): void {
    this.lostListeners.push(listener);
  }

  async release(): Promise<void> {
    const held = this.held;
    const term = this.heldTerm;
    this.held = null;
    this.heldTerm = null;
    if (!held) return this.lettingGo;
    // Said before the lock goes, so the successor finds the term closed. The
    // history is a record, not a guard: a database away must not keep the lock.
    if (term !== null && this.options.db) await recordTermEnd(this.options.db, term, 'released').catch(() => undefined);
    this.lettingGo = this.letGo(held);
    return this.lettingGo;
  }

  currentOwner(): Promise<LeadershipSnapshot> {
    return Promise.resolve(readLockState(this.options.file, this.options.staleMs));
  }

  stillLeading(): Promise<boolean> {
    const held = this.held;
    if (!held) return Promise.resolve(false);
    const snapshot = readLockState(this.options.file, this.options.staleMs);
    const named = snapshot.state === 'held' && snapshot.owner?.pid === process.pid && snapshot.owner.hostname === os.hostname();
    const ours = named && (held.lockId === null || lockDirectoryId(this.lockDirectory) === held.lockId);
    // A stale directory means our refreshes stopped (a blocked event loop):
    // anyone may take over now, so we must not run anything. A directory that
    // is not the one we made belongs to whoever made it.
    if (!ours) this.lost(new Error(named ? 'scheduler lock directory was replaced' : `scheduler lock is ${snapshot.state === 'held' ? `held by pid ${snapshot.owner?.pid}` : snapshot.state}`));
    return Promise.resolve(ours);
  }

  /** proper-lockfile gave the lock up itself (its refresh failed): nothing of ours is left to stop. */
  private compromised(reason: Error): void {
    if (!this.held) return;
    this.held = null;
    for (const listener of this.lostListeners) listener(reason);
  }

  /**
   * Leadership lost while proper-lockfile still holds the lock here (a newer
   * term refused our write, stillLeading() said no): stop refreshing at once,
   * or this process would keep a lock fresh that it does not lead under, and
   * nobody could ever take it (issue: the lock stays fresh while nobody leads).
   */
  private lost(reason: Error): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.lettingGo = this.letGo(held);
    for (const listener of this.lostListeners) listener(reason);
  }

  /** Stops the refresher now; the directory goes only if it is still the one we made (removeDirectory). */
  private async letGo(held: HeldLock): Promise<void> {
    this.releasing = held;
    try {
      await held.release();
    } catch (err) {
      // Already taken away (compromised): nothing of ours left to remove.
      if ((err as NodeJS.ErrnoException).code !== 'ERELEASED') throw err;
    } finally {
      this.releasing = null;
    }
  }

  private removeDirectory(dir: string, done: (err: NodeJS.ErrnoException | null) => void): void {
    const releasing = this.releasing;
    // A stale takeover inside acquire() already runs in our turn.
    if (!releasing) return fs.rmdir(dir, done);
    const removeIfOurs = async () => {
      // Where birth times are not kept we cannot tell directories apart: remove, as proper-lockfile would.
      if (releasing.lockId !== null && lockDirectoryId(dir) !== releasing.lockId) return;
      await fs.promises.rmdir(dir);
    };
    inTurn(this.options.file, () => undefined, removeIfOurs).then(
      () => done(null),
      (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? null : err),
    );
  }
}

/** How the previous holder's term ended, judged from the owner file it left. */
function fateOf(previous: LeaderOwner | null): PredecessorFate {
  if (previous && previous.hostname === os.hostname() && processState(previous.pid, previous.startTime) === 'alive') return { reason: 'stale' };
  return { reason: previous?.hostname === os.hostname() ? 'died' : 'stale' };
}
