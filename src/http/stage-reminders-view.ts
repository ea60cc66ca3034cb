// The teacher's "Reminders" section of a stage page: who was reminded, when and how.
import type { Knex } from 'knex';
import { memberEmails, type Course } from '../domain/courses.js';
import { stageReminders } from '../domain/reminder-outbox.js';
import type { Actor } from '../domain/users.js';
import { formatLocal } from './local-time.js';
import { say } from '../i18n/request-language.js';

export async function reminderRows(db: Knex, actor: Actor, course: Course, stageId: number) {
  const rows = await stageReminders(db, stageId);
  const emails = await memberEmails(db, actor, course.id, rows.map((r) => r.userId));
  const at = (ms: number | null) => (ms === null ? '—' : formatLocal(ms, course.timezone));
  return rows.map((r) => ({ ...r, who: emails.get(r.userId) ?? say('overrides.studentNumber', { id: r.userId }), due: at(r.dueAt), sent: at(r.sentAt) }));
}
