import type { Knex } from 'knex';
import { hashPassword, verifyNobody, verifyPassword } from '../auth/passwords.js';
import { ConflictError } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import type { UserRow } from '../db/tables.js';
import type { Role } from '../validation.js';
import { languageFromTag, type Language } from '../i18n/languages.js';

export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  /** Their saved choice for pages, emails and feeds; null: not chosen. */
  language: Language | null;
}

/** Who is making a request; every permission check takes one. */
export type Actor = Pick<User, 'id' | 'role' | 'email' | 'name' | 'language'>;

function toUser(row: UserRow): User {
  return { id: Number(row.id), email: String(row.email), name: String(row.name), role: row.role as Role, language: languageFromTag(row.language) ?? null };
}

export async function createUser(
  db: Knex,
  input: { email: string; password: string; role: Role; name?: string },
  now = Date.now(),
): Promise<User> {
  const passwordHash = await hashPassword(input.password);
  try {
    const [id] = await db('users').insert({
      email: input.email,
      name: input.name ?? '',
      password_hash: passwordHash,
      role: input.role,
      created_at: now,
    });
    return { id: Number(id), email: input.email, name: input.name ?? '', role: input.role, language: null };
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`A user with email ${input.email} already exists`, [{ field: 'email', message: 'is taken' }]);
    throw err;
  }
}

export async function findUserById(db: Knex, id: number): Promise<User | undefined> {
  const row = await db<UserRow>('users').where({ id }).first();
  return row ? toUser(row) : undefined;
}

export async function findUserByEmail(db: Knex, email: string): Promise<User | undefined> {
  const row = await db<UserRow>('users').where({ email: email.trim().toLowerCase() }).first();
  return row ? toUser(row) : undefined;
}

/** The user for these credentials, or undefined; one answer, in the same time, for both mistakes. */
export async function authenticate(db: Knex, email: string, password: string): Promise<User | undefined> {
  const row = await db<UserRow>('users').where({ email: email.trim().toLowerCase() }).first();
  if (!row) {
    await verifyNobody(password);
    return undefined;
  }
  return (await verifyPassword(String(row.password_hash), password)) ? toUser(row) : undefined;
}

export async function countUsers(db: Knex): Promise<number> {
  const row = await db('users').count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Saves a person's language choice (null: follow the browser again). */
export async function setUserLanguage(db: Knex, id: number, language: Language | null): Promise<void> {
  await db<UserRow>('users').where({ id }).update({ language });
}
