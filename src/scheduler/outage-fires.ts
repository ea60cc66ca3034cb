// While the database is away a fire cannot be claimed, so it did not run. It
// is remembered here and written down as `missed` once the database answers
// again; that moment also re-arms the due-time triggers, so whatever fell
// due meanwhile (stages whose boundary passed) is caught up at once.
import type { JobDefinition } from '../jobs/job.js';
import type { Logger } from '../log.js';
import { toIso } from '../time.js';
import { recordOutcome, type RecordedBy } from './executions.js';
import type { LeaderWrite } from './leader-writes.js';

/** How often to try the database again while fires wait to be written down. */
const RETRY_MS = 1000;
/** An outage of hours must not grow memory without bound: past this, one line sums up. */
const MAX_REMEMBERED = 1000;

export interface OutageFiresDeps {
  write: LeaderWrite;
  recordedBy: RecordedBy;
  log: Logger;
  /** The database answers again. */
  onBack(): void;
}

export class OutageFires {
  private pending: { jobId: string; scheduledFor: number; reason: string }[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(private readonly deps: OutageFiresDeps) {}

  remember(job: JobDefinition, scheduledFor: number, err: unknown): void {
    const why = err instanceof Error ? err.message : String(err);
    if (this.pending.length === 0) this.deps.log.error({ err, jobId: job.id }, 'the database is not answering: fires are not run, and are recorded as missed once it is back');
    if (this.pending.length < MAX_REMEMBERED) this.pending.push({ jobId: job.id, scheduledFor, reason: `the database was not answering (${why})` });
    else this.dropped += 1;
    this.timer ??= setInterval(() => void this.flush(), RETRY_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length) {
        const fire = this.pending[0];
        const last = this.pending.length === 1 && this.dropped > 0;
        const reason = last ? `${fire.reason}; ${this.dropped} later fire(s) too` : fire.reason;
        await this.deps.write((db) => recordOutcome(db, { ...fire, reason, status: 'missed', ...this.deps.recordedBy }));
        this.pending.shift();
        if (last) this.dropped = 0;
      }
      this.stop();
      this.deps.log.info({ at: toIso(Date.now()) }, 'the database answers again: missed fires recorded, catching up');
      this.deps.onBack();
    } catch {
      // Still away: try again on the next tick.
    } finally {
      this.flushing = false;
    }
  }
}
