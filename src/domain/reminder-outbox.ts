// The reminder outbox between "decided" and "emailed". Delivery takes a batch
// of due rows in a fenced transaction (marking them with the leader's term),
// sends outside any transaction, and marks the results in another. A row a
// leader took but never marked (it died) is taken again by the next term: the
// same Message-ID goes out once more, which mail clients show once. Rows
// whose student handed in meanwhile, or whose end has passed, are recorded as
// skipped when taken, not sent.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { isMysql } from '../db/dialect.js';
import { numberFromDb, numberFromDbOrNull } from '../db/rows.js';
import type { Transactions } from '../db/transactions.js';
import { MINUTE, SECOND, toIsoOrNull } from '../time.js';
import { DEFAULT_LANGUAGE, languageFromTag, type Language } from '../i18n/languages.js';

/** How long a taken row is held by its leader before the same term takes it again. */
export const CLAIM_HOLD_MS = 2 * MINUTE;
const FIRST_RETRY_MS = SECOND;
const MAX_RETRY_MS = 5 * MINUTE;

/** The wait before attempt `attempts + 1`, after `attempts` failed: 1 s, 2 s, 4 s ... at most 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
}

export interface OutgoingReminder {
  id: number;
  stageId: number;
  userId: number;
  reminder: string;
  endAt: number;
  attempts: number;
  messageId: string;
  email: string;
  name: string;
  /** The recipient's saved language, else English. */
  language: Language;
  stageName: string;
  courseTitle: string;
  timezone: string;
}

interface OutboxJoinRow {
  id: number;
  stage_id: number;
  user_id: number;
  reminder: string;
  end_at: unknown;
  attempts: number;
  message_id: string;
  error: string | null;
  email_address: string;
  name: string;
  language: string | null;
  stage_name: string;
  mode: string;
  course_id: number;
  course_title: string;
  timezone: string;
  handed_in: number | string;
}

const HANDED_IN =
  'EXISTS (SELECT 1 FROM submissions sub WHERE sub.stage_id = r.stage_id AND (sub.student_id = r.user_id OR ' +
  "(s.mode = 'team' AND sub.team_id = (SELECT tm.team_id FROM team_members tm WHERE tm.course_id = s.course_id AND tm.user_id = r.user_id))))";

/**
 * Takes up to `limit` rows due for delivery for this leader's term. Those
 * whose student (or team) has handed in, or whose end has passed, are
 * recorded as skipped in the same transaction and not returned.
 */
export async function takeDueReminders(transaction: Transactions, limit: number): Promise<OutgoingReminder[]> {
  const term = transaction.term;
  return transaction(async (trx) => {
    const now = await dbNowMs(trx);
    const due = trx('reminder_outbox as r')
      .join('stages as s', 's.id', 'r.stage_id')
      .join('courses as c', 'c.id', 's.course_id')
      .join('users as u', 'u.id', 'r.user_id')
      .where('r.status', 'pending')
      .where((q) => {
        q.where('r.next_attempt_at', '<=', now);
        // Taken by an earlier leader that never marked it: ours now.
        if (term !== null) q.orWhere('r.claimed_term', '<', term);
      })
      .orderBy('r.id')
      .limit(limit)
      .select<OutboxJoinRow[]>(
        'r.id',
        'r.stage_id',
        'r.user_id',
        'r.reminder',
        'r.end_at',
        'r.attempts',
        'r.message_id',
        'r.error',
        'u.email as email_address',
        'u.name',
        'u.language',
        's.name as stage_name',
        's.mode',
        's.course_id',
        'c.title as course_title',
        'c.timezone',
        trx.raw(`CASE WHEN ${HANDED_IN} THEN 1 ELSE 0 END as handed_in`),
      );
    const rows = await (isMysql(trx) ? due.forUpdate('r') : due);
    if (rows.length === 0) return [];
    const handedIn = rows.filter((r) => Number(r.handed_in) === 1).map((r) => r.id);
    const late = rows.filter((r) => Number(r.handed_in) !== 1 && now > numberFromDb(r.end_at));
    const send = rows.filter((r) => Number(r.handed_in) !== 1 && now <= numberFromDb(r.end_at));
    if (handedIn.length) await trx('reminder_outbox').whereIn('id', handedIn).update({ status: 'skipped', email: 'skipped', error: 'handed in before the email was sent' });
    for (const r of late) {
      const error = `more than ${r.reminder} late, not sent: the end passed before it could be delivered${r.error ? ` (last error: ${r.error})` : ''}`;
      await trx('reminder_outbox').where('id', r.id).update({ status: 'skipped', email: 'skipped', error: error.slice(0, 2000) });
    }
    if (send.length) await trx('reminder_outbox').whereIn('id', send.map((r) => r.id)).update({ claimed_term: term, next_attempt_at: now + CLAIM_HOLD_MS });
    return send.map(toOutgoing);
  });
}

function toOutgoing(r: OutboxJoinRow): OutgoingReminder {
  return {
      id: Number(r.id),
      stageId: Number(r.stage_id),
      userId: Number(r.user_id),
      reminder: r.reminder,
      endAt: numberFromDb(r.end_at),
      attempts: Number(r.attempts),
      messageId: r.message_id,
      email: r.email_address,
      name: r.name,
      language: languageFromTag(r.language) ?? DEFAULT_LANGUAGE,
      stageName: r.stage_name,
      courseTitle: r.course_title,
      timezone: r.timezone,
  };
}

export type DeliveryOutcome = { id: number; attempts: number } & ({ kind: 'sent' } | { kind: 'retry'; error: string } | { kind: 'failed'; error: string });

/** Writes down how each send went; only rows this term still holds. */
export async function markDeliveries(transaction: Transactions, outcomes: DeliveryOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const term = transaction.term;
  await transaction(async (trx) => {
    const now = await dbNowMs(trx);
    const held = (q: Knex.QueryBuilder) => (term === null ? q.whereNull('claimed_term') : q.where('claimed_term', term));
    const sent = outcomes.filter((o) => o.kind === 'sent');
    for (let i = 0; i < sent.length; i += 500) {
      await held(trx('reminder_outbox').whereIn('id', sent.slice(i, i + 500).map((o) => o.id))).update({ status: 'sent', email: 'sent', sent_at: now, error: null, attempts: trx.raw('attempts + 1') });
    }
    for (const o of outcomes) {
      if (o.kind === 'retry') {
        await held(trx('reminder_outbox').where('id', o.id)).update({ email: 'failed', error: o.error, attempts: o.attempts + 1, next_attempt_at: now + retryDelayMs(o.attempts + 1) });
      } else if (o.kind === 'failed') {
        await held(trx('reminder_outbox').where('id', o.id)).update({ status: 'failed', email: 'failed', error: o.error, attempts: o.attempts + 1, next_attempt_at: null });
      }
    }
  });
}

/** The next instant a row waits to be sent (a retry, or a hold to expire); null when none waits. */
export async function nextDeliveryDue(db: Knex): Promise<number | null> {
  const row = await db('reminder_outbox').where('status', 'pending').min({ at: 'next_attempt_at' }).first();
  return numberFromDbOrNull(row?.at);
}

export interface ReminderRecord {
  userId: number;
  reminder: string;
  dueAt: number;
  sentAt: number | null;
  status: string;
  email: string;
  error: string | null;
}

/** The stage's reminders, one per student and reminder, as the teacher reads them. */
export async function stageReminders(db: Knex, stageId: number): Promise<ReminderRecord[]> {
  const rows = await db('reminder_outbox')
    .where('stage_id', stageId)
    .orderBy([{ column: 'due_at' }, { column: 'user_id' }])
    .select<{ user_id: number; reminder: string; due_at: unknown; sent_at: unknown; status: string; email: string; error: string | null; attempts: number }[]>('user_id', 'reminder', 'due_at', 'sent_at', 'status', 'email', 'error', 'attempts');
  return rows.map((r) => ({
    userId: Number(r.user_id),
    reminder: r.reminder,
    dueAt: numberFromDb(r.due_at),
    sentAt: numberFromDbOrNull(r.sent_at),
    // Waiting for a retry after a failed attempt reads as failed (with its error) until it goes out.
    status: r.status === 'pending' && Number(r.attempts) > 0 ? 'failed' : r.status,
    email: r.email,
    error: r.error,
  }));
}

export function reminderRecordJson(r: ReminderRecord) {
  return { userId: r.userId, reminder: r.reminder, dueAt: toIsoOrNull(r.dueAt), sentAt: toIsoOrNull(r.sentAt), status: r.status, email: r.email, error: r.error };
}
