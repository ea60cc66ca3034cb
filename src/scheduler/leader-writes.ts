// Every write the scheduler makes because it leads goes through one function,
// which fences it with the leader's term (leadership/terms.ts): refused, with
// a SupersededError, once a newer leader exists. Without a term (a local CLI
// run, tests of the scheduler alone) writes go straight to the database.
import type { Knex } from 'knex';
import { transactions, type Transactions } from '../db/transactions.js';
import { fenced, SupersededError } from '../leadership/terms.js';

export type LeaderWrite = <T>(work: (db: Knex) => Promise<T>) => Promise<T>;

export function leaderWrites(db: Knex, term: number | null): LeaderWrite {
  return (work) => (term === null ? work(db) : fenced(db, term, work));
}

/** The transactions a job body gets: fenced with the term, or plain ones without a term. */
export function fencedTransactions(db: Knex, term: number | null): Transactions {
  return term === null ? transactions(db) : transactions(db, term, (work) => fenced(db, term, work));
}

export { SupersededError };
