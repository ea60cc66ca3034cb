// The stage status sweep: moves every due stage along its lifecycle. Fired by
// its cron, at each stage boundary (nextDue), and when a leader starts.
import { advanceStageStatuses, nextStageBoundary, type SweepResult } from '../domain/stage-lifecycle.js';
import type { SweepCause } from '../domain/stage-status.js';
import { announceStagesChanged } from '../domain/stage-events.js';
import type { FireReason, JobContext } from './job.js';

export { nextStageBoundary };

const CAUSE: Record<FireReason, SweepCause> = {
  cron: 'sweep',
  timer: 'timer',
  startup: 'startup',
  manual: 'sweep',
};

/**
 * One transaction, fenced with the leader's term: a superseded leader's sweep
 * changes nothing. Once it has committed, the stages it moved are announced,
 * so open course and stage pages on every worker show them at once.
 */
export async function sweepStageStatuses({ reason, term, write }: JobContext): Promise<SweepResult> {
  const result = await write((db) => advanceStageStatuses(db, CAUSE[reason], term));
  if (result.activated + result.completed > 0) announceStagesChanged();
  return result;
}
