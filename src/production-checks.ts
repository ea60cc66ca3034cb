// What a production start refuses, and what it warns of. A server with
// NODE_ENV=production is assumed to face the internet: an open /metrics tells
// anyone the traffic and the errors, so it needs METRICS_TOKEN unless the
// operator says METRICS_PUBLIC=true on purpose.
/** Why this configuration must not start, or null. */
export function productionRefusal(config: { production: boolean; metricsToken: string | undefined; metricsPublic: boolean }): string | null {
  if (config.production && !config.metricsToken && !config.metricsPublic) {
    return 'NODE_ENV=production needs METRICS_TOKEN (GET /metrics then asks for it), or METRICS_PUBLIC=true to leave /metrics open on purpose';
  }
  return null;
}

/** The notice for an explicit COOKIE_SECURE=false in production (obeyed, said at start). */
export function cookieNotice(env: NodeJS.ProcessEnv, production: boolean): string | null {
  if (!production || env.COOKIE_SECURE?.trim().toLowerCase() !== 'false') return null;
  return 'COOKIE_SECURE=false with NODE_ENV=production: cookies are sent without Secure and no HSTS is sent; set it only when no one reaches this server over plain HTTP';
}
