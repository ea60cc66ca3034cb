// Server-rendered pages for people. This file signs people in and out and
// guards the rest; courses and stages have their own routers.
import { Router, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import { authenticate } from '../../domain/users.js';
import type { SignInLimits } from '../../auth/sign-in-limits.js';
import { sessionCookieName, sessionCookieOptions } from '../session.js';
import { webCourseRoutes } from './web-courses.js';
import { webStageRoutes, type FormTokenCheck } from './web-stages.js';
import { webTeamRoutes } from './web-teams.js';
import { webOverrideRoutes } from './web-overrides.js';
import { readableBody } from '../body.js';
import type { UploadSettings } from '../../config.js';

/**
 * What every page's layout needs: who is signed in, a CSRF token, the flash.
 * Mounted before all page routers (and the error page), not only these.
 */
export const pageLocals: RequestHandler = (req, res, next) => {
  if (req.path.startsWith('/api/')) return next();
  res.locals.actor = req.actor;
  // A visitor's page that has a form (sign-in) makes its own token, which the
  // footer's switch shares: a second one here would set a second cookie.
  if (req.actor) res.locals.csrfToken = req.csrfToken!();
  // Only a page view consumes the flash, so a stray POST cannot swallow it.
  if (req.method === 'GET' && req.session?.flash) {
    res.locals.flash = req.session.flash;
    delete req.session.flash;
  }
  next();
};

const requireSignIn: RequestHandler = (req, res, next) => {
  if (req.actor) next();
  else res.redirect(303, '/login');
};


export interface WebDeps {
  db: Knex;
  uploads: UploadSettings;
  checkFormToken: FormTokenCheck;
  signInLimits: SignInLimits;
  secureCookies: boolean;
}

export function webRoutes({ db, uploads, checkFormToken, signInLimits, secureCookies }: WebDeps): Router {
  const router = Router();

  router.get('/login', (req, res) => {
    if (req.actor) return res.redirect(303, '/courses');
    // The token is tied to a signed anonymous cookie (csrf.ts): no session is stored for a visit.
    res.render('login', { title: req.t('login.heading'), csrfToken: req.csrfToken!(), error: null, email: '' });
  });

  router.post('/login', async (req, res, next) => {
    const body = readableBody(req.body) as Record<string, unknown> | undefined;
    // A form sends strings, a JSON body anything: every value is taken as its String() text.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- replacing non-strings by '' (formValues) would change which logins succeed
    const text = (name: string) => String(body?.[name] ?? '');
    const email = text('email');
    // req.ip honours TRUST_PROXY: behind a trusted proxy it is the client's address.
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const verdict = await signInLimits.attempt(email, address);
    if (!verdict.allowed) {
      res
        .status(429)
        .set('retry-after', String(verdict.retryAfterSeconds))
        // A wait in whole minutes, rounded up.
        .render('login', { title: req.t('login.heading'), csrfToken: req.csrfToken!(), error: req.t('login.tooMany', { count: Math.ceil(verdict.retryAfterSeconds / 60) }), email });
      return;
    }
    const user = await authenticate(db, email, text('password'));
    if (!user) {
      res.status(401).render('login', { title: req.t('login.heading'), csrfToken: req.csrfToken!(), error: req.t('login.wrong'), email });
      return;
    }
    await signInLimits.succeeded(email, address);
    // A fresh session id on sign-in prevents session fixation. These are
    // callbacks, not promises: a throw here would escape Express, so errors go to next().
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.userId = user.id;
      req.session.signedInAt = Date.now();
      req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(303, '/courses')));
    });
  });

  router.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie(sessionCookieName(secureCookies), sessionCookieOptions(secureCookies));
      res.redirect(303, '/login');
    });
  });

  // Everything below is for signed-in people only; anonymous visitors go to the login page.
  router.use(requireSignIn);
  router.get('/', (_req, res) => res.redirect(303, '/courses'));
  router.use(webCourseRoutes({ db }), webStageRoutes({ db, uploads, checkFormToken }), webTeamRoutes({ db }), webOverrideRoutes({ db }));
  return router;
}
