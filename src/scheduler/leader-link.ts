// The seam between a worker and the leader: everything a worker asks of the
// scheduler's leader goes through here. "Stages changed, look again at what is
// due", "run this job now", and pause and resume (whose catch-up is a run-now).
// Decided once from LEADER_ELECTION, like the election itself:
// - ipc (one host): the leader is a sibling worker. The news goes to the
//   primary, which relays it to every worker; only the leader acts on it.
// - db (several hosts): the leader may be on another host. Siblings on this
//   host still hear stage changes over IPC at once; the leader also looks
//   again each second for changes made elsewhere, and run-now requests go
//   through the database queue the leader polls (run-requests.ts).
// One round trip, one timeout (LEADER_ANSWER_MS), one vocabulary of failures
// (RunJobErrorCode), turned into an HTTP error in one place (leaderRefusal).
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { AppError, ConflictError, NotFoundError, UnavailableError } from '../errors.js';
import { onStagesChanged, type StageChange } from '../domain/stage-events.js';
import type { LeadershipSnapshot } from '../leadership/election.js';
import { SECOND } from '../time.js';
import { requestRun, waitForRunStart } from './run-requests.js';
import { runNowFailure, type RunJobFailure, type RunJobResult } from './run-now.js';
import { pauseJob, resumeJob, type Resumed } from './pause.js';
import type { StoredJob } from './job-store.js';
import type { Scheduler } from './scheduler.js';

/** How long a worker waits for the leader to answer one request, whichever way it travels. */
export const LEADER_ANSWER_MS = 5 * SECOND;
/** With several hosts, how often the leader looks for stage changes made elsewhere. */
const REMOTE_CHANGES_POLL_MS = 1 * SECOND;

/** What travels between workers through the primary for the seam. */
export type LeaderLinkMessage =
  /** Stages changed; `datesChanged`: their dates did, so the leader re-arms its due timer (a sweep's moves need not). */
  | { type: 'stages-changed'; datesChanged: boolean }
  /** Ask the leader, whichever worker it is, to run a job now; `replyTo` is set by the primary. */
  | { type: 'run-job'; requestId: string; jobId: string; replyTo?: number }
  /** The leader's answer, for the worker `replyTo`. */
  | { type: 'run-job-result'; requestId: string; replyTo?: number; result: RunJobResult };

/**
 * The seam's own side of a cluster worker's IPC: it sends its messages to the
 * primary and hears the primary's relays itself. A run-job is answered by the
 * leader's run-job-result, matched by request id; no answer within
 * `timeoutMs` is no leader.
 */
class ProcessChannel {
  private readonly answers = new Map<string, (result: RunJobResult) => void>();

  constructor(heard: (message: Exclude<LeaderLinkMessage, { type: 'run-job-result' }>) => void) {
    process.on('message', (message: unknown) => {
      if (!isLeaderLinkMessage(message)) return;
      if (message.type !== 'run-job-result') return heard(message);
      const answer = this.answers.get(message.requestId);
      this.answers.delete(message.requestId);
      answer?.(message.result);
    });
  }

  send(message: LeaderLinkMessage): void {
    if (process.connected) process.send!(message);
  }

  askRun(jobId: string, timeoutMs: number): Promise<RunJobResult> {
    const requestId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.answers.delete(requestId);
        resolve(NO_LEADER);
      }, timeoutMs);
      this.answers.set(requestId, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.send({ type: 'run-job', requestId, jobId });
    });
  }
}

const LEADER_LINK_TYPES: ReadonlySet<string> = new Set<LeaderLinkMessage['type']>(['stages-changed', 'run-job', 'run-job-result']);

function isLeaderLinkMessage(value: unknown): value is LeaderLinkMessage {
  return typeof value === 'object' && value !== null && LEADER_LINK_TYPES.has((value as { type?: unknown }).type as string);
}

const NO_LEADER: RunJobFailure = { ok: false, code: 'no_leader', message: 'No scheduler leader answered' };

/** What the HTTP routes ask of the leader. */
export interface LeaderPort {
  jobIds: string[];
  leadership(): Promise<LeadershipSnapshot>;
  /** Hands the job to the leader; resolves once it has started there (or why not). */
  runJob(jobId: string): Promise<RunJobResult>;
}

export interface LeaderLink extends LeaderPort {
  close(): void;
}

export interface LeaderLinkDeps {
  db: Knex;
  log: Logger;
  jobIds: string[];
  leadership(): Promise<LeadershipSnapshot>;
  /** This worker's scheduler while it leads, else null. */
  leader: () => Scheduler | null;
  /** A cluster worker (it has IPC to the primary); outside a cluster (tests, a single process) the leader, if any, is us. */
  inCluster: boolean;
  /**
   * Every worker: stages may have changed somewhere (any worker of this host
   * said so, or, with several hosts, the once-a-second look came round). Open
   * live pages look again.
   */
  stagesMayHaveChanged?: () => void;
}

export function createLeaderLink(config: Pick<Config, 'leaderElection'>, deps: LeaderLinkDeps): LeaderLink {
  return config.leaderElection === 'db' ? databaseLink(deps) : ipcLink(deps);
}

/** Run-now as the leader answers it, whichever worker took the request. */
export async function runOnLeader(scheduler: Scheduler, jobId: string, log: Logger): Promise<RunJobResult> {
  try {
    const { executionId } = await scheduler.runNow(jobId);
    return { ok: true, executionId };
  } catch (err) {
    const failure = runNowFailure(err);
    if (failure.code === 'failed') log.error({ err, jobId }, 'run-now failed');
    return failure;
  }
}

function ipcLink(deps: LeaderLinkDeps): LeaderLink {
  const { log, leader, stagesMayHaveChanged } = deps;
  const heard = (datesChanged: boolean) => {
    if (datesChanged) leader()?.dueTimers.poke();
    stagesMayHaveChanged?.();
  };
  const channel = deps.inCluster
    ? new ProcessChannel((m) => {
        if (m.type === 'stages-changed') heard(m.datesChanged);
        if (m.type === 'run-job') {
          const scheduler = leader();
          if (!scheduler) return; // every worker hears it; only the leader answers
          void runOnLeader(scheduler, m.jobId, log).then((result) => channel!.send({ type: 'run-job-result', requestId: m.requestId, replyTo: m.replyTo, result }));
        }
      })
    : null;
  const unsubscribe = onStagesChanged((change: StageChange) => {
    const datesChanged = change === 'dates';
    if (channel) channel.send({ type: 'stages-changed', datesChanged });
    else heard(datesChanged);
  });
  const runJob = async (jobId: string): Promise<RunJobResult> => {
    if (channel) return channel.askRun(jobId, LEADER_ANSWER_MS);
    const scheduler = leader();
    return scheduler ? runOnLeader(scheduler, jobId, log) : NO_LEADER;
  };
  return { jobIds: deps.jobIds, leadership: () => deps.leadership(), runJob, close: unsubscribe };
}

function databaseLink(deps: LeaderLinkDeps): LeaderLink {
  const local = ipcLink(deps);
  const poll = setInterval(() => {
    deps.leader()?.dueTimers.poke();
    deps.stagesMayHaveChanged?.();
  }, REMOTE_CHANGES_POLL_MS);
  poll.unref();
  return {
    ...local,
    runJob: async (jobId) => waitForRunStart(deps.db, await requestRun(deps.db, jobId, `http via pid ${process.pid} on ${os.hostname()}`), LEADER_ANSWER_MS),
    close: () => {
      clearInterval(poll);
      local.close();
    },
  };
}

/**
 * What the routes do through the seam: run-now with its checks (a known job,
 * an elected leader), and pause and resume (the flag in the database, and
 * the catch-up run on the leader).
 */
export function leaderRequests(db: Knex, leader: LeaderPort) {
  const leaderElected = async () => (await leader.leadership()).state === 'held';
  const knows = (jobId: string) => leader.jobIds.includes(jobId);
  return {
    knows,
    leaderElected,
    async run(jobId: string): Promise<RunJobResult> {
      if (!knows(jobId)) return { ok: false, code: 'unknown_job', message: `Job "${jobId}"` };
      if (!(await leaderElected())) return { ok: false, code: 'not_elected', message: 'No scheduler leader is elected; try again shortly' };
      return leader.runJob(jobId);
    },
    pause: (jobId: string): Promise<StoredJob> => pauseJob(db, jobId),
    resume: (jobId: string): Promise<Resumed> => resumeJob({ db, leaderElected, runJob: (id) => leader.runJob(id) }, jobId),
  };
}

/** The HTTP answer to a request the leader did not start. */
export function leaderRefusal(failure: RunJobFailure): AppError {
  if (failure.code === 'unknown_job') return new NotFoundError(failure.message);
  if (failure.code === 'job_running') return new ConflictError(failure.message);
  return new UnavailableError(failure.message);
}
