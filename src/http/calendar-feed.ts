// A user's calendar feed as iCalendar (ical-generator): one event per stage of
// their courses in their effective window, a stable UID per stage, the late
// cut-off in the description, the stage's reminders as alarms.
import ical, { ICalAlarmType } from 'ical-generator';
import type { Knex } from 'knex';
import type { StageRow } from '../db/tables.js';
import { STAGE_COLUMNS, toStage } from '../domain/stage-row.js';
import { effectiveWindow } from '../domain/effective-window.js';
import { reminderInstant } from '../domain/reminder-offsets.js';
import { translator } from '../i18n/i18n.js';
import { formatDateTime } from '../i18n/format.js';
import { DEFAULT_LANGUAGE, languageFromTag } from '../i18n/languages.js';
import { reminderLead } from '../mail/reminder-lead.js';

type FeedRow = StageRow & { title: string; timezone: string };

export async function calendarFeed(db: Knex, userId: number, publicUrl: string): Promise<string> {
  const rows = (await db.raw(
    `SELECT ${STAGE_COLUMNS}, c.title, c.timezone FROM stages s JOIN courses c ON c.id = s.course_id ` +
      'WHERE c.teacher_id = ? OR EXISTS (SELECT 1 FROM course_members m WHERE m.course_id = c.id AND m.user_id = ?) ORDER BY s.start_date, s.id',
    [userId, userId],
  )) as unknown;
  const list = (Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0] : rows) as FeedRow[];
  const host = new URL(publicUrl).hostname || 'localhost';
  // In the subscriber's saved language: a calendar app sends no Accept-Language worth trusting.
  const owner = await db('users').where({ id: userId }).first<{ language: string | null } | undefined>('language');
  const language = languageFromTag(owner?.language) ?? DEFAULT_LANGUAGE;
  const t = translator(language);
  const calendar = ical({ name: 'Coursework', prodId: { company: 'Coursework', product: 'Coursework', language: language === 'zh-CN' ? 'ZH' : 'EN' } });
  for (const row of list) {
    const stage = toStage(row);
    const w = await effectiveWindow(db, stage, userId);
    const description = [
      stage.description,
      w.cutoffDate === null ? t('calendar.noLate') : t('calendar.lateUntil', { at: formatDateTime(w.cutoffDate, row.timezone, language) }),
      `${publicUrl}/stages/${stage.id}`,
    ]
      .filter(Boolean)
      .join('\n\n');
    const event = calendar.createEvent({
      id: `stage-${stage.id}@${host}`,
      start: new Date(w.startDate),
      end: new Date(w.endDate),
      summary: `${row.title}: ${stage.name}`,
      description,
      url: `${publicUrl}/stages/${stage.id}`,
    });
    for (const reminder of stage.reminders) {
      event.createAlarm({ type: ICalAlarmType.display, trigger: new Date(reminderInstant(w.endDate, reminder)), description: t('calendar.alarm', { stage: stage.name, lead: reminderLead(reminder, t) }) });
    }
  }
  return calendar.toString();
}
