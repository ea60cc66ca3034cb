// API tokens: 32 random bytes shown once; only their SHA-256 is stored. A
// token may expire; revoking deletes it, so every worker refuses it from the
// next request on (each request looks the token up).
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ApiTokenRow, UserRow } from '../db/tables.js';
import { readRows } from '../db/read-cache.js';
import { numberFromDbOrNull } from '../db/rows.js';
import { toIso, toIsoOrNull } from '../time.js';
import type { User } from './users.js';
import type { Role } from '../validation.js';
import { languageFromTag } from '../i18n/languages.js';

const PREFIX = 'cw_';

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface ApiTokenInfo {
  id: number;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

export async function createApiToken(db: Knex, userId: number, label = '', { now = Date.now(), expiresAt = null as number | null } = {}): Promise<string> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  await db('api_tokens').insert({ user_id: userId, token_hash: digest(token), label, created_at: now, expires_at: expiresAt });
  return token;
}

// The token and its user in one read, on every API request (read-cache.ts:
// its rows are kept until the next commit, so the expiry is checked here).
const TOKEN_USER_SQL =
  'SELECT t.id AS token_id, t.last_used_at, t.expires_at, u.id, u.email, u.name, u.role, u.language FROM api_tokens t JOIN users u ON u.id = t.user_id ' +
  'WHERE t.token_hash = ?';

type TokenUserRow = Pick<ApiTokenRow, 'last_used_at' | 'expires_at'> & Pick<UserRow, 'id' | 'email' | 'name' | 'role' | 'language'> & { token_id: number };

export async function userForApiToken(db: Knex, token: string): Promise<User | undefined> {
  const now = Date.now();
  const [row] = await readRows<TokenUserRow>(db, TOKEN_USER_SQL, [digest(token)]);
  if (!row || (row.expires_at !== null && Number(row.expires_at) <= now)) return undefined;
  // Written at most once a minute per token, so reads do not turn into writes.
  if (row.last_used_at === null || now - Number(row.last_used_at) > 60_000) {
    await db('api_tokens').where({ id: row.token_id }).update({ last_used_at: now });
  }
  return { id: Number(row.id), email: String(row.email), name: String(row.name), role: row.role as Role, language: languageFromTag(row.language) ?? null };
}

/** A user's tokens, never their secrets; oldest first. */
export async function listApiTokens(db: Knex, userId: number): Promise<ApiTokenInfo[]> {
  const rows = await db<ApiTokenRow>('api_tokens').where({ user_id: userId }).orderBy('id');
  return rows.map((r) => ({ id: Number(r.id), label: r.label, createdAt: Number(r.created_at), lastUsedAt: numberFromDbOrNull(r.last_used_at), expiresAt: numberFromDbOrNull(r.expires_at) }));
}

export function apiTokenJson(t: ApiTokenInfo) {
  return { id: t.id, label: t.label, createdAt: toIso(t.createdAt), lastUsedAt: toIsoOrNull(t.lastUsedAt), expiresAt: toIsoOrNull(t.expiresAt) };
}

/** Deletes the token; returns what it was, or null when there is no such token. */
export async function revokeApiToken(db: Knex, id: number): Promise<(ApiTokenInfo & { userId: number }) | null> {
  const row = await db<ApiTokenRow>('api_tokens').where({ id }).first();
  if (!row) return null;
  await db('api_tokens').where({ id }).delete();
  return { id: Number(row.id), userId: Number(row.user_id), label: row.label, createdAt: Number(row.created_at), lastUsedAt: numberFromDbOrNull(row.last_used_at), expiresAt: numberFromDbOrNull(row.expires_at) };
}
