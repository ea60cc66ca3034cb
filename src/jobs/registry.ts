// Every job the scheduler knows, declared once. A job body is a plain async
// function of narrow dependencies: it knows nothing of clusters, locks or
// node-schedule, so the CLI can run it locally and tests can call it directly.
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { MINUTE } from '../time.js';
import { sweepStageStatuses } from './stage-status-sweep.js';
import { cleanupJobExecutions } from './cleanup-job-executions.js';

/** Why a job body is running: its cron trigger, a stage boundary, leader start-up, or a person. */
export type FireReason = 'cron' | 'timer' | 'startup' | 'manual';

export interface JobContext {
  db: Knex;
  log: Logger;
  config: Config;
  reason: FireReason;
}

/** What to do about fires that came while no leader was running. */
export type MisfirePolicy = 'skip' | 'run-once';

export interface JobDefinition {
  id: string;
  name: string;
  /** node-schedule cron spec (5 fields, or 6 with seconds). */
  cron: string;
  /** IANA zone the cron spec is read in. */
  timezone: string;
  misfire: MisfirePolicy;
  /** A run still going after this long is recorded as an error. */
  timeoutMs: number;
  run(ctx: JobContext): Promise<unknown>;
}

export function jobDefinitions(config: Config): JobDefinition[] {
  return [
    {
      id: 'stage-status-sweep',
      name: 'Stage status sweep',
      cron: config.stageSweepCron,
      timezone: 'UTC',
      // The sweep catches up by itself: one run after downtime is enough.
      misfire: 'run-once',
      timeoutMs: 5 * MINUTE,
      run: sweepStageStatuses,
    },
    {
      id: 'cleanup-job-executions',
      name: 'Delete old job executions',
      cron: '0 2 * * *',
      timezone: config.appTimezone,
      misfire: 'skip',
      timeoutMs: 30 * MINUTE,
      run: cleanupJobExecutions,
    },
  ];
}

export function findJob(jobs: JobDefinition[], id: string): JobDefinition | undefined {
  return jobs.find((job) => job.id === id);
}
