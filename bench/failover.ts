// How long the scheduler is without a leader after the leading worker is
// SIGKILLed, and how long the primary takes to bring a replacement worker up.
// Starts the built server (dist/main.js) with 3 workers on a fresh SQLite file,
// kills the leader RUNS times (default 10) and reports the median and worst
// of: kill -> another worker holds the lock (the owner's acquiredAt), kill ->
// that worker logs "scheduler started" (after its start-up catch-up run), and
// "worker died; forking a new one" -> the new worker logs "worker listening".
// Runs each election kind with the production defaults and with short settings.
//   npm run bench:failover          RUNS=3 npm run bench:failover
//   ONLY=lockfile-short npm run bench:failover       (one scenario by name)
import { sleep } from '../src/time.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { LeaseElection } from '../src/leadership/lease-election.js';
import { readLockState } from '../src/leadership/lockfile-election.js';
import type { LeadershipSnapshot } from '../src/leadership/election.js';
import { startCluster, startedScheduler, listening, type RunningCluster } from '../test/helpers/cluster.js';
import { childPids, type LogLine } from '../test/helpers/processes.js';
import { waitUntil } from '../test/helpers/wait.js';

const RUNS = Number(process.env.RUNS ?? 10);
const WORKERS = 3;

interface Scenario {
  name: string;
  env: Record<string, string>;
  /** The longest a failover may take before the bench calls it a failure. */
  boundMs: number;
  /** How often the leader refreshes its lock or lease. */
  refreshMs: number;
}

const scenarios = ([
  { name: 'lockfile-defaults', env: { SCHEDULER_LOCK_STALE_MS: '10000', SCHEDULER_RETRY_MS: '5000' }, boundMs: 10_000 + 5_000, refreshMs: 2_500 },
  { name: 'lockfile-short', env: { SCHEDULER_LOCK_STALE_MS: '2000', SCHEDULER_RETRY_MS: '300' }, boundMs: 2_000 + 300, refreshMs: 1_000 },
  { name: 'db-lease-defaults', env: { LEADER_ELECTION: 'db', LEADER_LEASE_MS: '15000', SCHEDULER_RETRY_MS: '5000' }, boundMs: 15_000 + 5_000, refreshMs: 5_000 },
  { name: 'db-lease-short', env: { LEADER_ELECTION: 'db', LEADER_LEASE_MS: '3000', SCHEDULER_RETRY_MS: '300' }, boundMs: 3_000 + 300, refreshMs: 1_000 },
] satisfies Scenario[] as Scenario[]).filter((s) => !process.env.ONLY || s.name === process.env.ONLY);

const logTime = (line: LogLine) => Date.parse(String(line.time));

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return `median ${median.toFixed(0)} ms, min ${sorted[0].toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)} (n=${values.length})`;
}

async function killLeaderOnce(cluster: RunningCluster, scenario: Scenario, owner: () => Promise<LeadershipSnapshot>) {
  // A leader that has led a while, killed at a random point of its refresh
  // cycle. (One killed within a second of winning leaves a lock that goes
  // stale up to 1 s later still: proper-lockfile's first lock in a process
  // probes mtime precision by setting the mtime to the next whole second.)
  await sleep(2 * scenario.refreshMs + Math.random() * scenario.refreshMs);
  const oldLeader = cluster.logs.filter(startedScheduler).at(-1)!.pid;
  const seen = cluster.logs.length;
  const afterKill = (line: LogLine) => cluster.logs.indexOf(line) >= seen;
  const killedAt = Date.now();
  process.kill(oldLeader, 'SIGKILL');
  const next = await cluster.waitForLog((l) => afterKill(l) && startedScheduler(l), scenario.boundMs + 10_000, 'a new leader');
  const startedMs = logTime(next) - killedAt;
  const snapshot = await owner();
  if (snapshot.owner?.pid !== next.pid) throw new Error(`the lock names ${snapshot.owner?.pid}, the log ${next.pid}`);
  const takeoverMs = Date.parse(snapshot.owner.acquiredAt) - killedAt;

  const died = await cluster.waitForLog((l) => l.msg === 'worker died; forking a new one' && l.workerPid === oldLeader, 10_000, 'the primary noticing');
  const fresh = await cluster.waitForLog((l) => afterKill(l) && listening(l), 20_000, 'the replacement worker listening');
  const replacementMs = logTime(fresh) - logTime(died);
  await waitUntil(async () => (await childPids(cluster.child.pid!)).length === WORKERS, 15_000, 'all workers back');
  return { takeoverMs, startedMs, replacementMs };
}

for (const scenario of scenarios) {
  const database = await createTestDatabase();
  const cluster = await startCluster({ databaseUrl: database.url, workers: WORKERS, env: scenario.env });
  const lease = new LeaseElection({ db: database.db, leaseMs: Number(scenario.env.LEADER_LEASE_MS ?? 0), workerId: null });
  const owner = () =>
    scenario.env.LEADER_ELECTION === 'db'
      ? lease.currentOwner()
      : Promise.resolve(readLockState(cluster.lockFile, Number(scenario.env.SCHEDULER_LOCK_STALE_MS)));
  try {
    await cluster.waitForLog(startedScheduler, 30_000, 'the first leader');
    await waitUntil(() => cluster.logs.filter(listening).length >= WORKERS, 30_000, 'all workers listening');
    const takeovers: number[] = [];
    const starts: number[] = [];
    const replacements: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const { takeoverMs, startedMs, replacementMs } = await killLeaderOnce(cluster, scenario, owner);
      takeovers.push(takeoverMs);
      starts.push(startedMs);
      replacements.push(replacementMs);
    }
    const worst = Math.max(...takeovers);
    console.log(`${scenario.name}: SIGKILL -> lock taken: ${summary(takeovers)}; bound ${scenario.boundMs} ms${worst > scenario.boundMs ? ' EXCEEDED' : ''}`);
    console.log(`${scenario.name}: SIGKILL -> "scheduler started": ${summary(starts)}`);
    console.log(`${scenario.name}: replacement worker up: ${summary(replacements)}`);
  } finally {
    await cluster.stop();
    await database.cleanup();
  }
}
