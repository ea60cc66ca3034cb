// API tokens: 32 random bytes shown once; only their SHA-256 is stored.
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ApiTokenRow } from '../db/tables.js';
import { findUserById, type User } from './users.js';

const PREFIX = 'cw_';

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createApiToken(db: Knex, userId: number, label = '', now = Date.now()): Promise<string> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  await db('api_tokens').insert({ user_id: userId, token_hash: digest(token), label, created_at: now });
  return token;
}

export async function userForApiToken(db: Knex, token: string): Promise<User | undefined> {
  const row = await db<ApiTokenRow>('api_tokens').where({ token_hash: digest(token) }).first('id', 'user_id', 'last_used_at');
  if (!row) return undefined;
  // Written at most once a minute per token, so reads do not turn into writes.
  const now = Date.now();
  if (row.last_used_at === null || now - Number(row.last_used_at) > 60_000) {
    await db('api_tokens').where({ id: row.id }).update({ last_used_at: now });
  }
  return findUserById(db, Number(row.user_id));
}
