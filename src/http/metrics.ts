// HTTP request metrics: a counter and a latency histogram by route pattern.
import client from 'prom-client';
import type { RequestHandler } from 'express';

export const httpRequests = new client.Counter({
  name: 'coursework_http_requests_total',
  help: 'HTTP requests answered, by method, route and status',
  labelNames: ['method', 'route', 'status'] as const,
});

export const httpDuration = new client.Histogram({
  name: 'coursework_http_request_duration_seconds',
  help: 'Time to answer an HTTP request',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

export const countRequests: RequestHandler = (req, res, next) => {
  const stopTimer = httpDuration.startTimer();
  res.on('finish', () => {
    // The matched route pattern, not the raw path, keeps label values few.
    // express types req.route (the matched Route, if any) as any; its path is the one routed on.
    const pattern = (req.route as { path?: string | RegExp | (string | RegExp)[] } | undefined)?.path;
    const route = pattern ? `${req.baseUrl}${String(pattern)}` : 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    stopTimer({ method: req.method, route });
  });
  next();
};
