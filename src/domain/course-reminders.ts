// A course's default reminders: what each new stage of it starts with, unless
// the stage is given its own. Changing them leaves existing stages as they are.
import type { Knex } from 'knex';
import type { CourseRow } from '../db/tables.js';
import { getManagedCourse, getVisibleCourse } from './courses.js';
import type { Actor } from './users.js';
import { checkReminders, parseReminders, reminderLeadMs } from './reminder-offsets.js';

export async function courseDefaultReminders(db: Knex, courseId: number): Promise<string[]> {
  const row = await db<CourseRow>('courses').where({ id: courseId }).first('default_reminders');
  return parseReminders(row?.default_reminders);
}

/** The defaults a stage of this window can hold (none longer than the stage). */
export function defaultsThatFit(defaults: string[], window: { startDate: number; endDate: number }): string[] {
  return defaults.filter((r) => reminderLeadMs(window.endDate, r) <= window.endDate - window.startDate);
}

/** Whoever may see the course reads its defaults. */
export async function readDefaultReminders(db: Knex, actor: Actor, courseId: number): Promise<string[]> {
  await getVisibleCourse(db, actor, courseId);
  return courseDefaultReminders(db, courseId);
}

/** The course's teacher and admins set them; checked as a stage's are (without a window). */
export async function setDefaultReminders(db: Knex, actor: Actor, courseId: number, value: unknown): Promise<string[]> {
  await getManagedCourse(db, actor, courseId);
  const reminders = checkReminders(value);
  await db('courses').where({ id: courseId }).update({ default_reminders: JSON.stringify(reminders) });
  return reminders;
}
