// The stage status sweep: moves every due stage along its lifecycle. Fired by
// its cron, at each stage boundary (nextDue), and when a leader starts.
import type { Knex } from 'knex';
import { advanceStageStatuses, nextStageBoundary, type InTransaction, type SweepResult } from '../domain/stage-lifecycle.js';
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
 * Each batch of the sweep is a transaction fenced with the leader's term, as
 * the whole sweep used to be: once a newer leader exists, the next batch is
 * refused (SupersededError) and nothing more moves. Once it has finished,
 * the stages it moved are announced, so open course and stage pages on every
 * worker show them at once (a refused sweep announces the batches it did
 * commit, as the error leaves).
 */
export async function sweepStageStatuses({ db, reason, term, write }: JobContext): Promise<SweepResult> {
  // Outside leadership (term null) `write` runs its work straight on the pool: each batch still needs a transaction.
  const run: InTransaction = term === null ? (work) => db.transaction(work) : (work) => write((trx) => work(trx as Knex.Transaction));
  let committed = 0;
  const inTransaction: InTransaction = async (work) => {
    const value = await run(work);
    committed += 1;
    return value;
  };
  let result: SweepResult | undefined;
  try {
    result = await advanceStageStatuses(db, CAUSE[reason], term, { inTransaction });
    return result;
  } finally {
    if (result ? result.activated + result.completed > 0 : committed > 0) announceStagesChanged('statuses');
  }
}
