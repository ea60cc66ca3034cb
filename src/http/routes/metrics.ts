// GET /metrics: Prometheus text. With METRICS_TOKEN set, a scrape must send
// `Authorization: Bearer <METRICS_TOKEN>` (else 401, JSON); unset, it is open.
// Mounted before the session and the bearer-token lookup of API clients, so a
// scrape stores nothing and its token is never taken for an API token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';

export interface MetricsPayload {
  contentType: string;
  body: string;
  error?: string;
}

export interface MetricsDeps {
  /** The metrics to serve: the whole cluster's in a worker, this process's otherwise. */
  collect: () => Promise<MetricsPayload>;
  /** METRICS_TOKEN; undefined leaves /metrics open. */
  token?: string;
}

/** Compares digests, so neither the time taken nor a length mismatch tells anything about the token. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

export function metricsRoutes({ collect, token }: MetricsDeps): Router {
  return Router().get('/metrics', async (req, res) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res
        .status(401)
        .set('www-authenticate', 'Bearer realm="metrics"')
        .json({ error: { code: 'unauthorized', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' } });
      return;
    }
    const metrics = await collect();
    if (metrics.error) throw new Error(`metrics: ${metrics.error}`);
    res.type(metrics.contentType).send(metrics.body);
  });
}
