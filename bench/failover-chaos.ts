// The chaos that found issue 19, in rounds, with short settings (6 workers,
// SQLite, stale CHAOS_STALE_MS=2000, retry CHAOS_RETRY_MS=500, a sweep every
// second). Each round kills the leader (the primary clears its lock and every
// worker bids at once), then freezes the new leader and every other worker,
// and wakes all but the leader together once the lock is stale: their overdue
// retries race for the one stale lock. Reported per round: freeze -> the
// successor's "scheduler started" (target: within stale + retry), the
// stretches longer than stale + retry with no running scheduler, and how
// often two workers took the lock at once (more than one term begun in a
// round, and writes refused for a newer term in workers never frozen).
//   npm run bench:failover          ONLY=chaos RUNS_CHAOS=40 npm run bench:failover
import type { Knex } from 'knex';
import { createTestDatabase } from '../test/helpers/database.js';
import { startReadyCluster, startedScheduler, removeCluster, type RunningCluster } from '../test/helpers/cluster.js';
import { childPids, isAlive, type LogLine } from '../test/helpers/processes.js';
import { waitUntil } from '../test/helpers/wait.js';
import { readOwner } from '../src/leadership/lock-file.js';
import { sleep } from '../src/time.js';

const ONLY = process.env.ONLY ? process.env.ONLY.split(',') : ['chaos'];
const RUNS = Number(process.env.RUNS_CHAOS ?? 20);
const STALE_MS = Number(process.env.CHAOS_STALE_MS ?? 2000);
const RETRY_MS = Number(process.env.CHAOS_RETRY_MS ?? 500);
const WORKERS = 6;

if (!ONLY.includes('chaos')) process.exit(0);

const logTime = (line: LogLine) => Date.parse(String(line.time));

async function allUp(cluster: RunningCluster): Promise<number[]> {
  let pids: number[] = [];
  await waitUntil(async () => (pids = await childPids(cluster.child.pid!)).length === WORKERS, 30_000, 'all workers up');
  return pids;
}

async function leaderAfter(cluster: RunningCluster, index: number, not: number, timeoutMs: number): Promise<LogLine | null> {
  return cluster.waitForLog((l) => startedScheduler(l) && l.pid !== not && cluster.logs.indexOf(l) >= index, timeoutMs, 'a new leader').catch(() => null);
}

async function round(cluster: RunningCluster, db: Knex, everFrozen: Set<number>) {
  await allUp(cluster);
  const killed = readOwner(cluster.lockFile)!.pid;
  const beforeKill = cluster.logs.length;
  process.kill(killed, 'SIGKILL');
  const victim = (await leaderAfter(cluster, beforeKill, killed, 15_000))?.pid;
  if (!victim) throw new Error('no successor to a killed leader');
  const others = (await allUp(cluster)).filter((p) => p !== victim);
  // Between fires, so the victim holds no database lock while frozen.
  const seen = cluster.logs.length;
  await cluster.waitForLog((l) => l.pid === victim && l.msg === 'job succeeded' && cluster.logs.indexOf(l) >= seen, 10_000, 'a fire');
  await sleep(200);
  const beforeFreeze = cluster.logs.length;
  const frozenAt = Date.now();
  process.kill(victim, 'SIGSTOP');
  for (const p of others) process.kill(p, 'SIGSTOP');
  everFrozen.add(victim);
  await sleep(STALE_MS + 100);
  for (const p of others) process.kill(p, 'SIGCONT');
  // Allow far past the target, so a livelock shows as a long stretch rather than a crash.
  const next = await leaderAfter(cluster, beforeFreeze, victim, STALE_MS + RETRY_MS + 20_000);
  await sleep(STALE_MS); // let any second taker show itself
  process.kill(victim, 'SIGCONT');
  // Every bid that won took a term, even one halted before its "scheduler started" line.
  const terms = await db('leader_terms').where('started_at', '>=', frozenAt).count({ n: '*' }).first();
  return { takeoverMs: next ? logTime(next) - frozenAt : Number.POSITIVE_INFINITY, takers: Number(terms?.n ?? 0) };
}

const database = await createTestDatabase();
const cluster = await startReadyCluster({
  databaseUrl: database.url,
  workers: WORKERS,
  env: { SCHEDULER_LOCK_STALE_MS: String(STALE_MS), SCHEDULER_RETRY_MS: String(RETRY_MS), STAGE_SWEEP_CRON: '* * * * * *' },
});
const everFrozen = new Set<number>();
const takeovers: number[] = [];
let doubleRounds = 0;
try {
  for (let i = 0; i < RUNS; i++) {
    const r = await round(cluster, database.db, everFrozen);
    takeovers.push(r.takeoverMs);
    if (r.takers > 1) doubleRounds++;
    console.error(`round ${i + 1}: successor after ${r.takeoverMs} ms, ${r.takers} term(s) taken`);
  }
} finally {
  for (const p of everFrozen) if (isAlive(p)) process.kill(p, 'SIGCONT');
  await removeCluster(cluster);
  await database.cleanup();
}
const refused = cluster.logs.filter((l) => l.msg.includes('was superseded by term') && !everFrozen.has(l.pid)).length;
const sorted = [...takeovers].sort((a, b) => a - b);
const bound = STALE_MS + RETRY_MS;
const long = takeovers.filter((t) => t > bound + 1000).length;
console.log(`| SIGSTOP chaos (6 workers, stale ${STALE_MS} ms, retry ${RETRY_MS} ms, SQLite) | n | p50 | max | stretches > stale + retry + 1 s | rounds with two terms | writes refused outside frozen workers |`);
console.log('|---|---|---|---|---|---|---|');
console.log(`| freeze -> successor started | ${takeovers.length} | ${sorted[Math.floor(sorted.length / 2)]} ms | ${sorted.at(-1)} ms | ${long} | ${doubleRounds} | ${refused} |`);
process.exit(long > 0 ? 1 : 0);
