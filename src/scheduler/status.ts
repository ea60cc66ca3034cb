// "Did it run, when will it run next, who runs it?" in one read, for the
// API, the CLI and the /scheduler page alike.
import type { Knex } from 'knex';
import { toIsoOrNull } from '../time.js';
import type { LeadershipSnapshot } from '../leadership/election.js';
import { executionJson, recentExecutions } from './executions.js';
import { listStoredJobs } from './job-store.js';

export async function schedulerStatus(db: Knex, leadership: LeadershipSnapshot, { executions = 50 } = {}) {
  const [jobs, recent] = await Promise.all([listStoredJobs(db), recentExecutions(db, { limit: executions })]);
  return {
    // A stale lock names a leader that no longer runs anything.
    leader: leadership.state === 'held' ? leadership.owner : null,
    jobs: jobs.map((j) => ({ id: j.id, name: j.name, trigger: j.trigger, nextRunAt: toIsoOrNull(j.nextRunAt), lastRunAt: toIsoOrNull(j.lastRunAt), lastStatus: j.lastStatus, paused: j.paused })),
    executions: recent.map(executionJson),
  };
}
