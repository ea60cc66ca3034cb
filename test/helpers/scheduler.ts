// A scheduler in-process against a fresh database and a real lock file, for the
// test files about what the leader runs: each test starts one, `reset` stops it
// and empties the job tables between tests.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { createTestDatabase, type TestDatabase } from './database.js';
import { tempDir } from './processes.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { LockfileElection } from '../../src/leadership/lockfile-election.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { createAlerter, type Alerter } from '../../src/scheduler/alerts.js';
import type { JobDefinition } from '../../src/jobs/job.js';

export const log = createLogger('silent');
export const config = loadConfig({});

/** A job firing every second unless told otherwise. */
export function job(overrides: Partial<JobDefinition> & Pick<JobDefinition, 'id' | 'run'>): JobDefinition {
  return { name: overrides.id, cron: '* * * * * *', timezone: 'UTC', misfire: 'skip', timeoutMs: 10_000, ...overrides };
}

export class SchedulerHarness {
  running: { scheduler: Scheduler; election: LockfileElection } | null = null;

  private constructor(
    private readonly database: TestDatabase,
    readonly dir: string,
  ) {}

  static async open(prefix: string): Promise<SchedulerHarness> {
    return new SchedulerHarness(await createTestDatabase(), tempDir(prefix));
  }

  get db(): Knex {
    return this.database.db;
  }

  /** A new lock file's election, or one that also fences with the database. */
  lockFile(): string {
    return path.join(this.dir, `${Math.random()}.lock`);
  }

  /** Stops the scheduler (and releases its election) when the test ends. */
  track(scheduler: Scheduler, election: LockfileElection): void {
    this.running = { scheduler, election };
  }

  async start(jobs: JobDefinition[], alert: Alerter = createAlerter({ log })): Promise<Scheduler> {
    const election = new LockfileElection({ file: this.lockFile(), staleMs: 10_000, workerId: 1 });
    assert.equal(await election.acquire(), true);
    const scheduler = new Scheduler({ db: this.db, log, config, jobs, election, alert });
    this.track(scheduler, election);
    await scheduler.start();
    return scheduler;
  }

  executions(jobId: string) {
    return this.db('job_executions').where({ job_id: jobId }).orderBy('id');
  }

  async reset(): Promise<void> {
    await this.running?.scheduler.stop(5000);
    await this.running?.election.release();
    this.running = null;
    await this.db('job_executions').delete();
    await this.db('scheduler_jobs').delete();
  }

  async close(): Promise<void> {
    await this.database.cleanup();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
