// The stage status sweep: moves every due stage along its lifecycle. Fired by
// its cron, at each stage boundary (nextDue), and when a leader starts.
import { transactions } from '../db/transactions.js';
import { advanceStageStatuses, nextStageBoundary, type SweepResult } from '../domain/stage-lifecycle.js';
import { advanceOverrideStatuses, nextOverrideBoundary } from '../domain/override-lifecycle.js';
import type { Knex } from 'knex';
import type { SweepCause } from '../domain/stage-status.js';
import { announceStagesChanged } from '../domain/stage-events.js';
import { lastTransitionId } from '../domain/stage-boundaries.js';
import type { FireReason, JobContext } from './job.js';
import { observeOverrideLags, observeTransitionLags } from './stage-transition-lag.js';

/** The next boundary of all stages and all overrides: what the leader arms its timer for. */
export async function nextBoundary(db: Knex): Promise<number | null> {
  const [stage, override] = await Promise.all([nextStageBoundary(db), nextOverrideBoundary(db)]);
  if (stage === null) return override;
  return override === null ? stage : Math.min(stage, override);
}

const CAUSE: Record<FireReason, SweepCause> = {
  cron: 'sweep',
  timer: 'timer',
  startup: 'startup',
  manual: 'sweep',
};

/**
 * Each batch of the sweep is a transaction of the job's (fenced with the
 * leader's term): once a newer leader exists, the next batch is refused
 * (SupersededError) and nothing more moves. Once it has finished, the stages
 * it moved are announced, so open course and stage pages on every worker show
 * them at once (a refused sweep announces the batches it did commit, as the
 * error leaves), and the lag of each transition it recorded is observed
 * (/metrics).
 */
export async function sweepStageStatuses(ctx: JobContext): Promise<SweepResult> {
  const afterId = await lastTransitionId(ctx.db);
  const result = await advanceAndAnnounce(ctx);
  await observeTransitionLags(ctx, afterId, result);
  // Then the overrides' own boundaries (a student's extension ending), fenced the same way.
  const overrides = await advanceOverrideStatuses(ctx.transaction, CAUSE[ctx.reason]);
  observeOverrideLags(overrides.lags);
  if (overrides.moved > 0) announceStagesChanged('statuses');
  return result;
}

async function advanceAndAnnounce({ reason, transaction }: JobContext): Promise<SweepResult> {
  let committed = 0;
  const counted = transactions(transaction.db, transaction.term, async (work) => {
    const value = await transaction(work);
    committed += 1;
    return value;
  });
  let result: SweepResult | undefined;
  try {
    result = await advanceStageStatuses(counted, CAUSE[reason]);
    return result;
  } finally {
    if (result ? result.activated + result.completed > 0 : committed > 0) announceStagesChanged('statuses');
  }
}
