// The only code that moves stages along their lifecycle on its own. It
// works in batches: each transaction takes up to `batchSize` due stages,
// records their transitions with one INSERT ... SELECT per kind and flips
// their statuses with one UPDATE per kind, so 100k due stages cost a few
// statements per few thousand stages, not 100k round trips, and no
// transaction holds its row locks (MySQL) or the write lock (SQLite) for
// longer than one batch takes.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { isMysql } from '../db/connect.js';
import { ms } from '../db/rows.js';
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

/** Runs one batch's writes in a transaction; the scheduler's fences it with the leader's term. */
export type InTransaction = <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;

export interface SweepOptions {
  /** Due stages moved per transaction (default SWEEP_BATCH_SIZE). */
  batchSize?: number;
  /** Default: a plain transaction on `db`. */
  inTransaction?: InTransaction;
}

/**
 * Due stages per transaction. MySQL/MariaDB: a few thousand rows, so a
 * submission waiting on a stage row (its foreign key check) or a write of
 * the scheduler waiting on the term row waits one batch (some tens of
 * milliseconds, a few hundred with a cold buffer pool) at most, where one
 * transaction for 100,000 stages held them for seconds. SQLite: one
 * transaction, set-based over the whole due set (four statements, no id
 * lists), the fastest there: writers wait for it in any case (one writer at
 * a time, and SQLite's busy wait is not first come first served), and it
 * holds the write lock for some tens of milliseconds per 10,000 stages.
 */
export const SWEEP_BATCH_SIZE = { mysql: 5000, sqlite: Number.POSITIVE_INFINITY } as const;

const UNFINISHED = ['pending', 'active'];
const MYSQL_SWEEP_LOCK = 'coursework.stage_sweep';
const MYSQL_LOCK_WAIT_S = 30;

interface Batch {
  /** Stages this batch moved; fewer than the batch size means the phase is done. */
  moved: number;
  activated: number;
  completed: number;
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
 * sweep that committed before it.
 */
export async function advanceStageStatuses(db: Knex, cause: SweepCause, term: number | null = null, options: SweepOptions = {}): Promise<SweepResult> {
  const mysql = isMysql(db);
  const batchSize = Math.max(1, options.batchSize ?? SWEEP_BATCH_SIZE[mysql ? 'mysql' : 'sqlite']);
  const inTransaction: InTransaction = options.inTransaction ?? ((work) => db.transaction(work));
  const result: SweepResult = { activated: 0, completed: 0, now: 0, batches: 0, longestBatchMs: 0 };
  let now: number | undefined;

  const runBatch = async (phase: (trx: Knex.Transaction, now: number) => Promise<Batch>): Promise<Batch> => {
    const began = performance.now();
    const batch = await inTransaction(async (trx) => {
      if (mysql) {
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
        now ??= await dbNowMs(trx);
        return await phase(trx, now);
      } finally {
        if (mysql) await trx.raw('SELECT RELEASE_LOCK(?)', [MYSQL_SWEEP_LOCK]);
      }
    });
    result.batches += 1;
    result.longestBatchMs = Math.max(result.longestBatchMs, performance.now() - began);
    result.activated += batch.activated;
    result.completed += batch.completed;
    return batch;
  };

  const transitions = (trx: Knex.Transaction, at: number, from: string, to: string, ids: number[]) =>
    ids.length === 0
      ? Promise.resolve()
      : trx
          .into(trx.raw('?? (??, ??, ??, ??, ??, ??)', ['stage_transitions', 'stage_id', 'from_status', 'to_status', 'at', 'cause', 'term']))
          .insert(
            trx('stages')
              .select('id', trx.raw('? as from_status', [from]), trx.raw('? as to_status', [to]), trx.raw('? as at', [at]), trx.raw('? as cause', [cause]), trx.raw('? as term', [term]))
              .whereIn('id', ids)
              .orderBy('id'),
          );
  const flip = (trx: Knex.Transaction, status: string, ids: number[]) => (ids.length === 0 ? Promise.resolve(0) : trx('stages').whereIn('id', ids).update({ status }));
  const due = (query: Knex.QueryBuilder) => (mysql ? query.forUpdate() : query);

  if (!Number.isFinite(batchSize)) {
    // One batch, set-based: the statements select the due stages themselves.
    const started = (q: Knex.QueryBuilder, at: number) => void q.where('status', 'pending').andWhere('start_date', '<=', at);
    const ended = (q: Knex.QueryBuilder, at: number) => void q.whereIn('status', UNFINISHED).andWhere('end_date', '<=', at);
    const record = (trx: Knex.Transaction, at: number, from: string, to: string, due: (q: Knex.QueryBuilder, at: number) => void) =>
      trx
        .into(trx.raw('?? (??, ??, ??, ??, ??, ??)', ['stage_transitions', 'stage_id', 'from_status', 'to_status', 'at', 'cause', 'term']))
        .insert(
          trx('stages')
            .select('id', trx.raw('? as from_status', [from]), trx.raw('? as to_status', [to]), trx.raw('? as at', [at]), trx.raw('? as cause', [cause]), trx.raw('? as term', [term]))
            .where((q) => due(q, at)),
        );
    await runBatch(async (trx, at) => {
      // A stage whose whole window passed goes through both steps, so its history still shows it was open.
      await record(trx, at, 'pending', 'active', started);
      await record(trx, at, 'active', 'completed', ended);
      const completed = await trx('stages').where((q) => ended(q, at)).update({ status: 'completed' });
      const activated = await trx('stages').where((q) => started(q, at)).update({ status: 'active' });
      return { moved: activated + completed, activated, completed };
    });
    result.now = now!;
    return result;
  }

  // Phase 1, starts: pending stages whose start passed. A stage whose whole
  // window passed while nobody was watching goes through both steps, so its
  // history still shows it was open.
  for (;;) {
    const batch = await runBatch(async (trx, at) => {
      const rows = (await due(trx('stages').where('status', 'pending').andWhere('start_date', '<=', at).limit(batchSize).select('id', 'end_date'))) as { id: number; end_date: unknown }[];
      const ids = rows.map((r) => Number(r.id));
      const closed = rows.filter((r) => Number(r.end_date) <= at).map((r) => Number(r.id));
      const opened = rows.filter((r) => Number(r.end_date) > at).map((r) => Number(r.id));
      await transitions(trx, at, 'pending', 'active', ids);
      await transitions(trx, at, 'active', 'completed', closed);
      const completed = await flip(trx, 'completed', closed);
      const activated = await flip(trx, 'active', opened);
      return { moved: rows.length, activated, completed };
    });
    if (batch.moved < batchSize) break;
  }
  // Phase 2, ends: open stages whose end passed (and a pending one whose end
  // passed before its start, which no edit allows but a direct write could).
  for (;;) {
    const batch = await runBatch(async (trx, at) => {
      const rows = (await due(trx('stages').whereIn('status', UNFINISHED).andWhere('end_date', '<=', at).limit(batchSize).select('id', 'status'))) as { id: number; status: string }[];
      const ids = rows.map((r) => Number(r.id));
      await transitions(trx, at, 'pending', 'active', rows.filter((r) => r.status === 'pending').map((r) => Number(r.id)));
      await transitions(trx, at, 'active', 'completed', ids);
      const completed = await flip(trx, 'completed', ids);
      return { moved: rows.length, activated: 0, completed };
    });
    if (batch.moved < batchSize) break;
  }
  result.now = now!;
  return result;
}

/**
 * The earliest boundary any stage still has to cross: a pending stage's
 * start or an unfinished stage's end. It may lie in the past (a stage that
 * is already due); null when no stage has a boundary left.
 */
export async function nextStageBoundary(db: Knex): Promise<number | null> {
  const [start, end] = await Promise.all([
    db('stages').where('status', 'pending').min({ at: 'start_date' }).first(),
    db('stages').whereIn('status', UNFINISHED).min({ at: 'end_date' }).first(),
  ]);
  const candidates = [start?.at, end?.at].filter((v) => v !== null && v !== undefined).map(ms);
  return candidates.length ? Math.min(...candidates) : null;
}
