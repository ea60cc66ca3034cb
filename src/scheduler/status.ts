// "Did it run, when will it run next, who runs it, who ran it before?" in one
// read, for the API, the CLI and the /scheduler page alike.
import type { Knex } from 'knex';
import { DAY, toIsoOrNull } from '../time.js';
import type { LeaderOwner, LeadershipSnapshot } from '../leadership/election.js';
import { longestGap, termHistory, termJson } from '../leadership/term-history.js';
import { executionJson, recentExecutions } from './executions.js';
import { listStoredJobs } from './job-store.js';

function leaderJson(owner: LeaderOwner) {
  return { pid: owner.pid, hostname: owner.hostname, workerId: owner.workerId, acquiredAt: owner.acquiredAt, term: owner.term ?? null };
}

export async function schedulerStatus(db: Knex, leadership: LeadershipSnapshot, { executions = 50, now = Date.now() } = {}) {
  const [jobs, recent, history, gap] = await Promise.all([listStoredJobs(db), recentExecutions(db, { limit: executions }), termHistory(db, 50), longestGap(db, now - DAY)]);
  return {
    // A stale lock names a leader that no longer runs anything.
    leader: leadership.state === 'held' && leadership.owner ? leaderJson(leadership.owner) : null,
    jobs: jobs.map((j) => ({ id: j.id, name: j.name, trigger: j.trigger, nextRunAt: toIsoOrNull(j.nextRunAt), lastRunAt: toIsoOrNull(j.lastRunAt), lastStatus: j.lastStatus, paused: j.paused })),
    executions: recent.map(executionJson),
    history: history.map(termJson),
    /** The longest gap without a leader among the terms that began in the last 24 h. */
    longestGap24h: gap ? termJson(gap) : null,
  };
}
