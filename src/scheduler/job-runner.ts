// Runs one execution of a job at a time per job, bounded by the job's
// timeout, and writes down how it ended (success or error with its stack),
// with an alert on error.
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { FireReason, JobDefinition } from '../jobs/job.js';
import type { Logger } from '../log.js';
import { toIso } from '../time.js';
import type { Alerter } from './alerts.js';
import { abandonExecution, finishExecution, type RecordedBy } from './executions.js';
import { recordJobRun } from './job-store.js';
import { jobRuns } from './metrics.js';
import { fencedTransactions, SupersededError, type LeaderWrite } from './leader-writes.js';

export interface JobRunnerDeps {
  db: Knex;
  log: Logger;
  config: Config;
  alert: Alerter;
  recordedBy: RecordedBy;
  /** The job's next cron run, for its bookkeeping row. */
  nextRunAt(jobId: string): number | null;
  /** True once the scheduler halted: claimed fires must not start then. */
  halted(): boolean;
  /** The leader's writes, fenced with its term. */
  write: LeaderWrite;
  /** A write (or the job body's own fenced write) was refused for a newer term. */
  onSuperseded(err: SupersededError): void;
}

export interface StartedRun {
  executionId: number;
  /** Settles when the run has finished and been recorded. */
  done: Promise<void>;
}

export class JobRunner {
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly deps: JobRunnerDeps) {}

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  get runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /** Settles when every run going now has settled. */
  settled(): Promise<unknown> {
    return Promise.allSettled(this.running.values());
  }

  /**
   * Takes the job's slot before the first await, so a second fire arriving
   * while the execution row is written sees the job as running. Returns null
   * when `createExecution` did not create one (the fire was claimed
   * elsewhere) or the scheduler halted meanwhile.
   */
  async startExclusive(job: JobDefinition, scheduledFor: number, reason: FireReason, createExecution: () => Promise<number | null>): Promise<StartedRun | null> {
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
    if (this.deps.halted() && reason !== 'manual') {
      // Halted while the claim was in flight: leadership is gone, so must the run be.
      await this.deps.write((db) => abandonExecution(db, executionId, 'scheduler stopped before the run began'));
      return null;
    }
    return { executionId, done: this.execute(job, executionId, scheduledFor, reason) };
  }

  private execute(job: JobDefinition, executionId: number, scheduledFor: number, reason: FireReason): Promise<void> {
    const { db, log, config, recordedBy, write } = this.deps;
    const jobLog = log.child({ jobId: job.id, executionId });
    const term = recordedBy.term ?? null;
    const transaction = fencedTransactions(db, term);
    const body = Promise.resolve().then(() => job.run({ db, log: jobLog, config, reason, transaction }));
    const run = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${job.timeoutMs} ms`)), job.timeoutMs);
      });
      let status: 'success' | 'error' = 'success';
      try {
        const result = await Promise.race([body, timeout]);
        jobLog.info({ reason, result }, 'job succeeded');
        await write((trx) => finishExecution(trx, executionId, { status }));
      } catch (err) {
        // Refused for a newer term: record nothing more, stop leading.
        if (err instanceof SupersededError) throw err;
        status = 'error';
        await write((trx) => finishExecution(trx, executionId, { status, error: err }));
        const message = err instanceof Error ? err.message : String(err);
        this.deps.alert({ jobId: job.id, executionId, status: 'error', message, scheduledFor: toIso(scheduledFor), ...recordedBy });
      } finally {
        clearTimeout(timer);
      }
      jobRuns.inc({ job: job.id, status });
      await write((trx) => recordJobRun(trx, job.id, { lastRunAt: scheduledFor, lastStatus: status, nextRunAt: this.deps.nextRunAt(job.id) }, term));
    })();
    // A body that outlives its timeout still counts as running, so the next
    // fire is skipped rather than started beside it.
    const settled = Promise.allSettled([body, run]).then(() => {
      this.running.delete(job.id);
    });
    this.running.set(job.id, settled);
    return run.catch((err) => {
      if (err instanceof SupersededError) this.deps.onSuperseded(err);
      else jobLog.error({ err }, 'could not record the execution');
    });
  }
}
