import { advanceStageStatuses, type SweepResult } from '../domain/stage-lifecycle.js';
import type { TransitionCause } from '../domain/stage-status.js';
import type { FireReason, JobContext } from './registry.js';

const CAUSE: Record<FireReason, Exclude<TransitionCause, 'edit'>> = {
  cron: 'sweep',
  timer: 'timer',
  startup: 'startup',
  manual: 'sweep',
};

export function sweepStageStatuses({ db, reason }: JobContext): Promise<SweepResult> {
  return advanceStageStatuses(db, CAUSE[reason]);
}
