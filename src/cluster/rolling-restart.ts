// SIGHUP: replace every worker, one at a time: fork the new one, wait until
// it serves, then drain the old one. The leader is retired last, so the
// scheduler moves once, to a worker that stays (retired first, it could hand
// over to an old worker that is itself about to go). A new worker that does
// not come up stops the restart and the old ones keep serving.
import fs from 'node:fs';
import type { Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import { parseOwner } from '../leadership/election.js';
import { isMessage, type WorkerMessage } from './messages.js';

export interface RollingRestartDeps {
  log: Logger;
  /** How long a new worker may take to serve before the restart gives up. */
  bootTimeoutMs: number;
  /** The workers serving now that are not already on their way out. */
  oldWorkers(): Worker[];
  fork(): Worker;
  /** Drains a worker and resolves once it has exited. */
  retire(worker: Worker): Promise<void>;
  isStopping(): boolean;
  /** Where the leader is named (lock file mode), to retire it last. */
  lockFile: string | null;
}

export class RollingRestart {
  private running: Promise<void> | null = null;
  private queued = false;

  constructor(private readonly deps: RollingRestartDeps) {}

  /** Starts a restart, or queues one (at most one) behind a restart under way. */
  request(): void {
    const { log } = this.deps;
    if (this.deps.isStopping()) return void log.warn('SIGHUP while stopping: ignored');
    if (this.running) {
      if (this.queued) return void log.warn('SIGHUP during a rolling restart with another already queued: ignored');
      this.queued = true;
      return void log.warn('SIGHUP during a rolling restart: queued, it starts when this one ends');
    }
    this.running = this.run()
      .catch((err) => log.error({ err }, 'rolling restart failed'))
      .finally(() => {
        this.running = null;
        if (this.queued) {
          this.queued = false;
          this.request();
        }
      });
  }

  private async run(): Promise<void> {
    const { log } = this.deps;
    const old = this.leaderLast(this.deps.oldWorkers());
    log.info({ workers: old.map((w) => w.process.pid) }, 'rolling restart: replacing every worker, one at a time');
    const started = Date.now();
    for (const [i, worker] of old.entries()) {
      if (this.deps.isStopping()) return;
      const fresh = this.deps.fork();
      const up = await this.serving(fresh);
      if (up !== true) {
        log.error({ newWorkerPid: fresh.process.pid, why: up, replaced: i, of: old.length }, `rolling restart stopped: a new worker did not start (${up}); the old workers keep serving`);
        if (!fresh.isDead()) await this.deps.retire(fresh);
        return;
      }
      await this.deps.retire(worker);
      log.info({ oldPid: worker.process.pid, newPid: fresh.process.pid, step: i + 1, of: old.length }, 'rolling restart: worker replaced');
    }
    log.info({ ms: Date.now() - started, workers: old.length }, 'rolling restart done');
  }

  /**
   * true once the worker serves and has made its first bid for leadership
   * (its 'ready' message), else why not. Retiring the leader before the new
   * worker's first bid settled would let that bid win as a 'first start'
   * instead of a handover.
   */
  private serving(worker: Worker): Promise<true | string> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(`not ready after ${this.deps.bootTimeoutMs} ms`), this.deps.bootTimeoutMs);
      const onMessage = (message: unknown) => {
        if (isMessage<WorkerMessage>(message) && message.type === 'ready') finish(true);
      };
      const onExit = (code: number | null, signal: string | null) => finish(`it exited (code ${code}, signal ${signal}) before serving`);
      const finish = (result: true | string) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(result);
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  private leaderLast(workers: Worker[]): Worker[] {
    const leaderPid = this.leaderPid();
    return [...workers.filter((w) => w.process.pid !== leaderPid), ...workers.filter((w) => w.process.pid === leaderPid)];
  }

  private leaderPid(): number | null {
    if (!this.deps.lockFile) return null;
    try {
      return parseOwner(fs.readFileSync(this.deps.lockFile, 'utf8'))?.pid ?? null;
    } catch {
      return null;
    }
  }
}
