// Prometheus metrics. Each worker counts its own; the primary's
// AggregatorRegistry sums them over IPC, so one scrape of /metrics on any
// worker describes the whole cluster.
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

/** Read at scrape time, so the figure is never out of date. */
export function trackLeadership(isLeader: () => boolean): void {
  if (client.register.getSingleMetric('coursework_scheduler_leader')) return;
  new client.Gauge({
    name: 'coursework_scheduler_leader',
    help: '1 in the worker that runs the scheduler, 0 elsewhere (summed: leaders in the cluster)',
    collect() {
      this.set(isLeader() ? 1 : 0);
    },
  });
}

export const jobRuns = new client.Counter({
  name: 'coursework_job_runs_total',
  help: 'Job executions finished, by job and status',
  labelNames: ['job', 'status'] as const,
});

let aggregator: client.AggregatorRegistry<client.PrometheusContentType> | undefined;

/** In a worker: default metrics, and answer the primary's scrape requests. */
export function enableWorkerMetrics(): void {
  // Constructing it is what makes a worker answer the primary's requests.
  aggregator ??= new client.AggregatorRegistry();
  client.collectDefaultMetrics();
}

/** In the primary: every worker's metrics, summed. */
export async function clusterMetrics(): Promise<{ contentType: string; body: string }> {
  aggregator ??= new client.AggregatorRegistry();
  return { contentType: aggregator.contentType, body: await aggregator.clusterMetrics() };
}

/** This process's metrics only (tests, and a server run outside the cluster). */
export async function localMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: client.register.contentType, body: await client.register.metrics() };
}

export const countRequests: RequestHandler = (req, res, next) => {
  const stopTimer = httpDuration.startTimer();
  res.on('finish', () => {
    // The matched route pattern, not the raw path, keeps label values few.
    const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    stopTimer({ method: req.method, route });
  });
  next();
};
