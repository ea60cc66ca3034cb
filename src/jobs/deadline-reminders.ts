// The deadline-reminders job: fired by its due-time trigger at the next
// reminder instant of all stages and overrides (and at the next retry of an
// email), by a safety-net cron, and when a leader starts. Each run first
// decides every due reminder (outbox rows and in-app notices, one fenced
// transaction each), then delivers the outbox: emails with SMTP_URL set,
// nothing more without it.
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { decideDueReminders, type DecideResult } from '../domain/reminder-decisions.js';
import { markDeliveries, nextDeliveryDue, takeDueReminders, type DeliveryOutcome, type OutgoingReminder } from '../domain/reminder-outbox.js';
import { undecidedReminders } from '../domain/reminder-plan.js';
import { reminderEmail, reminderMessageId } from '../mail/reminder-email.js';
import { isPermanentSmtpFailure, smtpErrorText, smtpMailer, SMTP_CONNECTIONS, type Mailer } from '../mail/transport.js';
import type { JobContext } from './job.js';

/** Rows taken per delivery batch: at most this many go out twice if the leader dies mid-batch. */
export const DELIVERY_BATCH = 100;
/** Emails in flight at once (a few per pooled SMTP connection). */
const IN_FLIGHT = SMTP_CONNECTIONS * 2;

/** The next reminder instant not yet decided, or the next email retry; null when nothing waits. */
export async function nextReminderDue(db: Knex): Promise<number | null> {
  const [undecided, delivery] = await Promise.all([dbNowMs(db).then((now) => undecidedReminders(db, now)), nextDeliveryDue(db)]);
  const decide = undecided[0]?.dueAt ?? null;
  if (decide === null) return delivery;
  return delivery === null ? decide : Math.min(decide, delivery);
}

export interface ReminderRunResult extends DecideResult {
  emailed: number;
  retrying: number;
  failed: number;
}

export async function runDeadlineReminders(ctx: JobContext): Promise<ReminderRunResult> {
  const { config, transaction, log } = ctx;
  const publicUrl = config.publicUrl;
  const smtpUrl = config.mail.smtpUrl;
  const decided = await decideDueReminders(transaction, {
    emailOn: smtpUrl !== undefined,
    messageId: (stageId, userId, reminder) => reminderMessageId(stageId, userId, reminder, publicUrl),
  });
  const result: ReminderRunResult = { ...decided, emailed: 0, retrying: 0, failed: 0 };
  if (smtpUrl === undefined) return result;
  const mailer = smtpMailer(smtpUrl, config.mail.from);
  let lastError: string | undefined;
  try {
    for (;;) {
      const batch = await takeDueReminders(transaction, DELIVERY_BATCH);
      if (batch.length === 0) break;
      const outcomes = await sendAll(mailer, batch, publicUrl);
      await markDeliveries(transaction, outcomes);
      for (const o of outcomes) {
        if (o.kind === 'sent') result.emailed += 1;
        else {
          lastError = o.error;
          if (o.kind === 'retry') result.retrying += 1;
          else result.failed += 1;
          log.warn({ outboxId: o.id, attempts: o.attempts + 1, smtpError: o.error, retry: o.kind === 'retry' }, 'reminder email failed');
        }
      }
    }
  } finally {
    mailer.close();
  }
  // Said in the ledger (and the console, and an alert): the run did its part, but mail did not go out.
  if (lastError !== undefined) {
    throw new Error(`${result.retrying + result.failed} reminder email(s) failed (${result.retrying} to retry, ${result.emailed} sent): ${lastError}`);
  }
  return result;
}

/** Sends a batch, IN_FLIGHT at a time; never throws: each failure is an outcome. */
async function sendAll(mailer: Mailer, batch: OutgoingReminder[], publicUrl: string): Promise<DeliveryOutcome[]> {
  const outcomes: DeliveryOutcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < batch.length) {
      const row = batch[next++];
      try {
        await mailer.send(reminderEmail({ ...row, to: row.email, publicUrl }));
        outcomes.push({ id: row.id, attempts: row.attempts, kind: 'sent' });
      } catch (err) {
        const error = smtpErrorText(err);
        outcomes.push({ id: row.id, attempts: row.attempts, kind: isPermanentSmtpFailure(err) ? 'failed' : 'retry', error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batch.length) }, lane));
  return outcomes;
}
