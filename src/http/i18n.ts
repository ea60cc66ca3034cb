// Every page and API answer in the reader's language: i18next's HTTP language
// detector picks it (cookie, Accept-Language), a signed-in person's saved
// choice beats both, and the footer's switch changes it.
//
// The request gets a translator fixed to its language (i18next's getFixedT,
// one per language, shared), not the per-request i18next clone the library's
// own middleware makes: the clone cost about a third of a millisecond of CPU
// on every request, pages and API alike, for nothing a fixed translator lacks.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Knex } from 'knex';
import { detectedLanguage, LANGUAGE_COOKIE, translator } from '../i18n/i18n.js';
import { formatDateTime, formatDuration } from '../i18n/format.js';
import { DEFAULT_LANGUAGE, intlLocale, LANGUAGE_NAMES, LANGUAGES, languageFromTag, type Language } from '../i18n/languages.js';
import { setUserLanguage } from '../domain/users.js';
import { runInLanguage } from '../i18n/request-language.js';
import { readableBody } from './body.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** The request's language, as the middleware settled it. */
export function languageOf(req: Request): Language {
  return languageFromTag(req.language) ?? DEFAULT_LANGUAGE;
}

/** Files and probes say nothing a person reads. */
const UNTRANSLATED_PATHS = ['/static/', '/health'];

function speak(req: Request, res: Response, language: Language): void {
  req.language = language;
  req.t = translator(language);
  res.locals.t = req.t;
  res.locals.language = language;
  res.setHeader('Content-Language', language);
}

export const detectLanguage: RequestHandler = (req, res, next) => {
  if (!UNTRANSLATED_PATHS.some((prefix) => req.path.startsWith(prefix))) speak(req, res, detectedLanguage(req, res));
  next();
};

/**
 * After `identify`: the signed-in person's saved language beats the cookie and
 * the browser; then the page helpers that depend on it.
 */
export const preferSavedLanguage: RequestHandler = (req, res, next) => {
  const saved = req.actor?.language;
  if (saved && saved !== req.language) speak(req, res, saved);
  const language = languageOf(req);
  res.locals.lang = language;
  res.locals.languages = LANGUAGES.map((code) => ({ code, name: LANGUAGE_NAMES[code] }));
  res.locals.formatDate = (ms: number, zone: string) => formatDateTime(ms, zone, language);
  res.locals.formatDuration = (ms: number) => formatDuration(ms, req.t);
  res.locals.liveTexts = () => ({ locale: intlLocale(language), status: req.t('status', { returnObjects: true }), ...(req.t('live', { returnObjects: true }) as object) });
  res.locals.currentPath = req.method === 'GET' ? req.originalUrl : '/';
  runInLanguage(language, next);
};

/** Only a path of our own: never a redirect to another site. */
function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

/** POST /language {language, back}: the footer's switch, for visitors and signed-in people alike. */
export function languageRoutes(db: Knex, secureCookies: boolean): Router {
  const router = Router();
  router.post('/language', async (req, res) => {
    const body = (readableBody(req.body) ?? {}) as Record<string, unknown>;
    const language = typeof body.language === 'string' ? languageFromTag(body.language) : undefined;
    const back = safeReturnPath(body.back);
    if (!language) {
      res.status(400).render('error', { title: '400', status: 400, message: req.t('language.unknown') });
      return;
    }
    if (req.actor) await setUserLanguage(db, req.actor.id, language);
    res.cookie(LANGUAGE_COOKIE, language, { maxAge: YEAR_MS, httpOnly: true, sameSite: 'lax', secure: secureCookies, path: '/' });
    res.redirect(303, back);
  });
  return router;
}
