// The leader moves overrides along their own lifecycle, as stage-lifecycle.ts
// moves stages: at an override's start (pending -> active) and end
// (active -> completed) its status flips and a transition is recorded for its
// stage with the override's id and its lag. One transaction per batch, which
// takes its lock before reading what is due (SQLite: the write lock, by
// writing first; MySQL: the due rows, FOR UPDATE), so two sweeps at once
// (a second leader in a failover) never record one boundary twice: an
// override another sweep moved is no longer due when this one reads it.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { isMysql } from '../db/dialect.js';
import { numberFromDb } from '../db/rows.js';
import type { Transactions } from '../db/transactions.js';
import { nullableMs } from './stage-row.js';
import { firstBoundary } from './stage-lifecycle.js';
import { statusAt, transitionPath, type StageStatus, type SweepCause } from './stage-status.js';

/**
 * Overrides moved per transaction. On SQLite a batch holds the one write lock,
 * so hand-ins wait behind it: 2,000 keep that wait short. On MySQL hand-ins do
 * not wait for it, but every batch waits its turn for a pool connection among
 * the requests: 20,000 overrides ending at once under 200 clients took 4.1 s in
 * batches of 2,000 (bench:storm with OVERRIDES), the wait repeated ten times.
 */
const MYSQL_BATCH = 10_000;
const SQLITE_BATCH = 2000;

interface DueOverride {
  id: number;
  stage_id: number;
  status: string;
  start_date: unknown;
  end_date: unknown;
  stage_start: unknown;
}

export interface OverrideSweepResult {
  moved: number;
  /** The lag of each transition recorded, ms after its boundary. */
  lags: number[];
}

/** Moves every due override; the transitions carry the transaction's term and the sweep's cause. */
export async function advanceOverrideStatuses(transaction: Transactions, cause: SweepCause): Promise<OverrideSweepResult> {
  const result: OverrideSweepResult = { moved: 0, lags: [] };
  for (;;) {
    // A batch's figures count once it has committed: a refused one (a newer leader) recorded nothing.
    const batch = await transaction((trx) => moveBatch(trx, transaction.term, cause));
    result.moved += batch.moved;
    result.lags.push(...batch.lags);
    if (!batch.full) return result;
  }
}

async function moveBatch(trx: Knex.Transaction, term: number | null, cause: SweepCause): Promise<OverrideSweepResult & { full: boolean }> {
  const mysql = isMysql(trx);
  const limit = mysql ? MYSQL_BATCH : SQLITE_BATCH;
  const result = { moved: 0, lags: [] as number[], full: false };
  if (!mysql) await trx('stage_overrides').where('id', -1).update({ status: trx.ref('status') });
  const at = await dbNowMs(trx);
  const query = trx('stage_overrides as o')
    .join('stages as s', 's.id', 'o.stage_id')
    .where('o.next_boundary', '<=', at)
    .orderBy('o.id')
    .limit(limit)
    .select<DueOverride[]>('o.id', 'o.stage_id', 'o.status', 'o.start_date', 'o.end_date', 's.start_date as stage_start');
  const rows = await (mysql ? query.forUpdate('o') : query);
  const transitions: Record<string, unknown>[] = [];
  const byStatus = new Map<StageStatus, number[]>();
  for (const row of rows) {
    const ownStart = nullableMs(row.start_date);
    const end = numberFromDb(row.end_date);
    const next = statusAt(ownStart ?? numberFromDb(row.stage_start), end, at);
    const ids = byStatus.get(next);
    if (ids) ids.push(Number(row.id));
    else byStatus.set(next, [Number(row.id)]);
    for (const [from, to] of transitionPath(row.status as StageStatus, next)) {
      // Without a start of its own the override opened with the stage: that step is the stage's.
      if (from === 'pending' && ownStart === null) continue;
      const boundary = from === 'pending' ? ownStart! : end;
      const lag = Math.max(0, at - boundary);
      result.lags.push(lag);
      transitions.push({ stage_id: row.stage_id, from_status: from, to_status: to, at, cause, term, override_id: row.id, lag_ms: lag });
    }
  }
  for (let i = 0; i < transitions.length; i += 500) await trx('stage_transitions').insert(transitions.slice(i, i + 500));
  for (const [status, ids] of byStatus) await trx('stage_overrides').whereIn('id', ids).update({ status });
  result.moved = rows.length;
  result.full = rows.length === limit;
  return result;
}

/** The earliest boundary any override still has to cross; null when none has. */
export async function nextOverrideBoundary(db: Knex): Promise<number | null> {
  // As for stages (stage-lifecycle.ts says why not MIN()).
  return firstBoundary(db, 'stage_overrides');
}
