// One log line per request, with request ids that stay unique across
// workers: the caller's x-request-id when given, else a random UUID, echoed
// back in the response. The line is what pino-http wrote, without the
// headers: `req` {id, method, url, remoteAddress}, `res` {statusCode},
// `responseTime` (ms), "request completed" (info, warn for 4xx) or "request
// errored" (error, 5xx), or "request aborted" when the client left first.
// pino-http built a child logger for every request (serialising and
// redacting the whole request, headers included, on the way) and logged the
// headers again with the response: about a quarter of a worker's time per
// API request. Here `req.log`, the logger that carries the request id for a
// handler's own lines, is made only when a handler logs through it.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../log.js';

declare module 'http' {
  interface IncomingMessage {
    /** The request id (x-request-id). */
    id: string;
    /** A logger whose lines carry this request's id, method and url. */
    log: Logger;
  }
}

const IGNORED = new Set(['/healthz', '/metrics']);
const GIVEN_ID = /^[\w.-]{1,128}$/;

export function requestLogger(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    req.id = id;
    const { method } = req;
    const url = req.originalUrl;
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: false,
      get: () => (child ??= log.child({ req: { id, method, url } })),
    });
    if (IGNORED.has(url)) return next();
    const started = Date.now();
    res.once('close', () => {
      const statusCode = res.statusCode;
      const line = { req: { id, method, url, remoteAddress: req.socket.remoteAddress }, res: { statusCode }, responseTime: Date.now() - started };
      if (!res.writableFinished) log.warn(line, 'request aborted');
      else if (statusCode >= 500) log.error(line, 'request errored');
      else if (statusCode >= 400) log.warn(line, 'request completed');
      else log.info(line, 'request completed');
    });
    next();
  };
}
