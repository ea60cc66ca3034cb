// Decides whether this worker runs the scheduler: try the election at boot,
// and, while someone else leads, again every retryMs, so a dead leader is
// replaced without a restart. Losing the lock halts the scheduler at once:
// two schedulers must never run side by side.
import type { Logger } from '../log.js';
import type { Election, LeadershipSnapshot } from './election.js';
import type { PredecessorFate } from './term-history.js';
import { sleep } from '../time.js';

// A winner names itself after its term is granted: a few hundred ms on a busy database.
const OWNER_SETTLE_TRIES = 20;
const OWNER_SETTLE_MS = 50;
/** While the election keeps failing (the database away), one log line per this long. */
const FAILURE_LOG_EVERY_MS = 30_000;

/** What leadership starts and stops; the scheduler in production. */
export interface LeaderWork {
  start(): Promise<void>;
  /** Stop now, synchronously: the lock is already gone. */
  halt(): void;
  stop(timeoutMs: number): Promise<void>;
}

export interface LeadershipDeps<D extends LeaderWork> {
  election: Election;
  log: Logger;
  retryMs: number;
  /** Describes where the lock lives, for the log line. */
  lockDescription: string;
  createLeaderWork(): D;
  /** Called once this process, having led, has let go on purpose (stop): a successor may bid now. */
  onReleased?(): void;
}

/** Why a bid is made now rather than at the next retry; said in the "scheduler started" line. */
export type BidCause = { kind: 'handed-over' | 'died'; previousPid: number; at?: number };

export class Leadership<D extends LeaderWork = LeaderWork> {
  private duty: D | null = null;
  /** A duty between a won bid and the end of its start(): a loss meanwhile must halt it too. */
  private starting: D | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastSeenLeader: number | null | undefined = undefined;
  private stopped = false;
  private attempting: Promise<void> = Promise.resolve();
  private failedAttempts = 0;
  private failureLoggedAt = 0;
  /** What the next successful bid answers to, when we know (a leader died, handed over). */
  private bidCause: BidCause | null = null;

  constructor(private readonly deps: LeadershipDeps<D>) {
    deps.election.onLost((reason) => this.lost(reason));
  }

  /** The running duty while this process leads, else null. */
  get current(): D | null {
    return this.duty;
  }

  start(): Promise<void> {
    this.attempting = this.attempt();
    return this.attempting;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.attempting;
    const duty = this.duty;
    this.duty = null;
    if (duty) await duty.stop(timeoutMs);
    await this.deps.election.release();
    if (duty) {
      this.deps.log.info({ lock: this.deps.lockDescription }, 'scheduler lock released');
      this.deps.onReleased?.();
    }
  }

  /**
   * The leader is gone (it let go, or died and its lock was cleared): bid now
   * rather than at the next retry. Ignored while leading or stopping.
   */
  bidNow(cause: BidCause): void {
    if (this.stopped || this.duty) return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.bidCause = cause;
    this.attempting = this.attempting.then(() => (this.duty || this.stopped ? undefined : this.attempt()));
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const { election, log } = this.deps;
    try {
      const won = await election.acquire(this.predecessorFate());
      this.attemptAnswered();
      if (won) {
        const duty = this.deps.createLeaderWork();
        this.starting = duty;
        try {
          await duty.start();
        } catch (err) {
          if (this.starting === duty) {
            this.starting = null;
            duty.halt();
            await election.release();
          }
          throw err;
        }
        // Lost while starting (a lease not renewed in time): lost() halted the
        // duty and set a retry; it never led.
        if (this.starting !== duty) return;
        this.starting = null;
        this.duty = duty; // even if stop() came meanwhile: it waits for us, then stops the duty
        const why = this.whyWeLead();
        this.lastSeenLeader = process.pid;
        this.bidCause = null;
        log.info({ lock: this.deps.lockDescription, why, term: election.term }, `scheduler started in pid ${process.pid} (term ${election.term ?? 'none'}): ${why}`);
        return;
      }
      // The cause was about the leader this bid answered; the next bid answers to whatever happens next.
      this.bidCause = null;
      const { owner } = await this.settledOwner();
      const leaderPid = owner?.pid ?? null;
      // Said once per leader, not on every retry.
      if (leaderPid !== this.lastSeenLeader) {
        log.info({ leaderPid, leaderHost: owner?.hostname }, `scheduler already running in pid ${leaderPid ?? 'unknown'}, skipping`);
        this.lastSeenLeader = leaderPid;
      }
    } catch (err) {
      this.attemptFailed(err);
    }
    this.scheduleRetry();
  }

  /**
   * With the database away every attempt fails, several times a second on
   * every worker: say the first failure, then one line per FAILURE_LOG_EVERY_MS
   * with the count, and once when attempts get an answer again.
   */
  private attemptFailed(err: unknown): void {
    this.failedAttempts += 1;
    const now = Date.now();
    if (this.failedAttempts > 1 && now - this.failureLoggedAt < FAILURE_LOG_EVERY_MS) return;
    this.failureLoggedAt = now;
    this.deps.log.error({ err, failedAttempts: this.failedAttempts }, this.failedAttempts === 1 ? 'scheduler election attempt failed' : `scheduler election attempts still failing (${this.failedAttempts} so far)`);
  }

  private attemptAnswered(): void {
    if (this.failedAttempts === 0) return;
    this.deps.log.info({ failedAttempts: this.failedAttempts }, `scheduler election answers again after ${this.failedAttempts} failed attempt(s)`);
    this.failedAttempts = 0;
  }

  /**
   * The winner writes its name into the lock file just after taking the lock,
   * so a loser reading at that moment finds no owner or the previous one:
   * look again a few times before reporting who leads.
   */
  private async settledOwner(): Promise<LeadershipSnapshot> {
    let snapshot = await this.deps.election.currentOwner();
    for (let i = 0; i < OWNER_SETTLE_TRIES && (snapshot.state !== 'held' || !snapshot.owner); i++) {
      await sleep(OWNER_SETTLE_MS);
      snapshot = await this.deps.election.currentOwner();
    }
    return snapshot;
  }

  /** How the previous term ended, when a bid cause tells us; else the election judges. */
  private predecessorFate(): PredecessorFate | undefined {
    const cause = this.bidCause;
    if (cause?.kind === 'died') return { reason: 'died', endedAt: cause.at ?? null };
    if (cause?.kind === 'handed-over') return { reason: 'released' };
    return undefined;
  }

  /**
   * Names the leader we actually replaced: the election says whose lock it
   * took where it can (the lock file's owner); a bid cause counts only when it
   * is about that leader, not one that died before an earlier, lost bid.
   */
  private whyWeLead(): string {
    const cause = this.bidCause;
    const replaced = this.deps.election.replaced;
    const previous = replaced === undefined ? this.lastSeenLeader : (replaced?.pid ?? null);
    if (cause && (replaced === undefined || previous === cause.previousPid)) {
      if (cause.kind === 'died') return `the previous leader (pid ${cause.previousPid}) died`;
      return `handed over by pid ${cause.previousPid}`;
    }
    if (this.lastSeenLeader === undefined) return 'first start';
    if (previous === null || previous === undefined || previous === process.pid) return 'no leader was running';
    // Found free or stale on a plain retry: released without a word, or frozen.
    return `the lock of pid ${previous} was free or stale`;
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    // One retry timer at a time, however the attempts were started.
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.attempting = this.attempt();
    }, this.deps.retryMs);
  }

  private lost(reason: Error): void {
    const duty = this.duty ?? this.starting;
    const wasStarting = this.duty === null && duty !== null;
    this.duty = null;
    this.starting = null;
    duty?.halt();
    this.deps.log.error({ err: reason }, wasStarting ? 'scheduler lock lost while the scheduler was starting: stopped' : 'scheduler lock lost: scheduler stopped');
    // Whoever wins next follows us: our own next win then says no leader was running, not 'first start'.
    this.lastSeenLeader = process.pid;
    this.scheduleRetry();
  }
}
