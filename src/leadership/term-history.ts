// Leadership history: a row per term in leader_terms, with who led, from when
// to when, how it ended and the gap since the term before it ended. A leader
// that lets go closes its own row; one that died or froze cannot, so its
// successor closes it, with what it knows of how it ended.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { numberFromDb, numberFromDbOrNull } from '../db/rows.js';
import type { JobExecutionRow, LeaderTermRow } from '../db/tables.js';
import { toIso, toIsoOrNull } from '../time.js';

// A term outlived by a newer one (a frozen leader) is closed by its successor as
// 'stale' or 'expired': how it lost, which says more than that it did.
export type TermEndReason = 'released' | 'died' | 'stale' | 'expired';

/** How the previous term ended, as its successor knows it. */
export interface PredecessorFate {
  reason: TermEndReason;
  /** When it ended, if known (the primary saw it die); else its last sign of life. */
  endedAt?: number | null;
}

export interface TermHolder {
  pid: number;
  hostname: string;
  workerId: number | null;
  election: 'lockfile' | 'db';
}

export interface TermRecord {
  term: number;
  pid: number;
  hostname: string;
  workerId: number | null;
  election: string;
  startedAt: number;
  endedAt: number | null;
  endReason: string | null;
  gapMs: number | null;
}

/**
 * Inside the transaction that took `term`: closes earlier terms left open
 * and records ours, with the gap since the last one ended.
 */
export async function recordTermStart(trx: Knex.Transaction, term: number, holder: TermHolder, fate: PredecessorFate): Promise<{ gapMs: number | null }> {
  const startedAt = await dbNowMs(trx);
  const open = await trx<LeaderTermRow>('leader_terms').whereNull('ended_at').andWhere('term', '<', term).select('term', 'started_at');
  for (const row of open) {
    const endedAt = Math.min(startedAt, fate.endedAt ?? (await lastSignOfLife(trx, numberFromDb(row.term), numberFromDb(row.started_at))));
    await trx<LeaderTermRow>('leader_terms').where({ term: row.term }).update({ ended_at: endedAt, end_reason: fate.reason });
  }
  const previous = await trx<LeaderTermRow>('leader_terms').where('term', '<', term).max({ endedAt: 'ended_at' }).first<{ endedAt: number | string | null } | undefined>();
  const previousEnd = numberFromDbOrNull(previous?.endedAt);
  const gapMs = previousEnd === null ? null : Math.max(0, startedAt - previousEnd);
  await trx<LeaderTermRow>('leader_terms').insert({
    term,
    pid: holder.pid,
    hostname: holder.hostname,
    worker_id: holder.workerId,
    election: holder.election,
    started_at: startedAt,
    gap_ms: gapMs,
  });
  return { gapMs };
}

/** The leader closes its own term when it lets go. */
export async function recordTermEnd(db: Knex, term: number, reason: TermEndReason): Promise<void> {
  const now = await dbNowMs(db);
  await db<LeaderTermRow>('leader_terms').where({ term }).whereNull('ended_at').update({ ended_at: now, end_reason: reason });
}

/** A term that ended unannounced was last seen alive at its last recorded fire (or its start). */
async function lastSignOfLife(trx: Knex.Transaction, term: number, startedAt: number): Promise<number> {
  const row = await trx<JobExecutionRow>('job_executions').where({ term }).max({ at: 'created_at' }).first<{ at: number | string | null } | undefined>();
  return Math.max(startedAt, numberFromDbOrNull(row?.at) ?? startedAt);
}

/** Newest first. */
export async function termHistory(db: Knex, limit = 50): Promise<TermRecord[]> {
  const rows = await db<LeaderTermRow>('leader_terms').orderBy('term', 'desc').limit(limit);
  return rows.map(toTermRecord);
}

function toTermRecord(r: LeaderTermRow): TermRecord {
  return {
    term: numberFromDb(r.term),
    pid: Number(r.pid),
    hostname: r.hostname,
    workerId: r.worker_id === null ? null : Number(r.worker_id),
    election: r.election,
    startedAt: numberFromDb(r.started_at),
    endedAt: numberFromDbOrNull(r.ended_at),
    endReason: r.end_reason,
    gapMs: numberFromDbOrNull(r.gap_ms),
  };
}

export function termJson(t: TermRecord) {
  return { term: t.term, pid: t.pid, hostname: t.hostname, workerId: t.workerId, startedAt: toIso(t.startedAt), endedAt: toIsoOrNull(t.endedAt), endReason: t.endReason, gapMs: t.gapMs };
}

/** The longest gap between terms that began since `since` (for the console). */
export async function longestGap(db: Knex, since: number): Promise<TermRecord | null> {
  const row = await db<LeaderTermRow>('leader_terms').where('started_at', '>=', since).whereNotNull('gap_ms').orderBy('gap_ms', 'desc').first();
  return row ? toTermRecord(row) : null;
}
