// The only code that moves stages along their lifecycle on its own. It is
// set-based: one INSERT ... SELECT records the transitions and one UPDATE
// flips the statuses for each kind of change, however many stages are due,
// so 100k stages cost a few statements, not 100k round trips.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { ms } from '../db/rows.js';
import { isMysql } from '../db/connect.js';
import type { SweepCause } from './stage-status.js';

export interface SweepResult {
  activated: number;
  completed: number;
  /** The database instant the sweep judged the stages by. */
  now: number;
}

const UNFINISHED = ['pending', 'active'];
const MYSQL_SWEEP_LOCK = 'coursework.stage_sweep';
const MYSQL_LOCK_WAIT_S = 30;

/**
 * Brings every stage's status in line with the database clock and records
 * each step in stage_transitions, in one transaction. Two sweeps running at
 * once (a second leader during failover, another host) never record a
 * transition twice: SQLite lets one writer in at a time, and on MySQL an
 * advisory lock serialises the sweeps; the loser then finds nothing to do.
 */
export async function advanceStageStatuses(db: Knex, cause: SweepCause, term: number | null = null): Promise<SweepResult> {
  if (!isMysql(db)) return sweep(db, await dbNowMs(db), cause, term);
  return db.transaction(async (trx) => {
    // mysql2 answers a raw query with [rows, fields]; GET_LOCK gives 1, 0 or NULL.
    const [[row]] = (await trx.raw('SELECT GET_LOCK(?, ?) AS got', [MYSQL_SWEEP_LOCK, MYSQL_LOCK_WAIT_S])) as [{ got: number | null }[], unknown];
    if (Number(row.got) !== 1) throw new Error(`Another stage sweep held ${MYSQL_SWEEP_LOCK} for over ${MYSQL_LOCK_WAIT_S} s`);
    try {
      // "now" is read after the lock is ours, so it is never older than the
      // now of a sweep that finished before us.
      return await sweepIn(trx, await dbNowMs(trx), cause, term);
    } finally {
      await trx.raw('SELECT RELEASE_LOCK(?)', [MYSQL_SWEEP_LOCK]);
    }
  });
}

function sweep(db: Knex, now: number, cause: string, term: number | null): Promise<SweepResult> {
  // The transaction's first statement writes, so SQLite takes the write lock
  // (waiting up to busy_timeout) before reading anything: a read-then-write
  // transaction could fail with SQLITE_BUSY instead of waiting.
  return db.transaction((trx) => sweepIn(trx, now, cause, term));
}

/** `term`: the leader's term, kept on each transition it records (null for a run outside leadership). */
async function sweepIn(trx: Knex.Transaction, now: number, cause: string, term: number | null): Promise<SweepResult> {
  const transitions = (from: string, to: string, due: (q: Knex.QueryBuilder) => void) =>
    trx
      .into(trx.raw('?? (??, ??, ??, ??, ??, ??)', ['stage_transitions', 'stage_id', 'from_status', 'to_status', 'at', 'cause', 'term']))
      .insert(
        trx('stages')
          .select('id', trx.raw('? as from_status', [from]), trx.raw('? as to_status', [to]), trx.raw('? as at', [now]), trx.raw('? as cause', [cause]), trx.raw('? as term', [term]))
          .where(due),
      );

  const started = (q: Knex.QueryBuilder) => {
    q.where('status', 'pending').andWhere('start_date', '<=', now);
  };
  const ended = (q: Knex.QueryBuilder) => {
    q.whereIn('status', UNFINISHED).andWhere('end_date', '<=', now);
  };

  // A stage whose whole window passed while nobody was watching goes through
  // both steps, so its history still shows it was open.
  await transitions('pending', 'active', started);
  await transitions('active', 'completed', ended);
  const completed = await trx('stages').where(ended).update({ status: 'completed' });
  const activated = await trx('stages').where(started).update({ status: 'active' });
  return { activated, completed, now };
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
