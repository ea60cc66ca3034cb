// Composition root of an HTTP worker: database, app and server, then (only
// in a cluster worker with the scheduler enabled) the bid for leadership.
// Stopped in reverse: leadership (jobs finish, lock released) beside the
// server's drain, then the database.
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { connect } from './db/connect.js';
import { isMysql } from './db/dialect.js';
import { createApp } from './http/app.js';
import { loadSessionSecret } from './secrets.js';
import { signInLimitsFor } from './auth/sign-in-limits.js';
import { jobDefinitions } from './jobs/registry.js';
import { createAlerter } from './scheduler/alerts.js';
import { createElection, describeLock } from './leadership/create-election.js';
import { Leadership } from './leadership/leadership.js';
import { Scheduler } from './scheduler/scheduler.js';
import { createLeaderLink } from './leadership/leader-link.js';
import { trackLeadership } from './scheduler/metrics.js';
import { webSchedulerRoutes } from './http/routes/web-scheduler.js';
import { schedulerApiRoutes, type SchedulerPort } from './http/routes/api-scheduler.js';
import { askPrimary, inCluster, onPrimaryMessage, sendToPrimary } from './cluster/worker-ipc.js';
import { drainable } from './http/drain.js';
import { LiveStages } from './http/live-stages.js';
import { webLiveRoutes } from './http/routes/web-live.js';
import { enableWorkerMetrics, localMetrics } from './cluster/metrics.js';
import { SECOND } from './time.js';

/** MySQL/MariaDB connections a worker keeps for its election and scheduler, beside the requests' pool. */
const SCHEDULER_CONNECTIONS = 4;

/**
 * The explicit role check: only a process the cluster primary forked as a
 * worker may lead. The CLI, the knex CLI and scripts are never workers.
 */
export function mayRunScheduler(config: Config): boolean {
  return config.schedulerEnabled && config.processRole === 'worker' && cluster.isWorker;
}

export async function startWorker(config: Config, log: Logger): Promise<void> {
  enableWorkerMetrics();
  const db = connect(config.databaseUrl);
  // MySQL/MariaDB: the election and the scheduler get connections of their
  // own. At a deadline every connection of the requests' pool can be busy
  // with submissions waiting on row locks; the leader's lease renewal, term
  // check and sweep must not queue behind them (the storm bench measured the
  // sweep's start at T waiting for one). SQLite keeps one connection per
  // process: a second one would only contend for the file's write lock.
  const schedulerDb = isMysql(db) ? connect(config.databaseUrl, { maxConnections: SCHEDULER_CONNECTIONS }) : db;
  const jobs = jobDefinitions(config);
  const election = createElection(config, { db: schedulerDb, workerId: cluster.worker?.id ?? null });
  const leadership = mayRunScheduler(config)
    ? new Leadership({
        election,
        log,
        retryMs: config.schedulerRetryMs,
        lockDescription: describeLock(config),
        createDuty: () => new Scheduler({ db: schedulerDb, log, config, jobs, election, alert: createAlerter({ log, webhookUrl: config.alertWebhookUrl, webhookSecret: config.alertWebhookSecret }) }),
        // Stopping on purpose: the primary asks the others to bid at once.
        onReleased: () => sendToPrimary({ type: 'leadership-released' }),
      })
    : null;
  // Open course and stage pages hear of every stage change the leader link hears of.
  const live = new LiveStages({ db, log });
  const leaderLink = createLeaderLink(config, { db, log, leader: () => leadership?.current ?? null, stagesMayHaveChanged: () => live.check() });

  // A stop asked for while the server is still starting waits until it is up
  // (the server and stop() do not exist yet), then runs.
  // eslint-disable-next-line prefer-const -- assigned once, below, but requestStop may read it before: a const there would throw (TDZ) on an early signal
  let stopAndExit: ((why: string) => Promise<void>) | undefined;
  let stopAskedDuringBoot: string | undefined;
  const requestStop = (why: string) => (stopAndExit ? void stopAndExit(why) : (stopAskedDuringBoot ??= why));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => requestStop(signal));
  onPrimaryMessage((message) => {
    if (message.type === 'shutdown') requestStop('shutdown message');
    if (message.type === 'bid-now') leadership?.bidNow({ kind: message.reason, previousPid: message.previousPid, at: message.at });
  });

  const schedulerPort: SchedulerPort = {
    jobIds: jobs.map((j) => j.id),
    leadership: () => election.currentOwner(),
    runJob: (jobId) => leaderLink.runJob(jobId),
  };

  const app = createApp({
    db,
    log,
    sessionSecret: loadSessionSecret(config),
    secureCookies: config.cookieSecure,
    trustProxy: config.trustProxy,
    uploads: config.uploads,
    signInLimits: signInLimitsFor(config, db),
    metrics: {
      token: config.metricsToken,
      collect: () => (inCluster() ? askPrimary<'metrics-result'>({ type: 'metrics' }, 10 * SECOND) : localMetrics()),
    },
    apiRoutes: [schedulerApiRoutes({ db, scheduler: schedulerPort })],
    pageRoutes: [webSchedulerRoutes({ db, scheduler: schedulerPort, lockPath: describeLock(config) }), webLiveRoutes({ db, live })],
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const http = drainable(server);
  log.info({ port: config.port, host: config.host }, 'worker listening');
  if (leadership) {
    trackLeadership(() => leadership.current !== null);
    // Ready once it has made its first bid: a rolling restart retires the
    // leader only after that, so the new worker takes over as a handover.
    void leadership.start().finally(() => sendToPrimary({ type: 'ready' }));
  } else {
    sendToPrimary({ type: 'ready' });
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Stop accepting and let every request finish (http/drain.ts); meanwhile
      // the leader lets its running job finish and hands the lock over.
      // Event streams never end by themselves: end them, browsers reconnect elsewhere.
      live.close();
      const results = await Promise.allSettled([http.drain(), leadership?.stop(config.shutdownTimeoutMs)]);
      leaderLink.close();
      await db.destroy();
      if (schedulerDb !== db) await schedulerDb.destroy();
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    })());

  stopAndExit = async (why: string): Promise<void> => {
    log.info({ why }, 'worker stopping');
    // A request still open when the grace period ends does not hold us up.
    setTimeout(() => {
      server.closeAllConnections();
    }, config.shutdownTimeoutMs).unref();
    try {
      await stop();
      log.info('worker stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'worker stop failed');
      process.exit(1);
    }
  };
  if (stopAskedDuringBoot) void stopAndExit(stopAskedDuringBoot);
}
