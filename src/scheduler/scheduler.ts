// Runs the registered jobs in the leader only, each on the triggers its
// definition declares: its cron, its due-time trigger, and leader start-up.
// Each fire is checked twice before its body runs: this process must still
// lead, and the fire's (job, instant) claim must be ours. What happened is
// always written down: success, error (with the stack), skipped or missed.
import os from 'node:os';
import type schedule from 'node-schedule';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { findJob, type FireReason, type JobDefinition } from '../jobs/job.js';
import { toIso } from '../time.js';
import type { Alerter } from './alerts.js';
import { nextCronRun, scheduleCron } from './cron.js';
import { dueTimerFor, DueTimers } from './due-timer.js';
import type { Election } from '../leadership/election.js';
import { closeAbandonedExecutions, claimFire, recordOutcome, startUnclaimedExecution, type RecordedBy } from './executions.js';
import { JobRunner, type StartedRun } from './job-runner.js';
import { listStoredJobs, recordNextDue, upsertJob } from './job-store.js';
import { alertMissed, MISFIRE_GRACE_MS, recordMissedFires } from './missed-fires.js';
import { RunRequestPoller } from './run-requests.js';
import { leaderWrites, SupersededError, type LeaderWrite } from './leader-writes.js';
import { jobStartLagSeconds, supersededWrites } from './metrics.js';
import { OutageFires } from './outage-fires.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { JobBusyError, UnknownJobError } from './run-now.js';
import { isPaused } from './pause.js';
import { PausedFires } from './paused-fires.js';

export interface SchedulerDeps {
  db: Knex;
  log: Logger;
  config: Config;
  jobs: JobDefinition[];
  election: Election;
  alert: Alerter;
}

export class Scheduler {
  private readonly crons = new Map<string, schedule.Job>();
  /** Poked by the seam when stage dates change, and here after what may move them. */
  readonly dueTimers = new DueTimers();
  private readonly recordedBy: RecordedBy;
  private readonly write: LeaderWrite;
  private readonly jobRunner: JobRunner;
  private readonly requests: RunRequestPoller;
  private readonly outage: OutageFires;
  private stopped = false;
  private triggersStarted = false;
  private stopping: Promise<void> | undefined;
  /** The armed instants being written down, one after another. */
  private armedWrites: Promise<void> = Promise.resolve();
  private readonly pausedFires: PausedFires;

  constructor(private readonly deps: SchedulerDeps) {
    const { db, log, config, alert, election } = deps;
    // The term this leadership was granted: every write below carries it.
    const term = election.term;
    this.recordedBy = { pid: process.pid, hostname: os.hostname(), term };
    const write = (this.write = leaderWrites(db, term));
    const onSuperseded = (err: SupersededError) => this.superseded(err);
    this.jobRunner = new JobRunner({ db, log, config, alert, recordedBy: this.recordedBy, write, onSuperseded, nextRunAt: (id) => this.nextRunAt(id), halted: () => this.stopped });
    this.pausedFires = new PausedFires({ write, recordedBy: this.recordedBy, log, nextRunAt: (id) => this.nextRunAt(id) });
    this.outage = new OutageFires({ write, recordedBy: this.recordedBy, log, onBack: () => this.recheckDueTimes() });
    this.requests = new RunRequestPoller({ log, write, term, onSuperseded, stillLeading: () => election.stillLeading(), runNow: (id) => this.runNow(id) });
    for (const job of deps.jobs) {
      // A retry of the same due time is a fire of its own: claimed under
      // the instant it happens, since the first attempt's claim is taken.
      const fire = (dueAt: number, retry: boolean) => this.fire(job, retry ? Date.now() : dueAt, 'timer', dueAt);
      this.dueTimers.add(dueTimerFor(job, db, log, { fire, onArmed: (at) => this.recordArmed(job.id, at) }));
    }
  }

  async start(): Promise<void> {
    try {
      await this.startTriggers();
    } catch (err) {
      // Refused at start: someone newer leads already. Not an error to retry on.
      if (err instanceof SupersededError) return this.superseded(err);
      throw err;
    }
  }

  private async startTriggers(): Promise<void> {
    const { db, jobs, log } = this.deps;
    const now = Date.now();
    const previous = new Map((await listStoredJobs(db)).map((j) => [j.id, j]));
    const term = this.recordedBy.term ?? null;
    if (term !== null) {
      const closed = await this.write((trx) => closeAbandonedExecutions(trx, term, now));
      if (closed) log.warn({ executions: closed }, 'executions left running by an earlier leader are recorded as errors');
    }
    const catchUp: JobDefinition[] = [];
    // Halted while starting (leadership lost meanwhile): arm nothing more.
    for (const job of jobs) {
      if (this.stopped) return;
      this.crons.set(job.id, scheduleCron(job, log, (scheduledFor) => this.fire(job, scheduledFor, 'cron')));
      const missed = await recordMissedFires(this.missedFireDeps, job, previous.get(job.id)?.nextRunAt ?? null, now);
      if (job.runOnLeaderStart || (missed > 0 && job.misfire === 'run-once')) catchUp.push(job);
      await this.write((trx) => upsertJob(trx, job, this.nextRunAt(job.id), this.recordedBy.term ?? null));
    }
    // What fell due while no leader ran is caught up before the due timers
    // look for what comes next.
    for (const job of catchUp) await this.fire(job, now, 'startup');
    for (const timer of this.dueTimers) if (!this.stopped) await timer.start();
    if (this.stopped) return;
    this.requests.start();
    this.triggersStarted = true;
  }

  /** The data behind the due-time triggers changed somewhere: look again at what is due next. */
  recheckDueTimes(): void {
    if (this.stopped) return;
    this.dueTimers.poke();
  }

  /**
   * Writes down what a due timer is armed for (scheduler_jobs.next_due_at), so
   * every worker's console can show it. In order, and off the timer's path: a
   * fire never waits for this write.
   */
  private recordArmed(jobId: string, at: number | null): void {
    this.armedWrites = this.armedWrites.then(async () => {
      if (this.stopped) return;
      try {
        await this.write((db) => recordNextDue(db, jobId, at, this.recordedBy.term ?? null));
      } catch (err) {
        if (err instanceof SupersededError) return this.superseded(err);
        this.deps.log.warn({ err, jobId }, 'could not record the instant the due timer is armed for');
      }
    });
  }

  nextRunAt(jobId: string): number | null {
    return nextCronRun(this.crons.get(jobId));
  }

  isRunning(jobId: string): boolean {
    return this.jobRunner.isRunning(jobId);
  }

  /**
   * Runs a job now, outside its triggers. Resolves with the execution id once
   * it has started; `done` settles when it has finished.
   */
  async runNow(jobId: string): Promise<StartedRun> {
    const job = findJob(this.deps.jobs, jobId);
    if (!job) throw new UnknownJobError(jobId);
    if (this.jobRunner.isRunning(job.id)) throw new JobBusyError(job.id);
    const now = Date.now();
    const started = await this.jobRunner.startExclusive(job, now, 'manual', () => this.write((db) => startUnclaimedExecution(db, { jobId: job.id, ...this.recordedBy }, now)));
    // What the run changed may move what is due next (a resumed sweep crossed
    // the boundary it was held at). Not in a scheduler that never started
    // its triggers (scheduler:run --local): that must arm nothing.
    if (this.triggersStarted) void started!.done.then(() => this.recheckDueTimes());
    return started!; // an unclaimed execution is always created, and manual runs are never abandoned
  }

  /** Lost the lock: cancel every timer now, without waiting for anything. */
  halt(): void {
    this.stopped = true;
    this.requests.stop();
    this.outage.stop();
    for (const job of this.crons.values()) job.cancel();
    this.crons.clear();
    for (const timer of this.dueTimers) void timer.stop();
  }

  /** Graceful: no new fires, and wait (bounded) for the ones running. */
  stop(timeoutMs: number): Promise<void> {
    return (this.stopping ??= (async () => {
      this.halt();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.allSettled([this.jobRunner.settled(), ...[...this.dueTimers].map((t) => t.stop())]), timedOut]);
      clearTimeout(timer);
      const stillRunning = this.jobRunner.runningJobs;
      if (stillRunning.length) this.deps.log.warn({ jobs: stillRunning }, 'stopped while jobs were still running');
    })());
  }

  private get missedFireDeps() {
    return { write: this.write, alert: this.deps.alert, recordedBy: this.recordedBy };
  }

  /**
   * A write was refused: a newer term exists, so another leader runs. Halt at
   * once, write nothing more, and stop leading without touching the lock.
   */
  private superseded(err: SupersededError): void {
    // Every refusal is said and counted, also one that lands after the halt
    // (a run that was finishing when the first refusal came).
    this.deps.log.error({ ourTerm: err.ourTerm, currentTerm: err.currentTerm }, `write refused: term ${err.ourTerm} was superseded by term ${err.currentTerm}; scheduler halted`);
    supersededWrites.inc();
    if (this.stopped) return;
    this.halt();
    // Only the refused term steps down: this process may already hold a newer one.
    if (this.deps.election.term === err.ourTerm) this.deps.election.stepDown(err);
  }

  /** `dueAt`: for a due-time fire, the due instant it answers (its retries share it). */
  private async fire(job: JobDefinition, scheduledFor: number, reason: FireReason, dueAt = scheduledFor): Promise<void> {
    try {
      await this.fireChecked(job, scheduledFor, reason, dueAt);
      // A cron fire may have moved what a due timer waits for; a due timer's
      // own fire re-arms after itself (due-timer.ts), and a run-now in runNow.
      if (reason === 'cron' && job.nextDue && this.triggersStarted) this.recheckDueTimes();
    } catch (err) {
      if (err instanceof SupersededError) return this.superseded(err);
      if (isDatabaseUnavailable(err)) return this.outage.remember(job, scheduledFor, err);
      throw err;
    }
  }

  private async fireChecked(job: JobDefinition, scheduledFor: number, reason: FireReason, dueAt: number): Promise<void> {
    if (this.stopped) return;
    const { log, election } = this.deps;
    // The lock may have gone stale while the event loop was blocked; the
    // compromise callback would tell us, but perhaps only after this timer.
    if (!(await election.stillLeading())) return;

    // Paused: the trigger stays, the fire is written down and not run. Read
    // at each fire, so a pause made on any host holds here at once.
    if (await isPaused(this.deps.db, job.id)) return this.pausedFires.skip(job, scheduledFor, reason, dueAt);
    this.pausedFires.ran(job.id);

    if (reason === 'cron' && Date.now() - scheduledFor > MISFIRE_GRACE_MS && job.misfire === 'skip') {
      const id = await this.write((db) => recordOutcome(db, { jobId: job.id, scheduledFor, status: 'missed', reason: `fired ${Date.now() - scheduledFor} ms late`, ...this.recordedBy }));
      alertMissed(this.missedFireDeps, job, id, scheduledFor, 'fired too late to run');
      return;
    }
    if (this.jobRunner.isRunning(job.id)) {
      await this.write((db) => recordOutcome(db, { jobId: job.id, scheduledFor, status: 'skipped', reason: 'previous run still going', ...this.recordedBy }));
      log.warn({ jobId: job.id, scheduledFor: toIso(scheduledFor) }, 'fire skipped: previous run still going');
      return;
    }
    let claimedAt = 0;
    const claim = (db: Knex) => claimFire(db, { jobId: job.id, scheduledFor, ...this.recordedBy }, (claimedAt = Date.now()));
    const started = await this.jobRunner.startExclusive(job, scheduledFor, reason, () => this.write(claim));
    if (!started) {
      log.warn({ jobId: job.id, scheduledFor: toIso(scheduledFor) }, 'fire not run: claimed elsewhere, or the scheduler stopped');
      return;
    }
    // The execution's started_at is claimedAt: the same lag as the ledger's.
    jobStartLagSeconds.observe({ job: job.id }, Math.max(0, claimedAt - scheduledFor) / 1000);
    await started.done;
  }
}
