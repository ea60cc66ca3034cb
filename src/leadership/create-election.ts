// The one place that picks the election strategy from LEADER_ELECTION.
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Election } from './election.js';
import { LeaseElection } from './lease-election.js';
import { LockfileElection } from './lockfile-election.js';

export function createElection(config: Config, { db, workerId }: { db: Knex; workerId: number | null }): Election {
  if (config.leaderElection === 'db') return new LeaseElection({ db, leaseMs: config.leaderLeaseMs, workerId });
  return new LockfileElection({ file: config.schedulerLockFile, staleMs: config.schedulerLockStaleMs, workerId, db });
}

/** Where the lock lives, for logs, lock:status and the console. */
export function describeLock(config: Config): string {
  return config.leaderElection === 'db' ? 'database lease (scheduler_leases)' : config.schedulerLockFile;
}
