// In-app notices (a reminder's, for now): each user reads and marks their own.
import type { Knex } from 'knex';
import { NotFoundError } from '../errors.js';
import { dbNowMs } from '../db/clock.js';
import { numberFromDb, numberFromDbOrNull } from '../db/rows.js';
import { readRows } from '../db/read-cache.js';
import { toIso, toIsoOrNull } from '../time.js';

interface NotificationRow {
  id: number;
  kind: string;
  stage_id: number | null;
  at: unknown;
  text: string;
  read_at: unknown;
  end_at: unknown;
  stage_name: string | null;
  course_title: string | null;
  timezone: string | null;
}

/** A user's newest notices first (at most 200). */
export async function listNotifications(db: Knex, userId: number) {
  // A reminder's parts as well as its stored English text: a page words it in its reader's language.
  const rows = await db('notifications as n')
    .leftJoin('reminder_outbox as r', 'r.id', 'n.outbox_id')
    .leftJoin('stages as s', 's.id', 'n.stage_id')
    .leftJoin('courses as c', 'c.id', 's.course_id')
    .where('n.user_id', userId)
    .orderBy('n.id', 'desc')
    .limit(200)
    .select<NotificationRow[]>('n.id', 'n.kind', 'n.stage_id', 'n.at', 'n.text', 'n.read_at', 'r.end_at', 's.name as stage_name', 'c.title as course_title', 'c.timezone');
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    stageId: r.stage_id === null ? null : Number(r.stage_id),
    at: toIso(numberFromDb(r.at)),
    text: r.text,
    readAt: toIsoOrNull(numberFromDbOrNull(r.read_at)),
    reminder:
      r.kind === 'reminder' && r.end_at != null && r.stage_name !== null && r.course_title !== null && r.timezone !== null
        ? { stageName: r.stage_name, courseTitle: r.course_title, timezone: r.timezone, endAt: numberFromDb(r.end_at) }
        : null,
  }));
}

/** The bell's number. */
export async function unreadCount(db: Knex, userId: number): Promise<number> {
  const [row] = await readRows<{ n: number | string }>(db, 'SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL', [userId]);
  return Number(row?.n ?? 0);
}

/** Marks one of the user's notices read; another user's is a 404. */
export async function markRead(db: Knex, userId: number, id: number): Promise<void> {
  const now = await dbNowMs(db);
  const found = await db('notifications').where({ id, user_id: userId }).first<{ id: number } | undefined>('id');
  if (!found) throw new NotFoundError('Notification');
  await db('notifications').where({ id, user_id: userId }).whereNull('read_at').update({ read_at: now });
}

export async function markAllRead(db: Knex, userId: number): Promise<number> {
  return db('notifications').where({ user_id: userId }).whereNull('read_at').update({ read_at: await dbNowMs(db) });
}
