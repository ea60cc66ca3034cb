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
import { HostHashCeiling } from './hash-ceiling.js';

/** A worker that lived shorter than this counts as a crash for the backoff. */
const YOUNG_DEATH_MS = 10 * SECOND;
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30 * SECOND;

export function runPrimary(config: Config, log: Logger): Promise<number> {
  return new Primary(config, log).run();
}

class Primary {
  private readonly bornAt = new Map<number, number>();
  private readonly serving = new Set<number>();
  /** Workers being replaced or stopped on purpose: not re-forked, not asked to lead. */
  private readonly retiring = new Set<number>();
  private youngDeaths = 0;
  private shuttingDown = false;
  private refork: NodeJS.Timeout | null = null;
  private wanted: number;
  private readonly watchesLockFile: boolean;
  private readonly rollingRestart: RollingRestart;
  private readonly hashCeiling: HostHashCeiling;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.wanted = config.webConcurrency;
    this.hashCeiling = new HostHashCeiling(config.hostHashLimits);
    this.watchesLockFile = config.schedulerEnabled && config.leaderElection === 'lockfile';
    this.rollingRestart = new RollingRestart({
      log,
      bootTimeoutMs: config.shutdownTimeoutMs + 20 * SECOND,
      oldWorkers: () => this.liveWorkers().filter((w) => !this.retiring.has(w.id)),
      fork: () => this.fork(),
      retire: (worker) => this.retire(worker),
      isStopping: () => this.shuttingDown,
      lockFile: this.watchesLockFile ? config.schedulerLockFile : null,
    });
  }

  run(): Promise<number> {
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    // The sign-in counters of LEADER_ELECTION=lockfile live here, shared by the
    // workers over IPC (rate-limiter-flexible's own channel, beside ours).
    if (this.config.leaderElection === 'lockfile') startSignInLimitsInPrimary();
    this.log.info({ workers: this.wanted }, 'primary starting workers');
    for (let i = 0; i < this.wanted; i++) this.fork();
    return new Promise((resolve) => {
      process.on('SIGTERM', () => this.shutdown('SIGTERM', resolve));
      process.on('SIGINT', () => this.shutdown('SIGINT', resolve));
      // Without a handler SIGHUP would end the primary and every worker with it.
      process.on('SIGHUP', () => this.rollingRestart.request());
    });
  }

  private fork(): Worker {
    const worker = cluster.fork({ COURSEWORK_ROLE: 'worker' });
    this.bornAt.set(worker.id, Date.now());
    worker.once('listening', () => this.serving.add(worker.id));
    worker.on('message', (message: unknown) => this.onMessage(worker, message));
    return worker;
  }

  private liveWorkers(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w) && !w!.isDead());
  }

  private send(worker: Worker, message: PrimaryMessage): void {
    if (worker.isConnected()) worker.send(message);
  }

  private broadcast(message: PrimaryMessage): void {
    for (const worker of this.liveWorkers()) this.send(worker, message);
  }

  /** Tell the workers that stay to bid at once; a retiring one must not win. */
  private askForNewLeader(message: Extract<PrimaryMessage, { type: 'bid-now' }>): void {
    if (this.shuttingDown) return;
    for (const worker of this.liveWorkers()) if (!this.retiring.has(worker.id)) this.send(worker, message);
  }

  private onMessage(from: Worker, message: unknown): void {
    if (!isMessage<WorkerMessage>(message)) return;
    switch (message.type) {
      case 'stages-changed':
        this.broadcast(message);
        break;
      case 'leadership-released':
        this.askForNewLeader({ type: 'bid-now', reason: 'handed-over', previousPid: from.process.pid ?? 0, at: Date.now() });
        break;
      case 'run-job':
        // Every worker hears it; only the leader answers, to `replyTo`. The
        // asking worker alone times the round trip (scheduler/leader-link.ts).
        this.broadcast({ ...message, replyTo: from.id });
        break;
      case 'run-job-result': {
        const asker = message.replyTo === undefined ? undefined : cluster.workers?.[message.replyTo];
        if (asker) this.send(asker, message);
        break;
      }
      case 'hash-place':
        this.hashCeiling.ask(from.id, message.requestId, (granted) => this.send(from, { type: 'hash-place-result', requestId: message.requestId, granted }));
        break;
      case 'hash-done':
        this.hashCeiling.done(message.requestId);
        break;
      case 'metrics':
        clusterMetrics().then(
          (m) => this.send(from, { type: 'metrics-result', requestId: message.requestId, ...m }),
          (err: Error) => this.send(from, { type: 'metrics-result', requestId: message.requestId, contentType: 'text/plain', body: '', error: err.message }),
        );
        break;
    }
  }

  /**
   * A worker died: if the lock names it, its lock is cleared now (when that
   * is provably safe, see dead-leader.ts) and the others bid at once, instead
   * of waiting SCHEDULER_LOCK_STALE_MS for the lock to go stale.
   */
  private replaceDeadLeader(worker: Worker): void {
    const pid = worker.process.pid;
    const { config, log } = this;
    if (!this.watchesLockFile || pid === undefined || this.shuttingDown) return;
    try {
      const check = clearDeadOwnersLock(config.schedulerLockFile, config.schedulerLockStaleMs, pid);
      if (!check.cleared) return;
      log.warn({ leaderPid: pid, lock: config.schedulerLockFile }, `the scheduler leader (pid ${pid}) died; its lock is cleared for a successor`);
      this.askForNewLeader({ type: 'bid-now', reason: 'died', previousPid: pid, at: Date.now() });
    } catch (err) {
      log.error({ err, lock: config.schedulerLockFile }, 'could not check the dead worker against the scheduler lock; staleness will free it');
    }
  }

  private onExit(worker: Worker, code: number, signal: string): void {
    const lived = Date.now() - (this.bornAt.get(worker.id) ?? Date.now());
    this.bornAt.delete(worker.id);
    this.serving.delete(worker.id);
    this.hashCeiling.workerGone(worker.id);
    const wasRetiring = this.retiring.delete(worker.id);
    this.replaceDeadLeader(worker);
    if (this.shuttingDown || wasRetiring) {
      this.log.info({ workerPid: worker.process.pid, code, signal }, 'worker stopped');
      return;
    }
    this.log.error({ workerPid: worker.process.pid, code, signal, livedMs: lived }, 'worker died; forking a new one');
    this.youngDeaths = lived < YOUNG_DEATH_MS ? this.youngDeaths + 1 : 0;
    const delay = this.youngDeaths === 0 ? 0 : Math.min(FIRST_BACKOFF_MS * 2 ** (this.youngDeaths - 1), MAX_BACKOFF_MS);
    if (delay > 0) this.log.warn({ delayMs: delay, youngDeaths: this.youngDeaths }, 'workers keep dying young; backing off before forking');
    // One timer serves every death in a burst; it restores the full count.
    this.refork ??= setTimeout(() => {
      this.refork = null;
      if (this.shuttingDown) return;
      const missing = this.wanted - this.liveWorkers().filter((w) => !this.retiring.has(w.id)).length;
      for (let i = 0; i < missing; i++) this.fork();
    }, delay);
  }

  /** Asks a worker to drain and stop; resolves when it has exited. */
  private retire(worker: Worker): Promise<void> {
    return new Promise<void>((done) => {
      this.retiring.add(worker.id);
      if (worker.isDead()) return done();
      worker.once('exit', () => done());
      this.send(worker, { type: 'shutdown' });
      // A worker still booting may not listen for messages yet: say it
      // again once it serves.
      if (!this.serving.has(worker.id)) worker.once('listening', () => this.send(worker, { type: 'shutdown' }));
    });
  }

  private shutdown(signal: string, resolve: (code: number) => void): void {
    const { log } = this;
    if (this.shuttingDown) {
      log.warn({ signal }, 'second signal: forcing workers down');
      for (const worker of this.liveWorkers()) worker.process.kill('SIGKILL');
      return;
    }
    this.shuttingDown = true;
    this.wanted = 0;
    if (this.refork) clearTimeout(this.refork);
    log.info({ signal }, 'primary draining workers');
    const workers = this.liveWorkers();
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
    }, this.config.shutdownTimeoutMs + 5 * SECOND);
    force.unref();
    void Promise.all(workers.map((w) => this.retire(w))).then(() => {
      clearTimeout(force);
      log.info({ failed }, 'primary stopped');
      resolve(failed === 0 ? 0 : 1);
    });
  }
}
