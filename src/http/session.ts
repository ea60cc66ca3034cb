// Browser sessions stored in the database, so any worker can serve any user.
import session, { type SessionData } from 'express-session';
import type { RequestHandler } from 'express';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { DAY } from '../time.js';

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    /** Epoch ms of the sign-in; the session ends SESSION_ABSOLUTE_MS after it, however active. */
    signedInAt?: number;
    flash?: string;
  }
}

export const SESSION_COOKIE = 'coursework.sid';
/** Behind HTTPS (COOKIE_SECURE): the browser then accepts the cookie only with Secure, Path=/ and no Domain. */
export const SECURE_SESSION_COOKIE = '__Host-coursework.sid';

export function sessionCookieName(secureCookies: boolean): string {
  return secureCookies ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

export function sessionCookieOptions(secureCookies: boolean) {
  return { httpOnly: true, sameSite: 'lax', secure: secureCookies, path: '/' } as const;
}

/** Rolling: each response moves the cookie's and the stored row's expiry this far ahead. */
export const SESSION_IDLE_MS = 7 * DAY;
/** Absolute: this long after signing in, a session ends even if it was used a minute ago. */
export const SESSION_ABSOLUTE_MS = 7 * DAY;

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
    name: sessionCookieName(secureCookies),
    secret,
    store,
    resave: false,
    // An anonymous visitor gets no row: the login form's CSRF token is tied to
    // a signed cookie instead (csrf.ts), so a crawler cannot fill the table.
    saveUninitialized: false,
    rolling: true,
    cookie: { ...sessionCookieOptions(secureCookies), maxAge: SESSION_IDLE_MS },
  });
}

/**
 * Ends a signed-in session SESSION_ABSOLUTE_MS after its sign-in (or one from
 * before sign-in times were kept): the stored row is destroyed and the request
 * goes on anonymous, so pages send the visitor to sign in again.
 */
export function absoluteSessionLifetime(absoluteMs = SESSION_ABSOLUTE_MS): RequestHandler {
  return (req, _res, next) => {
    const current = req.session;
    if (!current?.userId) return next();
    if (typeof current.signedInAt === 'number' && Date.now() - current.signedInAt < absoluteMs) return next();
    current.regenerate((err) => next(err));
  };
}
