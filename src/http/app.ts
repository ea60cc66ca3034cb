// Builds the Express app; never listens. The worker entry listens, tests
// drive it in-process.
import path from 'node:path';
import express, { Router, type Express, type Request, type RequestHandler } from 'express';
import helmet from 'helmet';
import cookieParser from 'cookie-parser';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import type { TrustProxy, UploadSettings } from '../config.js';
import { memorySignInLimits, type SignInLimits } from '../auth/sign-in-limits.js';
import { projectRoot } from '../paths.js';
import { identify, requireActor } from './auth.js';
import { csrfProtection, formTokenChecker } from './csrf.js';
import { errorHandler, notFound } from './errors.js';
import { deferBodyErrors } from './body.js';
import { countRequests } from './metrics.js';
import { requestLogger } from './request-log.js';
import { absoluteSessionLifetime, sessionMiddleware } from './session.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes, type MetricsDeps } from './routes/metrics.js';
import { courseRoutes } from './routes/api-courses.js';
import { stageRoutes } from './routes/api-stages.js';
import { teamRoutes } from './routes/api-teams.js';
import { fileRoutes } from './routes/api-files.js';
import { overrideRoutes } from './routes/api-overrides.js';
import { reminderRoutes } from './routes/api-reminders.js';
import { calendarApiRoutes, calendarFeedRoutes } from './routes/calendar.js';
import { pageLocals, webRoutes } from './routes/web.js';
import { notificationBell, webMeRoutes } from './routes/web-me.js';
import { detectLanguage, languageRoutes, preferSavedLanguage } from './i18n.js';

export interface AppDeps {
  db: Knex;
  log: Logger;
  sessionSecret: string;
  /** COOKIE_SECURE, behind HTTPS: cookies get Secure and __Host- names, responses HSTS. */
  secureCookies?: boolean;
  /** TRUST_PROXY (default loopback): which X-Forwarded-For hops `req.ip` believes. */
  trustProxy?: TrustProxy;
  /** The sign-in rate limit's counters; in-process (memory) when not given. */
  signInLimits?: SignInLimits;
  /** GET /metrics (and its METRICS_TOKEN); no route when not given. */
  metrics?: MetricsDeps;
  /** Routers of further /api routes (the scheduler's), for bearer and browser callers alike. */
  apiRoutes?: RequestHandler[];
  /** UPLOAD_DIR and UPLOAD_MAX_BYTES. */
  uploads: UploadSettings;
  /** Routers of further pages (the scheduler console, live stage events), for signed-in browsers. */
  pageRoutes?: RequestHandler[];
  /** PUBLIC_URL: calendar feed addresses start with it (default http://localhost:3000). */
  publicUrl?: string;
}

export const BODY_LIMIT = '100kb';
/**
 * Handing in work: a text of up to 100,000 characters is up to 300 kB of UTF-8
 * in JSON and 900 kB percent-encoded from the form.
 */
export const SUBMISSION_BODY_LIMIT = '1mb';
const SUBMISSION_PATHS = ['/api/stages/:id/submissions', '/stages/:id/submissions'];

declare module 'http' {
  interface IncomingMessage {
    /** performance.now() when the request reached the app: what a deadline is judged by (domain/submissions.ts). */
    receivedAt: number;
  }
}

/** True for a request to the API that names its caller in an Authorization header (a bearer token). */
function isTokenApiRequest(req: Request): boolean {
  return req.headers.authorization !== undefined && req.path.startsWith('/api/');
}

/**
 * The API as a bearer-token client reaches it: the token names the caller,
 * so no cookie, session or CSRF layer is passed on the way, and a path the
 * API does not know ends here with a 404. Everything else leaves the branch
 * at once for the browser path.
 */
function bearerApi(db: Knex, uploads: UploadSettings, apiRoutes: RequestHandler[], publicUrl: string): Router {
  const branch = Router();
  branch.use((req, _res, next) => next(isTokenApiRequest(req) ? undefined : 'router'));
  branch.use(identify(db), preferSavedLanguage, ...apiRoutes);
  branch.use('/api', requireActor, courseRoutes({ db, uploads }), stageRoutes({ db, uploads }), teamRoutes({ db }), overrideRoutes({ db }), fileRoutes({ db, uploads }), reminderRoutes({ db }), calendarApiRoutes({ db, publicUrl }));
  branch.get('/api/me', (req, res) => res.json(req.actor));
  branch.use(notFound);
  return branch;
}

export function createApp(deps: AppDeps): Express {
  const { db, log, sessionSecret, uploads } = deps;
  const secureCookies = deps.secureCookies ?? false;
  const app = express();

  app.set('view engine', 'ejs');
  app.set('views', path.join(projectRoot, 'views'));
  app.set('trust proxy', deps.trustProxy ?? 'loopback');
  app.disable('x-powered-by');
  // Every answer is no-store (below), so an ETag would never be revalidated:
  // hashing each body for one is work for nothing. Static files keep theirs.
  app.set('etag', false);

  app.use((req, _res, next) => {
    req.receivedAt = performance.now();
    next();
  });

  app.use(healthRoutes({ db }));
  const publicUrl = deps.publicUrl ?? 'http://localhost:3000';
  app.use(requestLogger(log));
  app.use(detectLanguage);
  app.use(helmet({ contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } }, hsts: secureCookies }));
  app.use('/static', express.static(path.join(projectRoot, 'views', 'static'), { maxAge: '1h' }));
  // Pages and API answers carry who is signed in: no browser or proxy may keep them.
  app.use((_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });
  if (deps.metrics) app.use(metricsRoutes(deps.metrics));
  // The feed's secret address is its credential: no cookie, session or CSRF.
  app.use(calendarFeedRoutes({ db, publicUrl }));
  app.use(countRequests);
  // A body that cannot be read is refused by the route that reads it (body.ts).
  app.use(SUBMISSION_PATHS, deferBodyErrors(express.json({ limit: SUBMISSION_BODY_LIMIT })), deferBodyErrors(express.urlencoded({ extended: false, limit: SUBMISSION_BODY_LIMIT })));
  app.use(deferBodyErrors(express.json({ limit: BODY_LIMIT })));
  app.use(deferBodyErrors(express.urlencoded({ extended: false, limit: BODY_LIMIT })));
  const apiRoutes = deps.apiRoutes ?? [];
  app.use(bearerApi(db, uploads, apiRoutes, publicUrl));
  // Browsers from here on. An API call with an Authorization header took the
  // branch above and never gets here; a cookie riding on an API call without
  // one goes through the cookies, the session store and CSRF like a page.
  app.use(cookieParser());
  app.use(sessionMiddleware({ db, secret: sessionSecret, log, secureCookies }), absoluteSessionLifetime());
  const csrf = csrfProtection({ secret: sessionSecret, secureCookies });
  app.use(csrf.doubleCsrfProtection);
  app.use(identify(db), preferSavedLanguage);
  app.use(pageLocals, notificationBell(db), languageRoutes(db, secureCookies));

  for (const route of [...apiRoutes, ...(deps.pageRoutes ?? [])]) app.use(route);
  app.use('/api', requireActor, courseRoutes({ db, uploads }), stageRoutes({ db, uploads }), teamRoutes({ db }), overrideRoutes({ db }), fileRoutes({ db, uploads }), reminderRoutes({ db }), calendarApiRoutes({ db, publicUrl }));
  app.get('/api/me', (req, res) => res.json(req.actor));
  app.use(webMeRoutes({ db, publicUrl }));
  app.use(webRoutes({ db, uploads, checkFormToken: formTokenChecker(csrf), signInLimits: deps.signInLimits ?? memorySignInLimits(), secureCookies }));

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
