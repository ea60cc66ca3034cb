import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import type { Election } from './election.js';
import { LockfileElection } from './lockfile-election.js';

export function createElection(config: Config, workerId: number | null): Election {
  if (config.leaderElection === 'db') {
    throw new ConfigError('LEADER_ELECTION=db is not available in this version; use lockfile');
  }
  return new LockfileElection({ file: config.schedulerLockFile, staleMs: config.schedulerLockStaleMs, workerId });
}

export function describeLock(config: Config): string {
  return config.leaderElection === 'db' ? 'database lease' : config.schedulerLockFile;
}
