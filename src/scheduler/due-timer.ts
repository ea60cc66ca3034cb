// A job's due-time trigger: keeps one node-schedule one-shot armed at the
// earliest instant the job says it is due (for the stage sweep: the next stage
// boundary, so a stage opens and closes within moments of its dates instead of
// at the next minute's sweep). After each fire, and whenever it is poked (the
// data changed somewhere), it asks again what comes next. Runs only in the
// leader.
import schedule from 'node-schedule';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import type { JobDefinition } from '../jobs/job.js';

export interface DueTimerDeps {
  /** The earliest due instant (epoch ms), possibly past; null if none. */
  findNext(): Promise<number | null>;
  /**
   * Runs the job for `boundary`; resolves when done. `retry`: the same
   * boundary fired before and moved nothing (the database's clock a hair
   * behind ours, or the run failed), so this is a new attempt at it.
   */
  fire(boundary: number, retry: boolean): Promise<void>;
  /**
   * The instant the timer is armed for changed (null: nothing is due). Called
   * synchronously, once per change; must not throw.
   */
  onArmed?(at: number | null): void;
  log: Logger;
  now?: () => number;
}

/**
 * When a fire changed nothing (the database clock is a little behind ours, or
 * the fire failed), the same boundary is due again at once: wait before trying
 * again instead of spinning, longer each time it happens in a row.
 */
const NO_PROGRESS_RETRY_MS = 100;
const NO_PROGRESS_RETRY_MAX_MS = 5000;

export class DueTimer {
  private job: schedule.Job | null = null;
  private retry: NodeJS.Timeout | null = null;
  private armedFor: number | null = null;
  /** What onArmed was last told; undefined before the first arm. */
  private reported: number | null | undefined = undefined;
  private lastFired: number | null = null;
  private stalledFires = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly deps: DueTimerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The instant the timer is armed for, if any (for status pages). */
  get nextRunAt(): number | null {
    return this.armedFor;
  }

  start(): Promise<void> {
    return this.rearm();
  }

  /** Something changed: look again for the next boundary. Safe to call often. */
  poke(): void {
    void this.rearm();
  }

  /** Cancels the timer and waits for a fire in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    await this.chain;
  }

  // Arming and firing are queued one after another, so a poke during a fire
  // re-arms after it, and two arms never leave two timers behind.
  private rearm(): Promise<void> {
    this.chain = this.chain.then(() => this.arm()).catch((err) => this.deps.log.error({ err }, 'due timer: arming failed'));
    return this.chain;
  }

  private async arm(): Promise<void> {
    if (this.stopped) return;
    const next = await this.deps.findNext();
    if (this.stopped) return;
    // Polled often in some set-ups: an unchanged boundary keeps its timer.
    if (this.job && next === this.armedFor) return;
    this.cancel();
    if (next === null) return this.report(null);

    if (this.lastFired !== null && next <= this.lastFired && next <= this.now()) {
      const delay = Math.min(NO_PROGRESS_RETRY_MS * 2 ** this.stalledFires++, NO_PROGRESS_RETRY_MAX_MS);
      this.armedFor = next;
      this.retry = setTimeout(() => this.fireNow(next), delay);
      return this.report(next);
    }
    this.stalledFires = 0;
    this.armedFor = next;
    // scheduleJob returns null, silently, for a date already past.
    const job = next > this.now() ? schedule.scheduleJob(new Date(next), () => this.fireNow(next)) : null;
    if (job) {
      job.on('error', (err) => this.deps.log.error({ err }, 'due timer: job error'));
      this.job = job;
    } else {
      this.retry = setTimeout(() => this.fireNow(next), 0);
    }
    this.report(next);
  }

  private report(at: number | null): void {
    if (at === this.reported) return;
    this.reported = at;
    this.deps.onArmed?.(at);
  }

  private fireNow(boundary: number): void {
    this.chain = this.chain
      .then(async () => {
        if (this.stopped) return;
        this.job = null;
        this.retry = null;
        const retry = this.lastFired === boundary;
        this.lastFired = boundary;
        await this.deps.fire(boundary, retry);
      })
      .catch((err) => this.deps.log.error({ err, boundary: new Date(boundary).toISOString() }, 'due timer: fire failed'))
      .then(() => this.arm())
      .catch((err) => this.deps.log.error({ err }, 'due timer: arming failed'));
  }

  private cancel(): void {
    this.job?.cancel();
    this.job = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.armedFor = null;
  }
}

/**
 * A leader's due-time triggers. The seam pokes them directly when it hears
 * that the data behind them changed (leader-link.ts).
 */
export class DueTimers implements Iterable<DueTimer> {
  private readonly timers: DueTimer[] = [];

  add(timer: DueTimer | null): void {
    if (timer) this.timers.push(timer);
  }

  /** The data behind them changed somewhere: each looks again at what is due next (a stopped one does nothing). */
  poke(): void {
    for (const timer of this.timers) timer.poke();
  }

  [Symbol.iterator](): Iterator<DueTimer> {
    return this.timers[Symbol.iterator]();
  }
}

/** The due-time trigger of a job that declares one (nextDue), else null. */
export function dueTimerFor(job: JobDefinition, db: Knex, log: Logger, deps: Pick<DueTimerDeps, 'fire' | 'onArmed'>): DueTimer | null {
  const nextDue = job.nextDue?.bind(job);
  if (!nextDue) return null;
  return new DueTimer({ log: log.child({ jobId: job.id }), findNext: () => nextDue(db), ...deps });
}
