// The status rules of a stage, in one place. A stage is pending before its
// start, active from its start until (not including) its end, completed after.
import type { Knex } from 'knex';

export const STAGE_STATUSES = ['pending', 'active', 'completed'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

/** What moved a stage: the scheduler (timer, sweep, startup), a teacher's edit, or its creation with dates already past. */
export type TransitionCause = 'timer' | 'sweep' | 'startup' | 'edit' | 'created';

/** The causes the scheduler records. */
export type SweepCause = Exclude<TransitionCause, 'edit' | 'created'>;

export function statusAt(startMs: number, endMs: number, nowMs: number): StageStatus {
  if (nowMs < startMs) return 'pending';
  if (nowMs < endMs) return 'active';
  return 'completed';
}

/**
 * The transitions that lead from one status to another. Moving forward
 * records every step (pending -> active -> completed, so history shows the
 * stage was open); moving back (a teacher reopens a stage) is one step.
 */
export function transitionPath(from: StageStatus, to: StageStatus): Array<[StageStatus, StageStatus]> {
  if (from === to) return [];
  const order = STAGE_STATUSES.indexOf(from);
  const target = STAGE_STATUSES.indexOf(to);
  if (target < order) return [[from, to]];
  const steps: Array<[StageStatus, StageStatus]> = [];
  for (let i = order; i < target; i++) steps.push([STAGE_STATUSES[i], STAGE_STATUSES[i + 1]]);
  return steps;
}

export async function recordTransitions(
  trx: Knex | Knex.Transaction,
  stageId: number,
  from: StageStatus,
  to: StageStatus,
  atMs: number,
  cause: TransitionCause,
): Promise<void> {
  const rows = transitionPath(from, to).map(([a, b]) => ({ stage_id: stageId, from_status: a, to_status: b, at: atMs, cause }));
  if (rows.length) await trx('stage_transitions').insert(rows);
}
