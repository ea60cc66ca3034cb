// The only code that moves stages along their lifecycle on its own. It
// works in batches: each transaction takes up to `batchSize` due stages,
// records their transitions with one INSERT ... SELECT per kind and flips
// their statuses (one UPDATE per batch), so 100k due stages cost a few
// statements per few thousand stages, not 100k round trips, and no
// transaction holds its row locks (MySQL) or the write lock (SQLite) for
// longer than one batch takes. SQLite sweeps the whole due set at once
// (sweepWholeDueSet), MySQL in batches (sweepInBatches).
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { isMysql } from '../db/dialect.js';
import { numberFromDb } from '../db/rows.js';
import type { StageRow } from '../db/tables.js';
import type { Transactions } from '../db/transactions.js';
import type { SweepCause } from './stage-status.js';

export interface SweepResult {
  activated: number;
  completed: number;
  /** The database instant the sweep judged the stages by. */
  now: number;
  /** Transactions the sweep wrote in (one per batch, at least one). */
  batches: number;
  /** The longest of them, begin to commit, in ms: the longest the sweep held any lock. */
  longestBatchMs: number;
}

export interface SweepOptions {
  /** Due stages moved per transaction (default SWEEP_BATCH_SIZE). */
  batchSize?: number;
}

/**
 * Due stages per transaction. MySQL/MariaDB: a batch, so a submission
 * waiting on a stage row (its foreign key check) or a write of the scheduler
 * waiting on the term row waits one batch at most, not the whole sweep; the
 * size is measured in bench:stages (docs/performance.md). SQLite: one
 * transaction, set-based over the whole due set (four statements, no id
 * lists), the fastest there: writers wait for it in any case (one writer at
 * a time, and SQLite's busy wait is not first come first served).
 */
export const SWEEP_BATCH_SIZE = { mysql: 2000, sqlite: Number.POSITIVE_INFINITY } as const;

const MYSQL_SWEEP_LOCK = 'coursework.stage_sweep';
const MYSQL_LOCK_WAIT_S = 30;

interface Batch {
  /** Stages this batch moved; fewer than the batch size means the sweep is done. */
  moved: number;
  activated: number;
  completed: number;
}

/** One sweep's state: its transactions, its cause, the instant it judges by and what it did so far. */
interface Sweep {
  transaction: Transactions;
  cause: SweepCause;
  mysql: boolean;
  /** Read by the first batch under its lock; every later batch judges by it too. */
  now?: number;
  result: SweepResult;
}

/**
 * Brings every stage's status in line with the database clock and records
 * each step in stage_transitions, a batch per transaction. Each batch takes
 * the lock it needs before reading which stages are due (SQLite: the write
 * lock, by writing first; MySQL: the due rows themselves, SELECT ... FOR
 * UPDATE, which reads their latest committed state), so two sweeps running at
 * once (a second leader during failover, another host, the CLI) never record
 * a transition twice: a stage another sweep moved meanwhile is no longer due
 * when this one reads it. On MySQL an advisory lock also keeps two sweeps'
 * batches from interleaving. All batches judge by one instant, read by the
 * first batch under its lock, so it is never older than the instant of a
 * sweep that committed before it. The transitions carry the transaction's term.
 */
export async function advanceStageStatuses(transaction: Transactions, cause: SweepCause, options: SweepOptions = {}): Promise<SweepResult> {
  const mysql = isMysql(transaction.db);
  const batchSize = Math.max(1, options.batchSize ?? SWEEP_BATCH_SIZE[mysql ? 'mysql' : 'sqlite']);
  const sweep: Sweep = { transaction, cause, mysql, result: { activated: 0, completed: 0, now: 0, batches: 0, longestBatchMs: 0 } };
  if (Number.isFinite(batchSize)) await sweepInBatches(sweep, batchSize);
  else await sweepWholeDueSet(sweep);
  return { ...sweep.result, now: sweep.now! };
}

/** One transaction, set-based: the statements select the due stages themselves. */
async function sweepWholeDueSet(sweep: Sweep): Promise<void> {
  await runBatch(sweep, async (trx, at) => {
    const due = (q: Knex.QueryBuilder) => void q.where('next_boundary', '<=', at);
    await recordTransitions(sweep, trx, at, 'pending', 'active', (q) => void q.where(due).andWhere('status', 'pending'));
    await recordTransitions(sweep, trx, at, 'active', 'completed', (q) => void q.where(due).andWhere('end_date', '<=', at));
    const completed = await trx('stages').where(due).andWhere('end_date', '<=', at).update({ status: 'completed' });
    const activated = await trx('stages').where(due).andWhere('status', 'pending').update({ status: 'active' });
    return { moved: activated + completed, activated, completed };
  });
}

/**
 * Batches: the first batchSize due stages, locked (FOR UPDATE, so what is
 * read is their latest committed state and stays so), then moved by id: the
 * pending ones open, those whose end passed close, and one UPDATE sets each
 * one's new status. A moved stage is no longer due (its next boundary is its
 * end, in the future, or none), so the next batch reads the next ones.
 */
async function sweepInBatches(sweep: Sweep, batchSize: number): Promise<void> {
  for (;;) {
    const batch = await runBatch(sweep, async (trx, at) => {
      const query = trx('stages').where('next_boundary', '<=', at).orderBy('next_boundary').limit(batchSize).select('id', 'status', 'end_date');
      const rows = (await (sweep.mysql ? query.forUpdate() : query)) as Pick<StageRow, 'id' | 'status' | 'end_date'>[];
      if (rows.length === 0) return { moved: 0, activated: 0, completed: 0 };
      const ids = rows.map((r) => Number(r.id));
      const opening = rows.filter((r) => r.status === 'pending').map((r) => Number(r.id));
      const closing = rows.filter((r) => numberFromDb(r.end_date) <= at).map((r) => Number(r.id));
      if (opening.length) await recordTransitions(sweep, trx, at, 'pending', 'active', (q) => void q.whereIn('id', opening));
      if (closing.length) await recordTransitions(sweep, trx, at, 'active', 'completed', (q) => void q.whereIn('id', closing));
      await trx('stages')
        .whereIn('id', ids)
        .update({ status: trx.raw('CASE WHEN ?? <= ? THEN ? ELSE ? END', ['end_date', at, 'completed', 'active']) });
      return { moved: rows.length, activated: rows.length - closing.length, completed: closing.length };
    });
    if (batch.moved < batchSize) return;
  }
}

/** Runs one batch in a transaction of its own, under the sweep's lock, and adds up what it did. */
async function runBatch(sweep: Sweep, phase: (trx: Knex.Transaction, now: number) => Promise<Batch>): Promise<Batch> {
  const began = performance.now();
  const batch = await sweep.transaction(async (trx) => {
    if (sweep.mysql) {
      // mysql2 answers a raw query with [rows, fields]; GET_LOCK gives 1, 0 or NULL.
      const [[row]] = (await trx.raw('SELECT GET_LOCK(?, ?) AS got', [MYSQL_SWEEP_LOCK, MYSQL_LOCK_WAIT_S])) as [{ got: number | null }[], unknown];
      if (Number(row.got) !== 1) throw new Error(`Another stage sweep held ${MYSQL_SWEEP_LOCK} for over ${MYSQL_LOCK_WAIT_S} s`);
    } else {
      // A write first, so SQLite takes the write lock (waiting up to
      // busy_timeout) before reading anything: a read-then-write
      // transaction could fail with SQLITE_BUSY instead of waiting.
      await trx('stages').where('id', -1).update({ status: trx.ref('status') });
    }
    try {
      sweep.now ??= await dbNowMs(trx);
      return await phase(trx, sweep.now);
    } finally {
      if (sweep.mysql) await trx.raw('SELECT RELEASE_LOCK(?)', [MYSQL_SWEEP_LOCK]);
    }
  });
  const { result } = sweep;
  result.batches += 1;
  result.longestBatchMs = Math.max(result.longestBatchMs, performance.now() - began);
  result.activated += batch.activated;
  result.completed += batch.completed;
  return batch;
}

/**
 * A due stage is one whose next boundary (a generated column, indexed: the
 * start of a pending stage, the end of an active one) has passed. It opens if
 * it is pending, and closes if its end has passed too: a stage whose whole
 * window passed while nobody was watching goes through both steps, so its
 * history still shows it was open.
 */
function recordTransitions(sweep: Sweep, trx: Knex.Transaction, at: number, from: string, to: string, which: (q: Knex.QueryBuilder) => void) {
  const { cause, transaction } = sweep;
  const rows = trx('stages')
    .select('id', trx.raw('? as from_status', [from]), trx.raw('? as to_status', [to]), trx.raw('? as at', [at]), trx.raw('? as cause', [cause]), trx.raw('? as term', [transaction.term]))
    .where(which);
  // MySQL: rows read (and share-locked) in id order, the order every sweep
  // locks in. SQLite takes no row locks, and an ORDER BY id there makes it
  // scan the whole table in id order rather than read the due range of the
  // next_boundary index and sort it.
  if (sweep.mysql) rows.orderBy('id');
  return trx.into(trx.raw('?? (??, ??, ??, ??, ??, ??)', ['stage_transitions', 'stage_id', 'from_status', 'to_status', 'at', 'cause', 'term'])).insert(rows);
}

/**
 * The earliest boundary any stage still has to cross: a pending stage's
 * start or an unfinished stage's end. It may lie in the past (a stage that
 * is already due); null when no stage has a boundary left.
 */
export async function nextStageBoundary(db: Knex): Promise<number | null> {
  // The first entry of the next_boundary index, not MIN(): with the IS NOT
  // NULL condition (which lets SQLite use its partial index) MariaDB reads
  // MIN() by scanning the whole non-null range, about 150 ms over 1,000,000
  // stages (bench/overrides.ts), while ORDER BY ... LIMIT 1 stops at once.
  return firstBoundary(db, 'stages');
}

/** The smallest non-null next_boundary of `table`, read as the first entry of its index. */
export async function firstBoundary(db: Knex, table: 'stages' | 'stage_overrides'): Promise<number | null> {
  const row = await db(table).whereNotNull('next_boundary').orderBy('next_boundary').first<{ at: unknown } | undefined>('next_boundary as at');
  return row?.at === null || row?.at === undefined ? null : numberFromDb(row.at);
}
