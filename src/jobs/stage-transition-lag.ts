// The stage transition lag in /metrics: after each sweep, the leader reads the
// lags of the transitions that sweep recorded (each one's `at` minus the
// boundary it crossed) in one query, at most 10,000 of them, and observes
// them. A storm of transitions thus costs one bounded read, and a sweep that
// moved nothing costs only the read of the newest transition id before it.
import client from 'prom-client';
import type { SweepResult } from '../domain/stage-lifecycle.js';
import { sweepTransitionLags } from '../domain/stage-boundaries.js';
import type { JobContext } from './job.js';

export const TRANSITION_LAG_READ_LIMIT = 10_000;

export const stageTransitionLagSeconds = new client.Histogram({
  name: 'coursework_stage_transition_lag_seconds',
  help: 'How long after its boundary each stage transition the scheduler recorded came (at minus start_date or end_date)',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

export const overrideTransitionLagSeconds = new client.Histogram({
  name: 'coursework_override_transition_lag_seconds',
  help: "How long after its boundary each override transition (a team's or student's own start or end) the scheduler recorded came",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

/** Observes the lags of the override transitions a sweep committed (the sweep knows them: no read). */
export function observeOverrideLags(lags: number[]): void {
  for (const lag of lags) overrideTransitionLagSeconds.observe(Math.max(0, lag) / 1000);
}

/**
 * Observes the lags of the transitions a committed sweep recorded: those after
 * `afterId` (the newest transition id read before the sweep began).
 */
export async function observeTransitionLags({ db, log, transaction }: JobContext, afterId: number, result: SweepResult): Promise<void> {
  if (result.activated + result.completed === 0) return;
  try {
    const lags = await sweepTransitionLags(db, { afterId, at: result.now, term: transaction.term }, TRANSITION_LAG_READ_LIMIT);
    for (const lag of lags) stageTransitionLagSeconds.observe(Math.max(0, lag) / 1000);
  } catch (err) {
    // The sweep itself succeeded: a failed read of its figures does not undo that.
    log.warn({ err }, 'could not read the lags of the transitions this sweep recorded');
  }
}
