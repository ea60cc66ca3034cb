// Cron fires that came while no leader ran are written down as `missed` when
// the next leader starts, so the ledger has no holes, and one alert says so.
import cronParser from 'cron-parser';
import type { JobDefinition } from '../jobs/job.js';
import { toIso } from '../time.js';
import type { Alerter } from './alerts.js';
import { recordOutcome, type RecordedBy } from './executions.js';
import type { LeaderWrite } from './leader-writes.js';

/** Fires this late after their instant count as missed, not as a slow start. */
export const MISFIRE_GRACE_MS = 1000;
/** Downtime can span thousands of fires; past this many, one row sums up the rest. */
const MAX_MISSED_ROWS = 100;

export interface MissedFireDeps {
  write: LeaderWrite;
  alert: Alerter;
  recordedBy: RecordedBy;
}

/**
 * Records the fires between `expectedAt` (the next run the previous leader
 * stored) and now as missed. Returns how many there were.
 */
export async function recordMissedFires(deps: MissedFireDeps, job: JobDefinition, expectedAt: number | null, now: number): Promise<number> {
  if (expectedAt === null || expectedAt > now - MISFIRE_GRACE_MS) return 0;
  const fires: number[] = [];
  const iterator = cronParser.parseExpression(job.cron, { currentDate: new Date(expectedAt - 1), endDate: new Date(now - MISFIRE_GRACE_MS), tz: job.timezone });
  while (iterator.hasNext() && fires.length <= MAX_MISSED_ROWS) fires.push(iterator.next().getTime());
  const more = fires.length > MAX_MISSED_ROWS;
  if (more) fires.pop();
  // One fenced transaction for them all: a leader starting after a long gap
  // must not spend its first lease period on a transaction per fire.
  const lastId = await deps.write(async (db) => {
    let id = 0;
    for (const [i, at] of fires.entries()) {
      const last = i === fires.length - 1;
      const reason = `no leader was running${last && more ? `; further fires until ${toIso(now)} were missed too` : ''}`;
      id = await recordOutcome(db, { jobId: job.id, scheduledFor: at, status: 'missed', reason, ...deps.recordedBy });
    }
    return id;
  });
  if (fires.length) {
    alertMissed(deps, job, lastId, fires[0], `${fires.length}${more ? '+' : ''} fire(s) missed while no leader was running`);
  }
  return fires.length;
}

export function alertMissed(deps: Pick<MissedFireDeps, 'alert' | 'recordedBy'>, job: JobDefinition, executionId: number, scheduledFor: number, message: string): void {
  deps.alert({ jobId: job.id, executionId, status: 'missed', message, scheduledFor: toIso(scheduledFor), ...deps.recordedBy });
}
