// Decides whether this worker runs the scheduler: try the election at boot,
// and, while someone else leads, again every retryMs, so a dead leader is
// replaced without a restart. Losing the lock halts the scheduler at once:
// two schedulers must never run side by side.
import type { Logger } from '../log.js';
import type { Election, LeadershipSnapshot } from './election.js';
import { sleep } from '../time.js';

const OWNER_SETTLE_TRIES = 5;
const OWNER_SETTLE_MS = 50;

/** What leadership starts and stops; the scheduler in production. */
export interface LeaderDuty {
  start(): Promise<void>;
  /** Stop now, synchronously: the lock is already gone. */
  halt(): void;
  stop(timeoutMs: number): Promise<void>;
}

export interface LeadershipDeps<D extends LeaderDuty> {
  election: Election;
  log: Logger;
  retryMs: number;
  /** Describes where the lock lives, for the log line. */
  lockDescription: string;
  createDuty(): D;
}

export class Leadership<D extends LeaderDuty = LeaderDuty> {
  private duty: D | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastSeenLeader: number | null | undefined = undefined;
  private stopped = false;
  private attempting: Promise<void> = Promise.resolve();

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
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const { election, log } = this.deps;
    try {
      if (await election.acquire()) {
        const duty = this.deps.createDuty();
        try {
          await duty.start();
        } catch (err) {
          duty.halt();
          await election.release();
          throw err;
        }
        this.duty = duty; // even if stop() came meanwhile: it waits for us, then stops the duty
        this.lastSeenLeader = process.pid;
        log.info({ lock: this.deps.lockDescription }, `scheduler started in pid ${process.pid}`);
        return;
      }
      const { owner } = await this.settledOwner();
      const leaderPid = owner?.pid ?? null;
      // Said once per leader, not on every retry.
      if (leaderPid !== this.lastSeenLeader) {
        log.info({ leaderPid, leaderHost: owner?.hostname }, `scheduler already running in pid ${leaderPid ?? 'unknown'}, skipping`);
        this.lastSeenLeader = leaderPid;
      }
    } catch (err) {
      log.error({ err }, 'scheduler election attempt failed');
    }
    this.scheduleRetry();
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

  private scheduleRetry(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.attempting = this.attempt();
    }, this.deps.retryMs);
  }

  private lost(reason: Error): void {
    const duty = this.duty;
    this.duty = null;
    duty?.halt();
    this.deps.log.error({ err: reason }, 'scheduler lock lost: scheduler stopped');
    this.lastSeenLeader = undefined;
    this.scheduleRetry();
  }
}
