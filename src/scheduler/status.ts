// "Did it run, when will it run next, who runs it, who ran it before?" in one
// read, for the API, the CLI and the /scheduler page alike.
import type { Knex } from 'knex';
import { DAY, toIsoOrNull } from '../time.js';
import type { LeaderOwner, LeadershipSnapshot } from '../leadership/election.js';
import { longestGap, termHistory, termJson } from '../leadership/term-history.js';
import { executionJson, recentExecutions } from './executions.js';
import { listStoredJobs, type StoredJob } from './job-store.js';

function leaderJson(owner: LeaderOwner) {
  return { pid: owner.pid, hostname: owner.hostname, workerId: owner.workerId, acquiredAt: owner.acquiredAt, term: owner.term ?? null };
}

/**
 * A job as the API shows it. `nextDueAt` (the instant the leader's due timer
 * is armed for) only while a leader is elected: a dead leader's is stale.
 */
export function jobJson(j: StoredJob, { leaderElected = true } = {}) {
  return {
    id: j.id,
    name: j.name,
    trigger: j.trigger,
    nextRunAt: toIsoOrNull(j.nextRunAt),
    nextDueAt: leaderElected ? toIsoOrNull(j.nextDueAt) : null,
    lastRunAt: toIsoOrNull(j.lastRunAt),
    lastStatus: j.lastStatus,
    paused: j.paused,
  };
}

export async function schedulerStatus(db: Knex, leadership: LeadershipSnapshot, { executions = 50, now = Date.now() } = {}) {
  const [jobs, recent, history, gap] = await Promise.all([listStoredJobs(db), recentExecutions(db, { limit: executions }), termHistory(db, 50), longestGap(db, now - DAY)]);
  // A stale lock names a leader that no longer runs anything.
  const leader = leadership.state === 'held' && leadership.owner ? leaderJson(leadership.owner) : null;
  return {
    leader,
    jobs: jobs.map((j) => jobJson(j, { leaderElected: leader !== null })),
    executions: recent.map(executionJson),
    history: history.map(termJson),
    /** The longest gap without a leader among the terms that began in the last 24 h. */
    longestGap24h: gap ? termJson(gap) : null,
  };
}
