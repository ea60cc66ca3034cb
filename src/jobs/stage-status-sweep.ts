// The stage status sweep: moves every due stage along its lifecycle. Fired by
// its cron, at each stage boundary (nextDue), and when a leader starts.
import { advanceStageStatuses, nextStageBoundary, type SweepResult } from '../domain/stage-lifecycle.js';
import type { TransitionCause } from '../domain/stage-status.js';
import type { FireReason, JobContext } from './job.js';

export { nextStageBoundary };

const CAUSE: Record<FireReason, Exclude<TransitionCause, 'edit'>> = {
  cron: 'sweep',
  timer: 'timer',
  startup: 'startup',
  manual: 'sweep',
};

/** One transaction, fenced with the leader's term: a superseded leader's sweep changes nothing. */
export function sweepStageStatuses({ reason, term, write }: JobContext): Promise<SweepResult> {
  return write((db) => advanceStageStatuses(db, CAUSE[reason], term));
}
