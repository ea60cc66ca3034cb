// The scheduler's Prometheus metrics. Each worker counts its own; the
// primary sums them (cluster/metrics.ts).
import client from 'prom-client';

export const jobRuns = new client.Counter({
  name: 'coursework_job_runs_total',
  help: 'Job executions finished, by job and status',
  labelNames: ['job', 'status'] as const,
});

/** Observed by the leader as each claimed fire starts: started_at - scheduled_for. */
export const jobStartLagSeconds = new client.Histogram({
  name: 'coursework_job_start_lag_seconds',
  help: 'How late each scheduled fire started after its instant (claimed fires; not run-now)',
  labelNames: ['job'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
});

export const supersededWrites = new client.Counter({
  name: 'coursework_scheduler_superseded_writes_total',
  help: 'Writes of a leader refused because a newer term existed (each halts that scheduler)',
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
