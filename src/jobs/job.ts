// What a job is: its body and everything about when it runs. A leaf module:
// the job files, the registry and the scheduler all import it, it imports
// none of them.
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Transactions } from '../db/transactions.js';

/** Why a job body is running: its cron, its due-time trigger, leader start-up, or a person. */
export type FireReason = 'cron' | 'timer' | 'startup' | 'manual';

export interface JobContext {
  db: Knex;
  log: Logger;
  config: Config;
  reason: FireReason;
  /**
   * Runs the job's writes in a transaction; in the scheduler it commits only
   * while this leader's term is the newest (a SupersededError otherwise).
   */
  transaction: Transactions;
}

/** What to do about cron fires that came while no leader was running. */
export type MisfirePolicy = 'skip' | 'run-once';

export interface JobDefinition {
  id: string;
  name: string;
  /** node-schedule cron spec (5 fields, or 6 with seconds). */
  cron: string;
  /** IANA zone the cron spec is read in. */
  timezone: string;
  misfire: MisfirePolicy;
  /**
   * A second trigger besides the cron: the next instant (epoch ms, possibly
   * past) at which the job is due because of the data, null when nothing is
   * due. The leader keeps one timer armed at it and asks again after each
   * fire and whenever it hears that the data changed.
   */
  nextDue?(db: Knex): Promise<number | null>;
  /** Run once whenever a leader starts, to catch up what passed while none ran. */
  runOnLeaderStart?: boolean;
  /** A run still going after this long is recorded as an error. */
  timeoutMs: number;
  run(ctx: JobContext): Promise<unknown>;
}

export function findJob(jobs: readonly JobDefinition[], id: string): JobDefinition | undefined {
  return jobs.find((job) => job.id === id);
}

