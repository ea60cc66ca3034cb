// What the leader writes down for the fires of a paused job: a `skipped` row
// with the reason `paused`, so the ledger has no holes, and the next run
// moved on. A due time stays due while paused, so its timer fires it again
// and again (with growing pauses): one row says it was skipped, until the job
// runs again.
import type { FireReason, JobDefinition } from '../jobs/job.js';
import type { Logger } from '../log.js';
import { toIso } from '../time.js';
import { recordOutcome, type RecordedBy } from './executions.js';
import { recordNextRun } from './job-store.js';
import type { LeaderWrite } from './leader-writes.js';
import { PAUSED_REASON } from './pause.js';

export interface PausedFiresDeps {
  write: LeaderWrite;
  recordedBy: RecordedBy;
  log: Logger;
  nextRunAt: (jobId: string) => number | null;
}

export class PausedFires {
  /** Per job, the due instant whose fire was skipped last (its retries are not new fires). */
  private readonly skippedDueAt = new Map<string, number>();

  constructor(private readonly deps: PausedFiresDeps) {}

  /** The job ran again: its next due-time skip is a new one. */
  ran(jobId: string): void {
    this.skippedDueAt.delete(jobId);
  }

  async skip(job: JobDefinition, scheduledFor: number, reason: FireReason, dueAt: number): Promise<void> {
    const { write, recordedBy, log, nextRunAt } = this.deps;
    if (reason === 'timer') {
      if (this.skippedDueAt.get(job.id) === dueAt) return;
      this.skippedDueAt.set(job.id, dueAt);
    }
    // The next run moves on, so the console shows it and the next leader
    // does not take the paused time for fires missed while nobody led.
    await write(async (db) => {
      await recordOutcome(db, { jobId: job.id, scheduledFor, status: 'skipped', reason: PAUSED_REASON, ...recordedBy });
      await recordNextRun(db, job.id, nextRunAt(job.id), recordedBy.term ?? null);
    });
    log.info({ jobId: job.id, scheduledFor: toIso(scheduledFor), reason }, 'fire skipped: the job is paused');
  }
}
