// Composition root of an HTTP worker: database, app and server, then (only
// in a cluster worker with the scheduler enabled) the bid for leadership.
// Each part pushes its releaser as it starts; stop runs them in reverse:
// live streams end, then the server drains while the leader lets its job
// finish and hands the lock over, then the leader link, then the databases.
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { connect } from './db/connect.js';
import { isMysql } from './db/dialect.js';
import { createApp } from './http/app.js';
import { deriveKey, loadSessionSecret } from './secrets.js';
import { signInLimitsFor } from './auth/sign-in-limits.js';
import { capConnections, workerConnectionCap } from './http/connection-cap.js';
import { hashGate } from './auth/hash-gate.js';
import { hostHashPlaces } from './cluster/hash-places.js';
import { jobDefinitions } from './jobs/registry.js';
import { createAlerter } from './scheduler/alerts.js';
import { createElection, describeLock } from './leadership/create-election.js';
import { Leadership } from './leadership/leadership.js';
import { Scheduler } from './scheduler/scheduler.js';
import { createLeaderLink, type LeaderLink } from './scheduler/leader-link.js';
import { trackLeadership } from './scheduler/metrics.js';
import { webSchedulerRoutes } from './http/routes/web-scheduler.js';
import { schedulerApiRoutes } from './http/routes/api-scheduler.js';
import { askPrimary, inCluster, onPrimaryMessage, sendToPrimary } from './cluster/worker-ipc.js';
import { drainable } from './http/drain.js';
import { LiveStages } from './http/live-stages.js';
import { webLiveRoutes } from './http/routes/web-live.js';
import { enableWorkerMetrics, localMetrics } from './cluster/metrics.js';
import { SECOND } from './time.js';
import { Releasers } from './releasers.js';
import type { Knex } from 'knex';
import type { JobDefinition } from './jobs/job.js';
import type { Election } from './leadership/election.js';

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
  const releasers = new Releasers();
  const { db, schedulerDb } = openDatabases(config, releasers);
  const jobs = jobDefinitions(config);
  const election = createElection(config, { db: schedulerDb, workerId: cluster.worker?.id ?? null });
  const leadership = mayRunScheduler(config) ? createLeadership(config, log, { schedulerDb, jobs, election }) : null;
  // Open course and stage pages hear of every stage change the leader link hears of.
  const live = new LiveStages({ db, log, maxStreamMs: config.liveStreamMaxMs });
  const leaderLink = createLeaderLink(config, {
    db,
    log,
    jobIds: jobs.map((j) => j.id),
    leadership: () => election.currentOwner(),
    leader: () => leadership?.current ?? null,
    inCluster: inCluster(),
    stagesMayHaveChanged: () => live.check(),
  });
  releasers.push('leader link', () => leaderLink.close());

  // A stop asked for while the server is still starting waits until it is up, then runs.
  // eslint-disable-next-line prefer-const -- assigned once, below, but requestStop may read it before: a const there would throw (TDZ) on an early signal
  let stopAndExit: ((why: string) => Promise<void>) | undefined;
  let stopAskedDuringBoot: string | undefined;
  const requestStop = (why: string) => (stopAndExit ? void stopAndExit(why) : (stopAskedDuringBoot ??= why));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => requestStop(signal));
  onPrimaryMessage((message) => {
    if (message.type === 'shutdown') requestStop('shutdown message');
    if (message.type === 'bid-now') leadership?.bidNow({ kind: message.reason, previousPid: message.previousPid, at: message.at });
  });

  // Every password hash also takes a place under the host's ceiling, held by the primary for all workers.
  if (inCluster()) hashGate.useHostCeiling(hostHashPlaces());
  const app = workerApp(config, log, { db, leaderLink, live });
  const server = await listen(app, config, log);
  startLeading(leadership);
  const http = drainable(server);
  // The server's drain and the leader's stop run side by side: neither waits for the other.
  releasers.push('server and leadership', async () => {
    const results = await Promise.allSettled([http.drain(), leadership?.stop(config.shutdownTimeoutMs)]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  });
  // Pushed last, so it runs first: event streams never end by themselves, and
  // the drain waits for every open response. Browsers reconnect elsewhere.
  releasers.push('live streams', () => live.close());

  stopAndExit = (why) => stopWorker(why, { config, log, server, releasers });
  if (stopAskedDuringBoot) void stopAndExit(stopAskedDuringBoot);
}

/** The Express app of a worker, with the scheduler's routes talking to the leader through the link. */
function workerApp(config: Config, log: Logger, { db, leaderLink, live }: { db: Knex; leaderLink: LeaderLink; live: LiveStages }) {
  return createApp({
    db,
    log,
    sessionSecret: loadSessionSecret(config),
    secureCookies: config.cookieSecure,
    trustProxy: config.trustProxy,
    uploads: config.uploads,
    publicUrl: config.publicUrl,
    // Keyed by a key of its own from the session secret: the same on every host, never the secret itself.
    signInLimits: signInLimitsFor(config, db, deriveKey(loadSessionSecret(config), 'sign-in-limits')),
    metrics: {
      token: config.metricsToken,
      collect: () => (inCluster() ? askPrimary<'metrics-result'>({ type: 'metrics' }, 10 * SECOND) : localMetrics()),
    },
    apiRoutes: [schedulerApiRoutes({ db, scheduler: leaderLink })],
    pageRoutes: [webSchedulerRoutes({ db, scheduler: leaderLink, lockPath: describeLock(config) }), webLiveRoutes({ db, live })],
  });
}

/**
 * MySQL/MariaDB: the election and the scheduler get connections of their
 * own. At a deadline every connection of the requests' pool can be busy with
 * submissions waiting on row locks; the leader's lease renewal, term check and
 * sweep must not queue behind them. SQLite keeps one connection per process: a
 * second one would only contend for the file's write lock.
 */
function openDatabases(config: Config, releasers: Releasers): { db: Knex; schedulerDb: Knex } {
  const db = connect(config.databaseUrl);
  releasers.push('database', () => db.destroy());
  if (!isMysql(db)) return { db, schedulerDb: db };
  const schedulerDb = connect(config.databaseUrl, { maxConnections: SCHEDULER_CONNECTIONS });
  releasers.push('scheduler database', () => schedulerDb.destroy());
  return { db, schedulerDb };
}

function createLeadership(config: Config, log: Logger, { schedulerDb, jobs, election }: { schedulerDb: Knex; jobs: JobDefinition[]; election: Election }): Leadership<Scheduler> {
  const alert = createAlerter({ log, webhookUrl: config.alertWebhookUrl, webhookSecret: config.alertWebhookSecret });
  return new Leadership<Scheduler>({
    election,
    log,
    retryMs: config.schedulerRetryMs,
    lockDescription: describeLock(config),
    createLeaderWork: () => new Scheduler({ db: schedulerDb, log, config, jobs, election, alert }),
    // Stopping on purpose: the primary asks the others to bid at once.
    onReleased: () => sendToPrimary({ type: 'leadership-released' }),
  });
}

async function listen(app: ReturnType<typeof createApp>, config: Config, log: Logger): Promise<Server> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const maxConnections = workerConnectionCap();
  let lastRefusalLog = 0;
  capConnections(server, maxConnections, () => {
    // One line a minute at most: a flood of refusals must not become a flood of log lines.
    if (Date.now() - lastRefusalLog < 60 * SECOND) return;
    lastRefusalLog = Date.now();
    log.warn({ maxConnections }, 'connection refused: this worker holds as many connections as its open-file limit allows');
  });
  log.info({ port: config.port, host: config.host, maxConnections }, 'worker listening');
  return server;
}

function startLeading(leadership: Leadership<Scheduler> | null): void {
  if (!leadership) return sendToPrimary({ type: 'ready' });
  trackLeadership(() => leadership.current !== null);
  // Ready once it has made its first bid: a rolling restart retires the
  // leader only after that, so the new worker takes over as a handover.
  void leadership.start().finally(() => sendToPrimary({ type: 'ready' }));
}

async function stopWorker(why: string, { config, log, server, releasers }: { config: Config; log: Logger; server: Server; releasers: Releasers }): Promise<void> {
  log.info({ why }, 'worker stopping');
  // A request still open when the grace period ends does not hold us up.
  setTimeout(() => {
    server.closeAllConnections();
  }, config.shutdownTimeoutMs).unref();
  try {
    await releasers.releaseAll();
    log.info('worker stopped');
    process.exit(0);
  } catch (err) {
    log.error({ err }, 'worker stop failed');
    process.exit(1);
  }
}
