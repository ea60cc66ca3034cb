// Browser sessions stored in the database, so any worker can serve any user.
import session from 'express-session';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { DAY } from '../time.js';

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    flash?: string;
    /** Set on the login page so an anonymous visitor keeps one session id for CSRF. */
    visited?: boolean;
  }
}

export const SESSION_COOKIE = 'coursework.sid';

export function sessionMiddleware({ db, secret, log, secureCookies }: { db: Knex; secret: string; log: Logger; secureCookies: boolean }) {
  const store = new ConnectSessionKnexStore({
    knex: db,
    tableName: 'sessions',
    createTable: false, // the migration makes it; workers would race to create it
    cleanupInterval: 10 * 60 * 1000,
    onDbCleanupError: (err: unknown) => log.warn({ err }, 'session cleanup failed'),
  });
  return session({
    name: SESSION_COOKIE,
    secret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', secure: secureCookies, maxAge: 7 * DAY },
  });
}
