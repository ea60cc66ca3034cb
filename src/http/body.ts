// Bodies are read before any route runs, yet a body that could not be read
// (not JSON, too large, an unsupported charset) is refused only when a route
// reads it: who may call a route (401, 403) is decided before what was sent
// is looked at, as the API promises. body-parser has drained the request by
// the time it reports such an error, so answering something else is safe.
import type { RequestHandler } from 'express';

class UnreadableBody {
  constructor(readonly error: unknown) {}
}

function isClientError(err: unknown): boolean {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Wraps a body parser so that its client errors wait on `req.body` for the route that reads it. */
export function deferBodyErrors(parser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    void parser(req, res, (err?: unknown) => {
      if (!isClientError(err)) return next(err);
      req.body = new UnreadableBody(err);
      next();
    });
  };
}

/** `req.body` as sent, for a route to read; throws the reading error if it could not be read. */
export function readableBody(body: unknown): unknown {
  if (body instanceof UnreadableBody) throw body.error;
  return body;
}
