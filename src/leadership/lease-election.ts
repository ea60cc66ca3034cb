// Leader election for several hosts sharing one database: a lease row that
// the leader renews every leaseMs/3. Taking it over needs it expired by the
// database's clock; keeping it needs a renewal that lands before expiry. The
// leader also counts on its own monotonic clock, so a blocked event loop (no
// renewals) makes it step down before anyone else may take over.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { nowMsSql } from '../db/clock.js';
import { isUniqueViolation } from '../db/errors.js';
import { ms } from '../db/rows.js';
import type { BigIntColumn, SchedulerLeaseRow } from '../db/tables.js';
import { toIso } from '../time.js';
import { ownerForThisProcess, type Election, type LeadershipSnapshot } from './election.js';

const LEASE = 'scheduler';

/** The lease row as currentOwner() reads it, with the database's clock beside it. */
type LeaseSighting = Pick<SchedulerLeaseRow, 'pid' | 'hostname' | 'worker_id' | 'acquired_at' | 'expires_at'> & { now_ms: BigIntColumn };

export interface LeaseElectionOptions {
  db: Knex;
  leaseMs: number;
  workerId: number | null;
}

export class LeaseElection implements Election {
  private term: string | null = null;
  /** performance.now() when the last successful renewal was sent. */
  private renewedAt = 0;
  private renewTimer: NodeJS.Timeout | null = null;
  private lostListeners: ((reason: Error) => void)[] = [];

  constructor(private readonly options: LeaseElectionOptions) {}

  /** Past this much local time since the last renewal we no longer count on the lease. */
  private get trustMs(): number {
    return Math.floor(this.options.leaseMs * 0.8);
  }

  async acquire(): Promise<boolean> {
    if (this.term) return true;
    const { db, leaseMs, workerId } = this.options;
    const term = randomUUID();
    const owner = ownerForThisProcess(workerId);
    const now = nowMsSql(db);
    const sentAt = performance.now();
    const holder = { term, pid: owner.pid, hostname: owner.hostname, worker_id: workerId, acquired_at: now, expires_at: db.raw('? + ?', [now, leaseMs]) };
    let won: boolean;
    try {
      await db('scheduler_leases').insert({ name: LEASE, ...holder });
      won = true;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Someone held it: ours only if it has expired by the database's clock.
      won = (await db('scheduler_leases').where({ name: LEASE }).andWhere('expires_at', '<=', now).update(holder)) === 1;
    }
    if (!won) return false;
    this.term = term;
    this.renewedAt = sentAt;
    this.scheduleRenewal();
    return true;
  }

  onLost(listener: (reason: Error) => void): void {
    this.lostListeners.push(listener);
  }

  async release(): Promise<void> {
    const term = this.term;
    this.stopRenewing();
    this.term = null;
    if (term) await this.options.db('scheduler_leases').where({ name: LEASE, term }).delete();
  }

  async currentOwner(): Promise<LeadershipSnapshot> {
    const { db } = this.options;
    const row = await db('scheduler_leases').where({ name: LEASE }).first<LeaseSighting | undefined>('pid', 'hostname', 'worker_id', 'acquired_at', 'expires_at', db.raw('? as now_ms', [nowMsSql(db)]));
    if (!row) return { state: 'free', owner: null };
    const owner = { pid: Number(row.pid), hostname: row.hostname, workerId: row.worker_id === null ? null : Number(row.worker_id), acquiredAt: toIso(ms(row.acquired_at)) };
    return { state: ms(row.expires_at) > ms(row.now_ms) ? 'held' : 'stale', owner };
  }

  stillLeading(): Promise<boolean> {
    if (!this.term) return Promise.resolve(false);
    const sinceRenewal = performance.now() - this.renewedAt;
    if (sinceRenewal < this.trustMs) return Promise.resolve(true);
    this.lost(new Error(`lease not renewed for ${Math.round(sinceRenewal)} ms`));
    return Promise.resolve(false);
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => void this.renew(), Math.floor(this.options.leaseMs / 3));
  }

  private async renew(): Promise<void> {
    const term = this.term;
    if (!term) return;
    const { db, leaseMs } = this.options;
    // A renewal after a long pause (blocked loop) must not resurrect a lease
    // we already stopped trusting: step down instead.
    if (!(await this.stillLeading())) return;
    const sentAt = performance.now();
    try {
      const now = nowMsSql(db);
      const renewed = await db('scheduler_leases')
        .where({ name: LEASE, term })
        .andWhere('expires_at', '>', now)
        .update({ expires_at: db.raw('? + ?', [now, leaseMs]) });
      if (this.term !== term) return;
      if (renewed !== 1) return this.lost(new Error('the lease expired or was taken over'));
      this.renewedAt = sentAt;
    } catch {
      // The database is unreachable: keep trying until the lease can no longer be trusted.
      if (!(await this.stillLeading())) return;
    }
    if (this.term === term) this.scheduleRenewal();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  private lost(reason: Error): void {
    if (!this.term) return;
    this.term = null;
    this.stopRenewing();
    for (const listener of this.lostListeners) listener(reason);
  }
}
