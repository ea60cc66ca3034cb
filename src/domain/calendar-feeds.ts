// Secret calendar feed addresses: one per user, 32 random bytes, of which only
// the SHA-256 is kept. A new address replaces the old one; a revoked one is
// gone. The lookup is by the hash, then the hashes are compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { dbNowMs } from '../db/clock.js';
import { NotFoundError } from '../errors.js';

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new feed token for the user (base64url of 32 random bytes); the old one stops working. */
export async function newFeedToken(db: Knex, userId: number): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = await dbNowMs(db);
  await db.transaction(async (trx) => {
    await trx('calendar_feeds').where({ user_id: userId }).delete();
    await trx('calendar_feeds').insert({ user_id: userId, token_hash: hashOf(token), created_at: now });
  });
  return token;
}

export async function revokeFeedToken(db: Knex, userId: number): Promise<void> {
  if ((await db('calendar_feeds').where({ user_id: userId }).delete()) === 0) throw new NotFoundError('Calendar feed');
}

export async function hasFeed(db: Knex, userId: number): Promise<boolean> {
  return (await db('calendar_feeds').where({ user_id: userId }).first<{ user_id: number } | undefined>('user_id')) !== undefined;
}

/** The user a token belongs to, or null. */
export async function feedOwner(db: Knex, token: string): Promise<number | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const hash = hashOf(token);
  const row = await db('calendar_feeds').where({ token_hash: hash }).first<{ user_id: number; token_hash: string } | undefined>('user_id', 'token_hash');
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  return Number(row.user_id);
}
