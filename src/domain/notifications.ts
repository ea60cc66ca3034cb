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
}

/** A user's newest notices first (at most 200). */
export async function listNotifications(db: Knex, userId: number) {
  const rows = await db('notifications').where('user_id', userId).orderBy('id', 'desc').limit(200).select<NotificationRow[]>('id', 'kind', 'stage_id', 'at', 'text', 'read_at');
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    stageId: r.stage_id === null ? null : Number(r.stage_id),
    at: toIso(numberFromDb(r.at)),
    text: r.text,
    readAt: toIsoOrNull(numberFromDbOrNull(r.read_at)),
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
