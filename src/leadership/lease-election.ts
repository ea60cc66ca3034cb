// Leader election for several hosts sharing one database: a lease row that
// the leader renews every leaseMs/3. Taking it over needs it expired by the
// database's clock; keeping it needs a renewal that lands before expiry. The
// leader also counts on its own monotonic clock, so a blocked event loop (no
// renewals) makes it step down before anyone else may take over. Taking the
// lease and taking the next term (terms.ts) are one transaction: the lease
// row carries the integer term it was granted with.
import type { Knex } from 'knex';
import { nowMsSql } from '../db/clock.js';
import { isUniqueViolation } from '../db/errors.js';
import { numberFromDb } from '../db/rows.js';
import type { BigIntColumn, SchedulerLeaseRow } from '../db/tables.js';
import { toIso } from '../time.js';
import { ownerForThisProcess, type Election, type LeadershipSnapshot } from './election.js';
import { takeNextTerm } from './terms.js';
import { countLeaderChange } from './metrics.js';
import { recordTermEnd, recordTermStart, type PredecessorFate } from './term-history.js';

const LEASE = 'scheduler';

/** The lease row as currentOwner() reads it, with the database's clock beside it. */
type LeaseSighting = Pick<SchedulerLeaseRow, 'pid' | 'hostname' | 'worker_id' | 'acquired_at' | 'expires_at' | 'term'> & { now_ms: BigIntColumn };

export interface LeaseElectionOptions {
  db: Knex;
  leaseMs: number;
  workerId: number | null;
}

export class LeaseElection implements Election {
  private heldTerm: number | null = null;
  /** performance.now() when the last successful renewal was sent. */
  private renewedAt = 0;
  private renewTimer: NodeJS.Timeout | null = null;
  /**
   * Fires when the lease stops being trustworthy by our own clock: with the
   * database away, renewals fail, and the leader must step down before the
   * lease could be taken, not at its next renewal attempt.
   */
  private trustTimer: NodeJS.Timeout | null = null;
  private lostListeners: ((reason: Error) => void)[] = [];

  constructor(private readonly options: LeaseElectionOptions) {}

  /** Past this much local time since the last renewal we no longer count on the lease. */
  private get trustMs(): number {
    return Math.floor(this.options.leaseMs * 0.8);
  }

  get term(): number | null {
    return this.heldTerm;
  }

  stepDown(reason: Error): void {
    this.lost(reason);
  }

  async acquire(predecessor: PredecessorFate = { reason: 'expired' }): Promise<boolean> {
    if (this.heldTerm !== null) return true;
    const { db, leaseMs, workerId } = this.options;
    const owner = ownerForThisProcess(workerId);
    const now = nowMsSql(db);
    const sentAt = performance.now();
    const granted = await db.transaction(async (trx) => {
      // The lease first: the transaction's first statement writes (SQLite
      // takes the write lock at once), and a lease held by someone else costs
      // no term. Take it over if it expired by the database's clock. The row
      // is there from the migrations on and never deleted, so this one
      // conditional UPDATE decides; contenders on MySQL queue on the row lock.
      // (Insert-then-update made them deadlock: the duplicate's shared lock,
      // then the update's exclusive one.) Created here only if missing.
      const holder = { term: 0, pid: owner.pid, hostname: owner.hostname, worker_id: workerId, acquired_at: now, expires_at: trx.raw('? + ?', [now, leaseMs]) };
      let won = (await trx('scheduler_leases').where({ name: LEASE }).andWhere('expires_at', '<=', now).update(holder)) === 1;
      if (!won && !(await trx('scheduler_leases').where({ name: LEASE }).first('name'))) {
        try {
          await trx('scheduler_leases').insert({ name: LEASE, ...holder });
          won = true;
        } catch (err) {
          if (!isUniqueViolation(err)) throw err; // another contender created it first
        }
      }
      if (!won) return null;
      const term = await takeNextTerm(trx);
      await trx('scheduler_leases').where({ name: LEASE }).update({ term });
      return { term, ...(await recordTermStart(trx, term, { ...owner, election: 'db' }, predecessor)) };
    });
    if (granted === null) return false;
    countLeaderChange(granted.gapMs);
    const { term } = granted;
    this.heldTerm = term;
    this.renewedAt = sentAt;
    this.scheduleRenewal();
    return true;
  }

  onLost(listener: (reason: Error) => void): void {
    this.lostListeners.push(listener);
  }

  async release(): Promise<void> {
    const term = this.heldTerm;
    this.stopRenewing();
    this.heldTerm = null;
    if (term === null) return;
    await recordTermEnd(this.options.db, term, 'released').catch(() => undefined);
    // Expired at once rather than deleted: the row stays for the next taker.
    await this.options.db('scheduler_leases').where({ name: LEASE, term }).update({ expires_at: 0 });
  }

  async currentOwner(): Promise<LeadershipSnapshot> {
    const { db } = this.options;
    const row = await db('scheduler_leases').where({ name: LEASE }).first<LeaseSighting | undefined>('pid', 'hostname', 'worker_id', 'acquired_at', 'expires_at', 'term', db.raw('? as now_ms', [nowMsSql(db)]));
    // No row, or one released (expires_at 0): nobody leads.
    if (!row || numberFromDb(row.expires_at) === 0) return { state: 'free', owner: null };
    const owner = { pid: Number(row.pid), hostname: row.hostname, workerId: row.worker_id === null ? null : Number(row.worker_id), acquiredAt: toIso(numberFromDb(row.acquired_at)), term: numberFromDb(row.term) };
    return { state: numberFromDb(row.expires_at) > numberFromDb(row.now_ms) ? 'held' : 'stale', owner };
  }

  stillLeading(): Promise<boolean> {
    if (this.heldTerm === null) return Promise.resolve(false);
    const sinceRenewal = performance.now() - this.renewedAt;
    if (sinceRenewal < this.trustMs) return Promise.resolve(true);
    this.lost(new Error(`lease not renewed for ${Math.round(sinceRenewal)} ms`));
    return Promise.resolve(false);
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => void this.renew(), Math.floor(this.options.leaseMs / 3));
    if (this.trustTimer) clearTimeout(this.trustTimer);
    const left = this.trustMs - (performance.now() - this.renewedAt);
    this.trustTimer = setTimeout(() => void this.stillLeading(), Math.max(0, left) + 1);
  }

  private async renew(): Promise<void> {
    const term = this.heldTerm;
    if (term === null) return;
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
      if (this.heldTerm !== term) return;
      if (renewed !== 1) return this.lost(new Error('the lease expired or was taken over'));
      this.renewedAt = sentAt;
    } catch {
      // The database is unreachable: keep trying until the lease can no longer be trusted.
      if (!(await this.stillLeading())) return;
    }
    if (this.heldTerm === term) this.scheduleRenewal();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    if (this.trustTimer) clearTimeout(this.trustTimer);
    this.trustTimer = null;
  }

  private lost(reason: Error): void {
    if (this.heldTerm === null) return;
    this.heldTerm = null;
    this.stopRenewing();
    for (const listener of this.lostListeners) listener(reason);
  }
}
