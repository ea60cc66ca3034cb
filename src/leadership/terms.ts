// Fencing tokens. Each new leadership takes the next term from the shared
// database (scheduler_terms), and every write a leader makes because it leads
// runs in a transaction that first checks, under a lock, that no newer term
// exists: SQLite's first statement is a write (a no-op UPDATE matching only
// our term), so the transaction holds the write lock before anything else;
// MySQL/MariaDB lock the term row (SELECT ... FOR UPDATE), so a new term
// cannot commit in between. A superseded leader's write is refused by the
// database, whatever its own clock says.
import type { Knex } from 'knex';
import { isMysql } from '../db/dialect.js';
import { numberFromDb } from '../db/rows.js';
import type { SchedulerTermRow } from '../db/tables.js';
import { recordTermStart, type PredecessorFate, type TermHolder } from './term-history.js';
import { countLeaderChange } from './metrics.js';

const GROUP = 'scheduler';

/** A write refused because a newer leader exists. */
export class SupersededError extends Error {
  constructor(
    readonly ourTerm: number,
    readonly currentTerm: number,
  ) {
    super(`term ${ourTerm} was superseded by term ${currentTerm}`);
    this.name = 'SupersededError';
  }
}

/** Takes the next term; call inside the transaction that grants leadership. */
export async function takeNextTerm(trx: Knex.Transaction): Promise<number> {
  const updated = await trx<SchedulerTermRow>('scheduler_terms').where({ name: GROUP }).increment('term', 1);
  if (updated !== 1) throw new Error('scheduler_terms has no row for the scheduler: run the migrations');
  return currentTerm(trx);
}

export async function currentTerm(db: Knex): Promise<number> {
  const row = await db<SchedulerTermRow>('scheduler_terms').where({ name: GROUP }).first('term');
  if (!row) throw new Error('scheduler_terms has no row for the scheduler: run the migrations');
  return numberFromDb(row.term);
}

/** Throws SupersededError unless `term` is still the newest; holds the term row until the transaction ends. */
export async function checkTerm(trx: Knex.Transaction, term: number): Promise<void> {
  if (isMysql(trx)) {
    const row = await trx<SchedulerTermRow>('scheduler_terms').where({ name: GROUP }).forUpdate().first('term');
    const current = row ? numberFromDb(row.term) : Number.POSITIVE_INFINITY;
    if (current !== term) throw new SupersededError(term, current);
    return;
  }
  const matched = await trx<SchedulerTermRow>('scheduler_terms').where({ name: GROUP, term }).update({ term });
  if (matched !== 1) throw new SupersededError(term, await currentTerm(trx));
}

/** Runs `work` in a transaction that commits only while `term` is the newest. */
export function fenced<T>(db: Knex, term: number, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await checkTerm(trx, term);
    return work(trx);
  });
}

/** Takes the next term and records it in the leadership history, in one transaction. */
export async function beginTerm(db: Knex, holder: TermHolder, predecessor: PredecessorFate): Promise<number> {
  const { term, gapMs } = await db.transaction(async (trx) => {
    const taken = await takeNextTerm(trx);
    return { term: taken, ...(await recordTermStart(trx, taken, holder, predecessor)) };
  });
  countLeaderChange(gapMs);
  return term;
}
