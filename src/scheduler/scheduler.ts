// Runs the registered jobs with node-schedule, in the leader only. Each fire
// is checked twice before its body runs: this process must still lead, and
// the fire's (job, instant) claim must be ours. What happened is always
// written down: success, error (with the stack), skipped or missed.
import os from 'node:os';
import schedule from 'node-schedule';
import cronParser from 'cron-parser';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { nextStageBoundary } from '../domain/stage-lifecycle.js';
import type { FireReason, JobDefinition } from '../jobs/registry.js';
import { toIso } from '../time.js';
import type { Alerter } from './alerts.js';
import { BoundaryTimer } from './boundary-timer.js';
import type { Election } from './election.js';
import { abandonExecution, claimFire, finishExecution, recordOutcome, startUnclaimedExecution, type Runner } from './executions.js';
import { listStoredJobs, recordJobRun, upsertJob } from './job-store.js';
import { jobRuns } from '../cluster/metrics.js';
import { answerRunRequest, claimRunRequests } from './run-requests.js';

export interface SchedulerDeps {
  db: Knex;
  log: Logger;
  config: Config;
  jobs: JobDefinition[];
  election: Election;
  alert: Alerter;
}

/** Fires this late after their instant count as missed, not as a slow start. */
const MISFIRE_GRACE_MS = 1000;
/** Downtime can span thousands of fires; past this many, one row sums up the rest. */
const MAX_MISSED_ROWS = 100;
const STAGE_JOB = 'stage-status-sweep';
/** How often the leader looks for run-now requests from outside the cluster (the CLI, other hosts). */
const RUN_REQUEST_POLL_MS = 1000;

/**
 * A job's cron as node-schedule reads it: in the job's own zone, so "02:00"
 * means 02:00 there across DST changes (test/cron-dst.test.ts pins what that
 * does on the days the clocks move).
 */
export function cronTrigger(job: Pick<JobDefinition, 'cron' | 'timezone'>): { rule: string; tz: string } {
  return { rule: job.cron, tz: job.timezone };
}

export class Scheduler {
  private readonly scheduled = new Map<string, schedule.Job>();
  private readonly running = new Map<string, Promise<void>>();
  /** Present when the stage sweep is among the jobs (always, but for tests of other jobs). */
  private readonly boundaryTimer: BoundaryTimer | null = null;
  private readonly runner: Runner = { pid: process.pid, hostname: os.hostname() };
  private stopped = false;
  private requestPoll: NodeJS.Timeout | null = null;
  private polling = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: SchedulerDeps) {
    const stageJob = deps.jobs.find((j) => j.id === STAGE_JOB);
    if (stageJob) {
      this.boundaryTimer = new BoundaryTimer({
        log: deps.log,
        findNext: () => nextStageBoundary(deps.db),
        fire: (boundary) => this.fire(stageJob, boundary, 'timer'),
      });
    }
  }

  async start(): Promise<void> {
    const now = Date.now();
    const previous = new Map((await listStoredJobs(this.deps.db)).map((j) => [j.id, j]));
    const catchUp: JobDefinition[] = [];
    for (const job of this.deps.jobs) {
      const scheduled = schedule.scheduleJob(job.id, cronTrigger(job), (fireDate: Date) => this.fire(job, fireDate.getTime(), 'cron'));
      // scheduleJob returns null instead of throwing for a spec it cannot use.
      if (!scheduled) throw new Error(`Job ${job.id}: node-schedule rejected the trigger "${job.cron}"`);
      scheduled.on('error', (err) => this.deps.log.error({ err, jobId: job.id }, 'job fire failed'));
      this.scheduled.set(job.id, scheduled);

      const missed = await this.recordMissedFires(job, previous.get(job.id)?.nextRunAt ?? null, now);
      if (job.id === STAGE_JOB || (missed > 0 && job.misfire === 'run-once')) catchUp.push(job);
      await upsertJob(this.deps.db, job, this.nextRunAt(job.id));
    }
    // Stages whose dates passed while no leader ran are caught up before the
    // boundary timer looks for the next one.
    for (const job of catchUp) await this.fire(job, now, 'startup');
    await this.boundaryTimer?.start();
    this.requestPoll = setInterval(() => void this.pollRunRequests(), RUN_REQUEST_POLL_MS);
  }

  /** A stage was created, edited or deleted somewhere: look again at what comes next. */
  stageChanged(): void {
    if (!this.stopped) this.boundaryTimer?.poke();
  }

  get nextBoundaryAt(): number | null {
    return this.boundaryTimer?.nextRunAt ?? null;
  }

  nextRunAt(jobId: string): number | null {
    // A CronDate for cron rules, but getTime() is on both it and Date.
    return this.scheduled.get(jobId)?.nextInvocation()?.getTime() ?? null;
  }

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  /**
   * Runs a job now, outside its trigger. Resolves with the execution id once
   * it has started; `done` settles when it has finished.
   */
  async runNow(jobId: string): Promise<{ executionId: number; done: Promise<void> }> {
    const job = this.job(jobId);
    if (this.running.has(job.id)) throw new JobBusyError(job.id);
    const now = Date.now();
    const started = await this.startExclusive(job, now, 'manual', () => startUnclaimedExecution(this.deps.db, { jobId: job.id, ...this.runner }, now));
    return started!; // an unclaimed execution is always created
  }

  private async pollRunRequests(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      if (!(await this.deps.election.stillLeading())) return;
      // Workers on other hosts cannot tell us over IPC that a stage changed:
      // with a shared-database election, look for a new next boundary here.
      if (this.deps.config.leaderElection === 'db') this.boundaryTimer?.poke();
      for (const request of await claimRunRequests(this.deps.db)) {
        try {
          const { executionId } = await this.runNow(request.jobId);
          await answerRunRequest(this.deps.db, request.id, { executionId });
        } catch (err) {
          const code = err instanceof UnknownJobError ? 'unknown_job' : err instanceof JobBusyError ? 'job_running' : 'failed';
          await answerRunRequest(this.deps.db, request.id, { code, error: (err as Error).message });
        }
      }
    } catch (err) {
      this.deps.log.error({ err }, 'polling run-now requests failed');
    } finally {
      this.polling = false;
    }
  }

  /** Lost the lock: cancel every timer now, without waiting for anything. */
  halt(): void {
    this.stopped = true;
    if (this.requestPoll) clearInterval(this.requestPoll);
    for (const job of this.scheduled.values()) job.cancel();
    this.scheduled.clear();
    void this.boundaryTimer?.stop();
  }

  /** Graceful: no new fires, and wait (bounded) for the ones running. */
  stop(timeoutMs: number): Promise<void> {
    return (this.stopping ??= (async () => {
      this.halt();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.allSettled([...this.running.values(), this.boundaryTimer?.stop()]), timedOut]);
      clearTimeout(timer);
      if (this.running.size) this.deps.log.warn({ jobs: [...this.running.keys()] }, 'stopped while jobs were still running');
    })());
  }

  private job(id: string): JobDefinition {
    const job = this.deps.jobs.find((j) => j.id === id);
    if (!job) throw new UnknownJobError(id);
    return job;
  }

  private async fire(job: JobDefinition, scheduledFor: number, reason: FireReason): Promise<void> {
    if (this.stopped) return;
    const { db, log, election } = this.deps;
    // The lock may have gone stale while the event loop was blocked; the
    // compromise callback would tell us, but perhaps only after this timer.
    if (!(await election.stillLeading())) return;

    if (reason === 'cron' && Date.now() - scheduledFor > MISFIRE_GRACE_MS && job.misfire === 'skip') {
      const id = await recordOutcome(db, { jobId: job.id, scheduledFor, status: 'missed', reason: `fired ${Date.now() - scheduledFor} ms late`, ...this.runner });
      this.alertMissed(job, id, scheduledFor, 'fired too late to run');
      return;
    }
    if (this.running.has(job.id)) {
      await recordOutcome(db, { jobId: job.id, scheduledFor, status: 'skipped', reason: 'previous run still going', ...this.runner });
      log.warn({ jobId: job.id, scheduledFor: toIso(scheduledFor) }, 'fire skipped: previous run still going');
      return;
    }
    const started = await this.startExclusive(job, scheduledFor, reason, () => claimFire(db, { jobId: job.id, scheduledFor, ...this.runner }));
    if (!started) {
      log.warn({ jobId: job.id, scheduledFor: toIso(scheduledFor) }, 'fire not run: claimed elsewhere, or the scheduler stopped');
      return;
    }
    await started.done;
  }

  /**
   * Takes the job's slot before the first await, so a second fire arriving
   * while the execution row is written sees the job as running.
   */
  private async startExclusive(
    job: JobDefinition,
    scheduledFor: number,
    reason: FireReason,
    createExecution: () => Promise<number | null>,
  ): Promise<{ executionId: number; done: Promise<void> } | null> {
    let release!: () => void;
    this.running.set(job.id, new Promise<void>((resolve) => (release = resolve)));
    let executionId: number | null = null;
    try {
      executionId = await createExecution();
    } finally {
      if (executionId === null) this.running.delete(job.id);
      release();
    }
    if (executionId === null) return null;
    if (this.stopped && reason !== 'manual') {
      // Halted while the claim was in flight: leadership is gone, so must the run be.
      await abandonExecution(this.deps.db, executionId, 'scheduler stopped before the run began');
      return null;
    }
    return { executionId, done: this.execute(job, executionId, scheduledFor, reason) };
  }

  private execute(job: JobDefinition, executionId: number, scheduledFor: number, reason: FireReason): Promise<void> {
    const { db, log, config } = this.deps;
    const jobLog = log.child({ jobId: job.id, executionId });
    const body = Promise.resolve().then(() => job.run({ db, log: jobLog, config, reason }));
    const run = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${job.timeoutMs} ms`)), job.timeoutMs);
      });
      let status: 'success' | 'error' = 'success';
      try {
        const result = await Promise.race([body, timeout]);
        jobLog.info({ reason, result }, 'job succeeded');
        await finishExecution(db, executionId, { status });
      } catch (err) {
        status = 'error';
        await finishExecution(db, executionId, { status, error: err });
        this.deps.alert({ jobId: job.id, executionId, status: 'error', message: (err as Error).message ?? String(err), scheduledFor: toIso(scheduledFor), ...this.runner });
      } finally {
        clearTimeout(timer);
      }
      jobRuns.inc({ job: job.id, status });
      await recordJobRun(db, job.id, { lastRunAt: scheduledFor, lastStatus: status, nextRunAt: this.nextRunAt(job.id) });
    })();
    // A body that outlives its timeout still counts as running, so the next
    // fire is skipped rather than started beside it.
    const settled = Promise.allSettled([body, run]).then(() => {
      this.running.delete(job.id);
    });
    this.running.set(job.id, settled);
    return run.catch((err) => jobLog.error({ err }, 'could not record the execution'));
  }

  private async recordMissedFires(job: JobDefinition, expectedAt: number | null, now: number): Promise<number> {
    if (expectedAt === null || expectedAt > now - MISFIRE_GRACE_MS) return 0;
    const fires: number[] = [];
    const iterator = cronParser.parseExpression(job.cron, { currentDate: new Date(expectedAt - 1), endDate: new Date(now - MISFIRE_GRACE_MS), tz: job.timezone });
    while (iterator.hasNext() && fires.length <= MAX_MISSED_ROWS) fires.push(iterator.next().getTime());
    const more = fires.length > MAX_MISSED_ROWS;
    if (more) fires.pop();
    let lastId = 0;
    for (const [i, at] of fires.entries()) {
      const last = i === fires.length - 1;
      const reason = `no leader was running${last && more ? `; further fires until ${toIso(now)} were missed too` : ''}`;
      lastId = await recordOutcome(this.deps.db, { jobId: job.id, scheduledFor: at, status: 'missed', reason, ...this.runner });
    }
    if (fires.length) {
      this.alertMissed(job, lastId, fires[0]!, `${fires.length}${more ? '+' : ''} fire(s) missed while no leader was running`);
    }
    return fires.length;
  }

  private alertMissed(job: JobDefinition, executionId: number, scheduledFor: number, message: string): void {
    this.deps.alert({ jobId: job.id, executionId, status: 'missed', message, scheduledFor: toIso(scheduledFor), ...this.runner });
  }
}

export class UnknownJobError extends Error {
  constructor(readonly jobId: string) {
    super(`Unknown job "${jobId}"`);
  }
}

export class JobBusyError extends Error {
  constructor(readonly jobId: string) {
    super(`Job "${jobId}" is running`);
  }
}
