// When reminders fall due. Every stage with reminders has windows: its own,
// for the students without an override, and one per override (a team's or a
// student's). Each reminder of the stage falls due in each window at the
// window's end minus the reminder. An instant stays due until the leader has
// decided it (reminder_decisions, written in the same transaction as the
// outbox rows), so one that passed while no leader ran is still found.
import type { Knex } from 'knex';
import { numberFromDb } from '../db/rows.js';
import { DAY } from '../time.js';
import { parseReminders, reminderInstant } from './reminder-offsets.js';
import type { StageMode } from './file-policy.js';

/**
 * Windows that ended longer ago than this are not looked at: their reminders
 * were decided then (or recorded as skipped once a leader came back).
 */
export const REMINDER_LOOKBACK_MS = 7 * DAY;

export interface DueReminder {
  stageId: number;
  courseId: number;
  mode: StageMode;
  /** 'stage', or 'override:<id>'. */
  windowKey: string;
  /** Who the window is for: an override's team or student; both null for the stage's own window. */
  teamId: number | null;
  userId: number | null;
  /** The window's end, which the reminder counts back from. */
  endAt: number;
  reminder: string;
  dueAt: number;
}

interface WindowRow {
  stage_id: number;
  course_id: number;
  mode: string;
  reminders: string | null;
  end_date: unknown;
  override_id: number | null;
  team_id: number | null;
  user_id: number | null;
}

const HAS_REMINDERS = "s.reminders IS NOT NULL AND s.reminders <> '[]' AND s.reminders <> ''";

async function windowRows(db: Knex, since: number): Promise<WindowRow[]> {
  const own = db('stages as s')
    .whereRaw(HAS_REMINDERS)
    .where('s.end_date', '>', since)
    .select<WindowRow[]>('s.id as stage_id', 's.course_id', 's.mode', 's.reminders', 's.end_date', db.raw('NULL as override_id'), db.raw('NULL as team_id'), db.raw('NULL as user_id'));
  const overrides = db('stage_overrides as o')
    .join('stages as s', 's.id', 'o.stage_id')
    .whereRaw(HAS_REMINDERS)
    .where('o.end_date', '>', since)
    .select<WindowRow[]>('s.id as stage_id', 's.course_id', 's.mode', 's.reminders', 'o.end_date', 'o.id as override_id', 'o.team_id', 'o.user_id');
  const [a, b] = await Promise.all([own, overrides]);
  return [...a, ...b];
}

const decisionKey = (stageId: number, windowKey: string, reminder: string, dueAt: number) => `${stageId}/${windowKey}/${reminder}/${dueAt}`;

async function decidedKeys(db: Knex, stageIds: number[]): Promise<Set<string>> {
  const keys = new Set<string>();
  for (let i = 0; i < stageIds.length; i += 500) {
    const rows = await db('reminder_decisions').whereIn('stage_id', stageIds.slice(i, i + 500)).select<{ stage_id: number; window_key: string; reminder: string; due_at: unknown }[]>('stage_id', 'window_key', 'reminder', 'due_at');
    for (const r of rows) keys.add(decisionKey(Number(r.stage_id), r.window_key, r.reminder, numberFromDb(r.due_at)));
  }
  return keys;
}

/** Every reminder instant not yet decided, of windows ending after `now` - REMINDER_LOOKBACK_MS, earliest first. */
export async function undecidedReminders(db: Knex, now: number): Promise<DueReminder[]> {
  const rows = await windowRows(db, now - REMINDER_LOOKBACK_MS);
  if (rows.length === 0) return [];
  const decided = await decidedKeys(db, [...new Set(rows.map((r) => Number(r.stage_id)))]);
  const due: DueReminder[] = [];
  for (const row of rows) {
    const endAt = numberFromDb(row.end_date);
    const overrideId = row.override_id === null ? null : Number(row.override_id);
    const windowKey = overrideId === null ? 'stage' : `override:${overrideId}`;
    for (const reminder of parseReminders(row.reminders)) {
      const dueAt = reminderInstant(endAt, reminder);
      if (decided.has(decisionKey(Number(row.stage_id), windowKey, reminder, dueAt))) continue;
      due.push({
        stageId: Number(row.stage_id),
        courseId: Number(row.course_id),
        mode: row.mode === 'team' ? 'team' : 'individual',
        windowKey,
        teamId: row.team_id === null ? null : Number(row.team_id),
        userId: row.user_id === null ? null : Number(row.user_id),
        endAt,
        reminder,
        dueAt,
      });
    }
  }
  return due.sort((a, b) => a.dueAt - b.dueAt);
}

/** The key a decision is recorded under. */
export function decisionRow(d: DueReminder) {
  return { stage_id: d.stageId, window_key: d.windowKey, reminder: d.reminder, due_at: d.dueAt };
}
