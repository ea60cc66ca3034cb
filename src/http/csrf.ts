// Double-submit CSRF tokens (csrf-csrf), bound to the signed-in session's id,
// or for an anonymous visitor (the login form) to a signed cookie of its own,
// so showing the login page stores no session. Forms send `_csrf`, scripts
// send `x-csrf-token`. Bearer-token API calls need none: a browser never adds
// that header by itself. Both keys are derived from the session secret, so
// neither is the key that signs session cookies.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { doubleCsrf } from 'csrf-csrf';
import type { Request } from 'express';
import { deriveKey } from '../secrets.js';
import { sessionCookieName, sessionCookieOptions } from './session.js';
import { readableBody } from './body.js';
import { isMultipart } from '../uploads/multipart.js';

export const ANONYMOUS_COOKIE = 'coursework.anon';
export const SECURE_ANONYMOUS_COOKIE = '__Host-coursework.anon';

function tokenFromRequest(req: Request): string | undefined {
  // A form whose body could not be read has no token to judge: its reading
  // error (400, 413) is the answer, as it was before any route ran.
  const fromBody = (readableBody(req.body) as Record<string, unknown> | undefined)?._csrf;
  if (typeof fromBody === 'string') return fromBody;
  const header = req.headers['x-csrf-token'];
  return typeof header === 'string' ? header : undefined;
}

/**
 * An anonymous visitor's id: `<random>.<HMAC of it>` in a cookie, made the
 * first time a token is needed and kept for the browser session. A forged or
 * altered cookie is replaced by a new id, which no earlier token matches.
 */
function anonymousIds(key: string, secureCookies: boolean) {
  const cookieName = secureCookies ? SECURE_ANONYMOUS_COOKIE : ANONYMOUS_COOKIE;
  const mac = (id: string) => createHmac('sha256', key).update(id).digest('base64url');
  const madeThisRequest = new WeakMap<Request, string>();
  const verified = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return undefined;
    const [id, signature, ...rest] = value.split('.');
    if (!id || !signature || rest.length > 0) return undefined;
    const expected = Buffer.from(mac(id));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
  };
  return (req: Request): string => {
    const known = verified((req.cookies as Record<string, unknown> | undefined)?.[cookieName]) ?? madeThisRequest.get(req);
    if (known) return known;
    const id = randomBytes(18).toString('base64url');
    madeThisRequest.set(req, id);
    req.res?.cookie(cookieName, `${id}.${mac(id)}`, sessionCookieOptions(secureCookies));
    return id;
  };
}

export function csrfProtection({ secret, secureCookies }: { secret: string; secureCookies: boolean }) {
  const csrfKey = deriveKey(secret, 'csrf');
  const anonymousId = anonymousIds(deriveKey(secret, 'anonymous-id'), secureCookies);
  const sessionCookie = sessionCookieName(secureCookies);
  return doubleCsrf({
    getSecret: () => csrfKey,
    getSessionIdentifier: (req) => (req.session?.userId ? `session:${req.sessionID}` : `anonymous:${anonymousId(req)}`),
    // The __Host- prefix demands HTTPS; plain-HTTP development needs a plain name.
    cookieName: secureCookies ? '__Host-coursework.csrf' : 'coursework.csrf',
    cookieOptions: { sameSite: 'lax', secure: secureCookies, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: tokenFromRequest,
    skipCsrfProtection: (req) => {
      // A page's multipart form is judged by its route, from its _csrf part,
      // before any file is taken (checkFormToken): its body is not read yet here.
      if (isMultipartForm(req)) return true;
      if (!req.path.startsWith('/api/')) return false;
      // API calls riding on a bearer token, or carrying no session cookie at
      // all (they get a 401), have nothing for a forged request to borrow.
      return Boolean(req.headers.authorization) || !(sessionCookie in ((req.cookies as Record<string, unknown> | undefined) ?? {}));
    },
  });
}

/** Pages that take multipart forms; every other page judges its token here, whatever the body's type. */
const MULTIPART_PAGES = /^\/stages\/\d+\/submissions$/;

/** A page's multipart hand-in without the header: its token is in its first part. */
function isMultipartForm(req: Request): boolean {
  return req.method === 'POST' && MULTIPART_PAGES.test(req.path) && req.headers['x-csrf-token'] === undefined && isMultipart(req);
}

/**
 * Judges a multipart form's `_csrf` field (skipped above) with the same
 * check as every other form; throws the same 403 error when it is wrong.
 */
export function formTokenChecker(csrf: ReturnType<typeof csrfProtection>): (req: Request, token: string | undefined) => void {
  return (req, token) => {
    const body: unknown = req.body;
    req.body = { _csrf: token };
    try {
      if (!csrf.validateRequest(req)) throw csrf.invalidCsrfTokenError;
    } finally {
      req.body = body;
    }
  };
}
