// Browser sessions stored in the database, so any worker can serve any user.
import session, { type SessionData } from 'express-session';
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Callback = (err?: any, ...rest: any[]) => void;

/** Runs a store call so its callback hears of a failure exactly once and its promise never rejects. */
async function reportOnce<T>(run: (callback: Callback) => Promise<T>, callback: Callback | undefined, fallback: T): Promise<T> {
  let called = false;
  const once: Callback = (...args) => {
    if (called) return;
    called = true;
    callback?.(...args);
  };
  try {
    return await run(once);
  } catch (err) {
    once(err);
    return fallback;
  }
}

/**
 * connect-session-knex hands a database failure to the callback and then
 * rethrows it from a promise express-session never looks at: an unhandled
 * rejection, which ends the worker. Its touch() skips the callback on failure,
 * so the response would hang. Here each failure reaches the callback once.
 */
class SessionStore extends ConnectSessionKnexStore {
  override get(sid: string, callback: Callback) {
    return reportOnce((once) => super.get(sid, once), callback, null);
  }
  override set(sid: string, session: SessionData, callback?: Callback) {
    return reportOnce((once) => super.set(sid, session, once), callback, undefined);
  }
  override touch(sid: string, session: SessionData, callback?: Callback) {
    return reportOnce((once) => super.touch(sid, session, once), callback, undefined);
  }
  override destroy(sid: string, callback?: Callback) {
    return reportOnce((once) => super.destroy(sid, once), callback, 0);
  }
}

export function sessionMiddleware({ db, secret, log, secureCookies }: { db: Knex; secret: string; log: Logger; secureCookies: boolean }) {
  const store = new SessionStore({
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
