// The cluster primary: forks WEB_CONCURRENCY workers, re-forks one that dies
// (backing off when they die young, so a crash loop does not spin the CPU),
// relays messages between workers, replaces the scheduler's leader at once
// when it dies or lets go, replaces every worker one at a time on SIGHUP, and
// on SIGTERM/SIGINT drains them all.
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { clearDeadOwnersLock } from '../leadership/dead-leader.js';
import { SECOND } from '../time.js';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { clusterMetrics } from './metrics.js';
import { RollingRestart } from './rolling-restart.js';
import { startSignInLimitsInPrimary } from '../auth/sign-in-limits.js';

/** A worker that lived shorter than this counts as a crash for the backoff. */
const YOUNG_DEATH_MS = 10 * SECOND;
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30 * SECOND;

export function runPrimary(config: Config, log: Logger): Promise<number> {
  const bornAt = new Map<number, number>();
  const serving = new Set<number>();
  /** Workers being replaced or stopped on purpose: not re-forked, not asked to lead. */
  const retiring = new Set<number>();
  let youngDeaths = 0;
  let shuttingDown = false;
  let refork: NodeJS.Timeout | null = null;
  let wanted = config.webConcurrency;
  const watchesLockFile = config.schedulerEnabled && config.leaderElection === 'lockfile';

  const fork = (): Worker => {
    const worker = cluster.fork({ COURSEWORK_ROLE: 'worker' });
    bornAt.set(worker.id, Date.now());
    worker.once('listening', () => serving.add(worker.id));
    worker.on('message', (message: unknown) => onMessage(worker, message));
    return worker;
  };

  const liveWorkers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w) && !w!.isDead());
  const send = (worker: Worker, message: PrimaryMessage) => {
    if (worker.isConnected()) worker.send(message);
  };
  const broadcast = (message: PrimaryMessage, except?: Worker) => {
    for (const worker of liveWorkers()) if (worker !== except) send(worker, message);
  };
  /** Tell the workers that stay to bid at once; a retiring one must not win. */
  const askForNewLeader = (message: Extract<PrimaryMessage, { type: 'bid-now' }>) => {
    if (shuttingDown) return;
    for (const worker of liveWorkers()) if (!retiring.has(worker.id)) send(worker, message);
  };

  function onMessage(from: Worker, message: unknown): void {
    if (!isMessage<WorkerMessage>(message)) return;
    switch (message.type) {
      case 'stages-changed':
        broadcast(message);
        break;
      case 'leadership-released':
        askForNewLeader({ type: 'bid-now', reason: 'handed-over', previousPid: from.process.pid ?? 0, at: Date.now() });
        break;
      case 'run-job':
        // Every worker hears it; only the leader answers, to `replyTo`. The
        // asking worker alone times the round trip (scheduler/leader-link.ts).
        broadcast({ ...message, replyTo: from.id });
        break;
      case 'run-job-result': {
        const asker = message.replyTo === undefined ? undefined : cluster.workers?.[message.replyTo];
        if (asker) send(asker, message);
        break;
      }
      case 'metrics':
        clusterMetrics().then(
          (m) => send(from, { type: 'metrics-result', requestId: message.requestId, ...m }),
          (err: Error) => send(from, { type: 'metrics-result', requestId: message.requestId, contentType: 'text/plain', body: '', error: err.message }),
        );
        break;
    }
  }

  /**
   * A worker died: if the lock names it, its lock is cleared now (when that
   * is provably safe, see dead-leader.ts) and the others bid at once, instead
   * of waiting SCHEDULER_LOCK_STALE_MS for the lock to go stale.
   */
  function replaceDeadLeader(worker: Worker): void {
    const pid = worker.process.pid;
    if (!watchesLockFile || pid === undefined || shuttingDown) return;
    try {
      const check = clearDeadOwnersLock(config.schedulerLockFile, config.schedulerLockStaleMs, pid);
      if (!check.cleared) return;
      log.warn({ leaderPid: pid, lock: config.schedulerLockFile }, `the scheduler leader (pid ${pid}) died; its lock is cleared for a successor`);
      askForNewLeader({ type: 'bid-now', reason: 'died', previousPid: pid, at: Date.now() });
    } catch (err) {
      log.error({ err, lock: config.schedulerLockFile }, 'could not check the dead worker against the scheduler lock; staleness will free it');
    }
  }

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (bornAt.get(worker.id) ?? Date.now());
    bornAt.delete(worker.id);
    serving.delete(worker.id);
    const wasRetiring = retiring.delete(worker.id);
    replaceDeadLeader(worker);
    if (shuttingDown || wasRetiring) {
      log.info({ workerPid: worker.process.pid, code, signal }, 'worker stopped');
      return;
    }
    log.error({ workerPid: worker.process.pid, code, signal, livedMs: lived }, 'worker died; forking a new one');
    youngDeaths = lived < YOUNG_DEATH_MS ? youngDeaths + 1 : 0;
    const delay = youngDeaths === 0 ? 0 : Math.min(FIRST_BACKOFF_MS * 2 ** (youngDeaths - 1), MAX_BACKOFF_MS);
    if (delay > 0) log.warn({ delayMs: delay, youngDeaths }, 'workers keep dying young; backing off before forking');
    // One timer serves every death in a burst; it restores the full count.
    refork ??= setTimeout(() => {
      refork = null;
      if (shuttingDown) return;
      const missing = wanted - liveWorkers().filter((w) => !retiring.has(w.id)).length;
      for (let i = 0; i < missing; i++) fork();
    }, delay);
  });

  /** Asks a worker to drain and stop; resolves when it has exited. */
  const retire = (worker: Worker): Promise<void> =>
    new Promise<void>((done) => {
      retiring.add(worker.id);
      if (worker.isDead()) return done();
      worker.once('exit', () => done());
      send(worker, { type: 'shutdown' });
      // A worker still booting may not listen for messages yet: say it
      // again once it serves.
      if (!serving.has(worker.id)) worker.once('listening', () => send(worker, { type: 'shutdown' }));
    });

  const rollingRestart = new RollingRestart({
    log,
    bootTimeoutMs: config.shutdownTimeoutMs + 20 * SECOND,
    oldWorkers: () => liveWorkers().filter((w) => !retiring.has(w.id)),
    fork,
    retire,
    isStopping: () => shuttingDown,
    lockFile: watchesLockFile ? config.schedulerLockFile : null,
  });

  // The sign-in counters of LEADER_ELECTION=lockfile live here, shared by the
  // workers over IPC (rate-limiter-flexible's own channel, beside ours).
  if (config.leaderElection === 'lockfile') startSignInLimitsInPrimary();
  log.info({ workers: wanted }, 'primary starting workers');
  for (let i = 0; i < wanted; i++) fork();

  return new Promise((resolve) => {
    const shutdown = (signal: string) => {
      if (shuttingDown) {
        log.warn({ signal }, 'second signal: forcing workers down');
        for (const worker of liveWorkers()) worker.process.kill('SIGKILL');
        return;
      }
      shuttingDown = true;
      wanted = 0;
      if (refork) clearTimeout(refork);
      log.info({ signal }, 'primary draining workers');
      const workers = liveWorkers();
      let failed = 0;
      for (const worker of workers) {
        worker.once('exit', (code, sig) => {
          if (code !== 0 || sig) failed += 1;
        });
      }
      // Workers bound their own drain by SHUTDOWN_TIMEOUT_MS; this is the backstop.
      const force = setTimeout(() => {
        log.error('workers did not stop in time; killing them');
        for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
      }, config.shutdownTimeoutMs + 5 * SECOND);
      force.unref();
      void Promise.all(workers.map(retire)).then(() => {
        clearTimeout(force);
        log.info({ failed }, 'primary stopped');
        resolve(failed === 0 ? 0 : 1);
      });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    // Without a handler SIGHUP would end the primary and every worker with it.
    process.on('SIGHUP', () => rollingRestart.request());
  });
}
