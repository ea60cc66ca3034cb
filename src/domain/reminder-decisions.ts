// Deciding a due reminder: in one transaction (the leader's, fenced with its
// term), find who in its window has not handed in and has no row for this
// reminder yet, write each one's outbox row and in-app notice, and record the
// decision. Fenced transactions take the term's lock first (SQLite: the write
// lock; MySQL: the term row), so two leaders' decisions never interleave; the
// second finds the decision recorded and writes nothing, and the outbox's
// unique (stage, user, reminder) would refuse it anyway.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { readRows } from '../db/read-cache.js';
import type { Transactions } from '../db/transactions.js';
import { decisionRow, undecidedReminders, type DueReminder } from './reminder-plan.js';
import { reminderNotice } from './reminder-offsets.js';

export interface DecideOptions {
  /** SMTP_URL is set: rows wait for their email; else they are done once the notice is written. */
  emailOn: boolean;
  /** Builds the Message-ID of a row. */
  messageId(stageId: number, userId: number, reminder: string): string;
}

export interface DecideResult {
  decided: number;
  reminded: number;
  skipped: number;
}

interface Recipient {
  id: number;
}

/** The team of user `u` in the course of m, as SQL. */
const TEAM_OF = '(SELECT tm.team_id FROM team_members tm WHERE tm.course_id = m.course_id AND tm.user_id = u.id)';

/**
 * Students of the reminder's window who have not handed in (in a team stage:
 * whose team has not) and have no outbox row for this reminder.
 */
async function recipients(trx: Knex.Transaction, d: DueReminder): Promise<Recipient[]> {
  const params: unknown[] = [d.courseId];
  let who: string;
  if (d.userId !== null) {
    who = 'AND u.id = ?';
    params.push(d.userId);
  } else if (d.teamId !== null) {
    // A team member with an override of their own is reminded by that window instead.
    who = 'AND u.id IN (SELECT t2.user_id FROM team_members t2 WHERE t2.team_id = ?) AND NOT EXISTS (SELECT 1 FROM stage_overrides o WHERE o.stage_id = ? AND o.user_id = u.id)';
    params.push(d.teamId, d.stageId);
  } else {
    who = `AND NOT EXISTS (SELECT 1 FROM stage_overrides o WHERE o.stage_id = ? AND (o.user_id = u.id OR o.team_id = ${TEAM_OF}))`;
    params.push(d.stageId);
  }
  const handedIn = d.mode === 'team' ? `(s.student_id = u.id OR s.team_id = ${TEAM_OF})` : 's.student_id = u.id';
  params.push(d.stageId, d.stageId, d.reminder);
  return readRows<Recipient>(
    trx,
    "SELECT u.id FROM course_members m JOIN users u ON u.id = m.user_id WHERE m.course_id = ? AND u.role = 'student' " +
      `${who} AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.stage_id = ? AND ${handedIn}) ` +
      'AND NOT EXISTS (SELECT 1 FROM reminder_outbox r WHERE r.stage_id = ? AND r.user_id = u.id AND r.reminder = ?) ORDER BY u.id',
    params,
  ) as Promise<Recipient[]>;
}

interface StageWords {
  name: string;
  title: string;
  timezone: string;
}

async function stageWords(trx: Knex.Transaction, stageId: number): Promise<StageWords | undefined> {
  return trx('stages as s').join('courses as c', 'c.id', 's.course_id').where('s.id', stageId).first<StageWords | undefined>('s.name', 'c.title', 'c.timezone');
}

const CHUNK = 200;

/** Decides one due reminder; returns how many were reminded, or null when it was decided already. */
async function decideOne(trx: Knex.Transaction, term: number | null, d: DueReminder, options: DecideOptions): Promise<{ reminded: number; skipped: number } | null> {
  const key = decisionRow(d);
  if (await trx('reminder_decisions').where(key).first('id')) return null;
  const words = await stageWords(trx, d.stageId);
  if (!words) return null; // the stage went meanwhile
  const at = await dbNowMs(trx);
  const people = await recipients(trx, d);
  // Later than its own length (the end has passed): recorded, not sent.
  const late = at > d.endAt;
  const status = late ? 'skipped' : options.emailOn ? 'pending' : 'sent';
  const email = !options.emailOn ? 'off' : late ? 'skipped' : 'pending';
  const error = late ? `more than ${d.reminder} late: decided ${at - d.dueAt} ms after it was due, after the end (the scheduler was not running)` : null;
  const text = reminderNotice(words.name, words.title, d.endAt, words.timezone);
  for (let i = 0; i < people.length; i += CHUNK) {
    const chunk = people.slice(i, i + CHUNK);
    await trx('reminder_outbox').insert(
      chunk.map((p) => ({
        stage_id: d.stageId,
        user_id: p.id,
        reminder: d.reminder,
        due_at: d.dueAt,
        end_at: d.endAt,
        decided_at: at,
        status,
        email,
        message_id: options.messageId(d.stageId, p.id, d.reminder),
        next_attempt_at: status === 'pending' ? at : null,
        sent_at: status === 'sent' ? at : null,
        error,
        term,
      })),
    );
    if (late) continue;
    const ids = await trx('reminder_outbox')
      .where({ stage_id: d.stageId, reminder: d.reminder })
      .whereIn(
        'user_id',
        chunk.map((p) => p.id),
      )
      .select<{ id: number; user_id: number }[]>('id', 'user_id');
    await trx('notifications').insert(ids.map((r) => ({ user_id: r.user_id, kind: 'reminder', stage_id: d.stageId, outbox_id: r.id, at, text })));
  }
  await trx('reminder_decisions').insert({ ...key, decided_at: at, recipients: people.length, term });
  return { reminded: late ? 0 : people.length, skipped: late ? people.length : 0 };
}

/** Decides every reminder due by the database clock, one transaction each. */
export async function decideDueReminders(transaction: Transactions, options: DecideOptions): Promise<DecideResult> {
  const result: DecideResult = { decided: 0, reminded: 0, skipped: 0 };
  const now = await dbNowMs(transaction.db);
  for (const d of await undecidedReminders(transaction.db, now)) {
    if (d.dueAt > now) break;
    const done = await transaction((trx) => decideOne(trx, transaction.term, d, options));
    if (!done) continue;
    result.decided += 1;
    result.reminded += done.reminded;
    result.skipped += done.skipped;
  }
  return result;
}
