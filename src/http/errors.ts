// The one error middleware, mounted last: domain errors become JSON for the
// API and an EJS page for the browser; anything unexpected is logged as 500.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, NotFoundError } from '../errors.js';
import { isDatabaseUnavailable, unstorableValue } from '../db/errors.js';
import { translator } from '../i18n/i18n.js';
import { translateMessage } from '../i18n/messages.js';
import { languageOf } from './i18n.js';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  code?: string;
  expose?: boolean;
  message?: string;
}

/** Maps body-parser, csrf-csrf and our own errors to status, code and message. */
export function describeError(err: unknown): { status: number; code: string; message: string; details?: unknown } {
  if (err instanceof AppError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  const e = (err ?? {}) as HttpLikeError;
  if (e.type === 'entity.too.large') return { status: 413, code: 'payload_too_large', message: 'Request body is too large' };
  if (e.type === 'entity.parse.failed') {
    return { status: 400, code: 'validation_failed', message: 'body: is not valid JSON', details: [{ field: 'body', message: 'is not valid JSON' }] };
  }
  if (e.code === 'EBADCSRFTOKEN') {
    return { status: 403, code: 'csrf_failed', message: 'The form has expired or did not come from this site; reload the page and try again' };
  }
  const unstorable = unstorableValue(err);
  if (unstorable) {
    // The API's own limits should refuse such input first; this is the database's word for it.
    const field = unstorable.column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    return { status: 400, code: 'validation_failed', message: `${field}: ${unstorable.message}`, details: [{ field, message: unstorable.message }] };
  }
  if (isDatabaseUnavailable(err)) return { status: 503, code: 'unavailable', message: 'The database is not answering; try again in a moment' };
  const status = e.status ?? e.statusCode;
  if (status && status >= 400 && status < 500 && e.expose) return { status, code: 'bad_request', message: e.message ?? 'Bad request' };
  return { status: 500, code: 'internal', message: 'Something went wrong on our side' };
}

export const notFound: RequestHandler = (req, _res, next) => next(new NotFoundError(`${req.method} ${req.path}`));

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const described = describeError(err);
  const { status, code } = described;
  if (status >= 500) req.log?.error({ err }, 'request failed');
  const language = languageOf(req);
  const message = translateMessage(described.message, language);
  const details = Array.isArray(described.details)
    ? (described.details as { message?: unknown }[]).map((d) => (typeof d.message === 'string' ? { ...d, message: translateMessage(d.message, language) } : d))
    : described.details;
  if (status === 503) res.set('retry-after', '5');
  if (res.headersSent) return;
  res.status(status);
  if (req.path.startsWith('/api/') || !req.accepts('html')) {
    res.json({ error: details === undefined ? { code, message } : { code, message, details } });
    return;
  }
  // An error before the language middleware ran (or in it) still renders.
  res.locals.t ??= translator(language);
  res.locals.lang ??= language;
  res.render('error', { title: `${status}`, status, message });
};
