// How a worker reaches the leader: "a stage changed, look again at what is
// due" and "run this job now". Decided once from LEADER_ELECTION, like the
// election itself:
// - ipc (one host): the leader is a sibling worker. The news goes to the
//   primary, which relays it to every worker; only the leader acts on it.
// - db (several hosts): the leader may be on another host. Siblings on this
//   host still hear stage changes over IPC at once; the leader also looks
//   again each second for changes made elsewhere, and run-now requests go
//   through the database queue that the leader polls (run-request-poller.ts).
import os from 'node:os';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { onStagesChanged } from '../domain/stage-events.js';
import { askPrimary, inCluster, onPrimaryMessage, sendToPrimary } from '../cluster/worker-ipc.js';
import { SECOND } from '../time.js';
import { requestRun, waitForRunStart } from '../scheduler/run-requests.js';
import { runNowFailure, type RunJobResult } from '../scheduler/run-now.js';
import type { Scheduler } from '../scheduler/scheduler.js';

/** How long a run-now waits for the leader to start the job. */
const IPC_RUN_TIMEOUT_MS = 10 * SECOND;
const DB_RUN_TIMEOUT_MS = 5 * SECOND;
/** With several hosts, how often the leader looks for stage changes made elsewhere. */
const REMOTE_CHANGES_POLL_MS = 1 * SECOND;

export interface LeaderLink {
  /** Hands a run-now to the leader; resolves once it has started there (or why not). */
  runJob(jobId: string): Promise<RunJobResult>;
  close(): void;
}

export interface LeaderLinkDeps {
  db: Knex;
  log: Logger;
  /** This worker's scheduler while it leads, else null. */
  leader: () => Scheduler | null;
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

function ipcLink({ log, leader, stagesMayHaveChanged }: LeaderLinkDeps): LeaderLink {
  const unsubscribe = onStagesChanged(() => {
    // Outside a cluster (tests, a single process) the leader, if any, is us.
    if (inCluster()) sendToPrimary({ type: 'stages-changed' });
    else {
      leader()?.recheckDueTimes();
      stagesMayHaveChanged?.();
    }
  });
  onPrimaryMessage((message) => {
    if (message.type === 'stages-changed') {
      leader()?.recheckDueTimes();
      stagesMayHaveChanged?.();
    }
    if (message.type === 'run-job') {
      const scheduler = leader();
      if (!scheduler) return; // every worker hears it; only the leader answers
      void runOnLeader(scheduler, message.jobId, log).then((result) => sendToPrimary({ type: 'run-job-result', requestId: message.requestId, result }));
    }
  });
  return {
    runJob: async (jobId) => (await askPrimary<'run-job-result'>({ type: 'run-job', jobId }, IPC_RUN_TIMEOUT_MS)).result,
    close: unsubscribe,
  };
}

function databaseLink(deps: LeaderLinkDeps): LeaderLink {
  const local = ipcLink(deps);
  const poll = setInterval(() => {
    deps.leader()?.recheckDueTimes();
    deps.stagesMayHaveChanged?.();
  }, REMOTE_CHANGES_POLL_MS);
  poll.unref();
  return {
    runJob: async (jobId) => waitForRunStart(deps.db, await requestRun(deps.db, jobId, `http via pid ${process.pid} on ${os.hostname()}`), DB_RUN_TIMEOUT_MS),
    close: () => {
      clearInterval(poll);
      local.close();
    },
  };
}
