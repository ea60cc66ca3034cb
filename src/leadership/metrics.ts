// Leadership metrics: how often the leader changed, and how long the
// scheduler was without one each time. Counted in the worker that takes the
// new term; the primary sums the workers (cluster/metrics.ts).
import client from 'prom-client';

export const leaderChanges = new client.Counter({
  name: 'coursework_scheduler_leader_changes_total',
  help: 'New leaderships (terms) taken by this cluster',
});

export const leaderGapSeconds = new client.Histogram({
  name: 'coursework_scheduler_leader_gap_seconds',
  help: 'Time without a leader before each new term (since the previous term ended)',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 300],
});

/** Called once a new term is committed. */
export function countLeaderChange(gapMs: number | null): void {
  leaderChanges.inc();
  if (gapMs !== null) leaderGapSeconds.observe(gapMs / 1000);
}
