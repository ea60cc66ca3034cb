// Who is calling: a bearer token (API clients) or the browser session.
import type { Knex } from 'knex';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { userForApiToken } from '../domain/api-tokens.js';
import { findUserById, type Actor } from '../domain/users.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Role } from '../validation.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      actor?: Actor;
    }
  }
}

export function identify(db: Knex): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const user = match ? await userForApiToken(db, match[1]) : undefined;
      if (!user) throw new UnauthorizedError('The bearer token is missing, malformed or unknown');
      req.actor = user;
    } else if (req.session?.userId) {
      const user = await findUserById(db, req.session.userId);
      if (user) req.actor = user;
      else delete req.session.userId; // the user was deleted meanwhile
    }
    next();
  };
}

/** The signed-in actor; throws 401 when there is none. */
export function actorOf(req: Request): Actor {
  if (!req.actor) throw new UnauthorizedError();
  return req.actor;
}

export function requireActor(req: Request, _res: Response, next: NextFunction): void {
  actorOf(req);
  next();
}

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    const actor = actorOf(req);
    if (!roles.includes(actor.role)) throw new ForbiddenError(`This needs the ${roles.join(' or ')} role`);
    next();
  };
}
