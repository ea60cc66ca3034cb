// Double-submit CSRF tokens bound to the session id (csrf-csrf). Forms send
// `_csrf`, scripts send `x-csrf-token`. Bearer-token API calls need none: a
// browser never adds that header by itself.
import { doubleCsrf } from 'csrf-csrf';
import type { Request } from 'express';

function tokenFromRequest(req: Request): string | undefined {
  const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
  if (typeof fromBody === 'string') return fromBody;
  const header = req.headers['x-csrf-token'];
  return typeof header === 'string' ? header : undefined;
}

export function csrfProtection({ secret, secureCookies }: { secret: string; secureCookies: boolean }) {
  return doubleCsrf({
    getSecret: () => secret,
    getSessionIdentifier: (req) => req.sessionID ?? '',
    // The __Host- prefix demands HTTPS; plain-HTTP development needs a plain name.
    cookieName: secureCookies ? '__Host-coursework.csrf' : 'coursework.csrf',
    cookieOptions: { sameSite: 'lax', secure: secureCookies, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: tokenFromRequest,
    skipCsrfProtection: (req) => {
      if (!req.path.startsWith('/api/')) return false;
      // API calls riding on a bearer token, or carrying no session cookie at
      // all (they get a 401), have nothing for a forged request to borrow.
      return Boolean(req.headers.authorization) || !req.headers.cookie?.includes('coursework.sid=');
    },
  });
}
