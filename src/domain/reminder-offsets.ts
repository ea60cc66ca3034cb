// A stage's reminders: ISO-8601 durations counted back from each student's
// effective end ("P1D": a day before it). Checked here, for the API, the forms
// and a course's defaults alike; every problem names the field `reminders`.
import { DateTime, Duration } from 'luxon';
import { ValidationError } from '../errors.js';

export const MAX_REMINDERS = 5;
export const REMINDERS_FIELD = 'reminders';

/** P[nY][nM][nW][nD][T[nH][nM][nS]], whole numbers, at least one part. */
const ISO_DURATION = /^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

/** The instant `reminder` before `end` (epoch ms); calendar units (P1M) count in UTC. */
export function reminderInstant(end: number, reminder: string): number {
  return DateTime.fromMillis(end, { zone: 'utc' }).minus(Duration.fromISO(reminder)).toMillis();
}

/** How long before `end` the reminder is, in ms. */
export function reminderLeadMs(end: number, reminder: string): number {
  return end - reminderInstant(end, reminder);
}

function problem(message: string): ValidationError {
  return ValidationError.field(REMINDERS_FIELD, message);
}

/**
 * The reminders as stored: upper-case, without repeats, longest first. Throws
 * a 400 naming `reminders` for anything else than at most five positive ISO
 * durations; with a window, also for one longer than the window.
 */
export function checkReminders(value: unknown, window?: { startDate: number; endDate: number }): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw problem('must be a list of ISO-8601 durations such as ["P1D","PT2H"]');
  if (value.length > MAX_REMINDERS) throw problem(`must list at most ${MAX_REMINDERS} reminders`);
  const list: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') throw problem('must be a list of ISO-8601 durations such as ["P1D","PT2H"]');
    const text = item.trim().toUpperCase();
    if (text.startsWith('-')) throw problem(`must be positive durations before the end, got "${item}"`);
    if (!ISO_DURATION.test(text) || !Duration.fromISO(text).isValid) throw problem(`must be ISO-8601 durations such as P1D or PT2H, got "${item}"`);
    if (Duration.fromISO(text).toMillis() <= 0) throw problem(`must be positive durations before the end, got "${item}"`);
    if (window && reminderLeadMs(window.endDate, text) > window.endDate - window.startDate) {
      throw problem(`must not be longer than the stage, got "${item}"`);
    }
    if (!list.includes(text)) list.push(text);
  }
  return list.sort((a, b) => Duration.fromISO(b).toMillis() - Duration.fromISO(a).toMillis());
}

/** A stored list (JSON text) back as a list; anything unreadable reads as none. */
export function parseReminders(stored: unknown): string[] {
  if (typeof stored !== 'string' || stored === '') return [];
  try {
    const list: unknown = JSON.parse(stored);
    return Array.isArray(list) ? list.filter((r): r is string => typeof r === 'string' && ISO_DURATION.test(r)) : [];
  } catch {
    return [];
  }
}

/** "Friday 5 March 2027, 17:00 (Europe/Berlin)": an end as the course's people read it. */
export function endInZone(endAt: number, zone: string): string {
  return `${DateTime.fromMillis(endAt, { zone }).setLocale('en-GB').toFormat('cccc d LLLL yyyy, HH:mm')} (${zone})`;
}

/** The in-app notice of a reminder. */
export function reminderNotice(stageName: string, courseTitle: string, endAt: number, zone: string): string {
  return `${courseTitle}: "${stageName}" closes for you on ${endInZone(endAt, zone)}, and you have not handed in work for it yet.`;
}
