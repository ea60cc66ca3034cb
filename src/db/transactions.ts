// A way to run work in one transaction, handed to whoever writes: a job gets
// the leader's, which commits only while the leader's term is the newest
// (scheduler/leader-writes.ts); a test or the CLI gets a plain one. The term
// rides along only as the stamp rows written under it carry.
import type { Knex } from 'knex';

export type TransactionWork<T> = (trx: Knex.Transaction) => Promise<T>;

export interface Transactions {
  <T>(work: TransactionWork<T>): Promise<T>;
  /** The database the transactions run on: its dialect, and reads outside them. */
  readonly db: Knex;
  /** What the rows written are stamped with: the leader's term, null outside leadership. */
  readonly term: number | null;
}

type Run = <T>(work: TransactionWork<T>) => Promise<T>;

export function transactions(db: Knex, term: number | null = null, run: Run = (work) => db.transaction(work)): Transactions {
  return Object.assign(<T>(work: TransactionWork<T>) => run(work), { db, term });
}
