// The liveness invariant under the chaos that found issue 19: six workers, the
// leader killed and frozen (SIGSTOP) in turns. Each freeze pauses every
// worker (as a paused VM would) and wakes all but the leader together once
// its lock is stale: their overdue retry timers fire at the same moment, and
// they all find the lock stale at once, the race where two take one stale
// lock. After every freeze, within stale + retry + 2 s, the API must name a
// live, unfrozen leader whose job runs. FREEZE_TEST_MS sets how long the
// rounds go on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { userWithToken } from './helpers/http.js';
import { removeCluster, requestOnNewConnection, startReadyCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { childPids, isAlive } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { readOwner } from '../src/leadership/lock-file.js';
import { numberFromDb } from '../src/db/rows.js';

const WORKERS = 6;
const STALE_MS = 2000;
const RETRY_MS = 500;
const RUN_FOR_MS = Number(process.env.FREEZE_TEST_MS ?? 60_000);
/** The bound: a frozen leader is replaced after stale + retry; 2 s for the job to show it runs. */
const REPLACED_WITHIN_MS = STALE_MS + RETRY_MS + 2000;

let database: TestDatabase;
let adminToken: string;

before(async () => {
  database = await createTestDatabase();
  ({ token: adminToken } = await userWithToken(database.db, 'admin'));
});
after(async () => {
  await database.cleanup();
});

/** The API's leader, asked on fresh connections until a worker that is not frozen answers. */
async function apiLeader(cluster: RunningCluster): Promise<number | null> {
  for (;;) {
    const answer = await Promise.race([
      requestOnNewConnection(`${cluster.baseUrl}/api/scheduler`, { headers: { authorization: `Bearer ${adminToken}` } }),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 300)), // a frozen worker took the connection
    ]).catch(() => null);
    if (answer?.status === 200) return (answer.body as { leader: { pid: number } | null }).leader?.pid ?? null;
  }
}

/** Has `pid` started a job since `since` (its job runs, not just its name in the lock)? */
async function runsSince(pid: number, since: number): Promise<boolean> {
  const rows = await database.db('job_executions').where({ pid }).select('started_at');
  return rows.some((r) => numberFromDb(r.started_at) >= since);
}

test(`a frozen leader is replaced within stale + retry + 2 s, round after round, with no fire run twice (${testDialect})`, async () => {
  const cluster = await startReadyCluster({
    databaseUrl: database.url,
    workers: WORKERS,
    env: { SCHEDULER_LOCK_STALE_MS: String(STALE_MS), SCHEDULER_RETRY_MS: String(RETRY_MS), STAGE_SWEEP_CRON: '* * * * * *' },
  });
  const frozen = new Set<number>();
  const everFrozen = new Set<number>();
  const rounds = { killed: 0, frozen: 0 };
  const started = Date.now();
  try {
    while (Date.now() - started < RUN_FOR_MS) {
      await waitUntil(async () => (await childPids(cluster.child.pid!)).length === WORKERS, 20_000, 'all workers up');
      const leader = await apiLeader(cluster);
      assert.ok(leader !== null && leader === readOwner(cluster.lockFile)?.pid, `the API and the lock agree on a leader (${leader})`);
      const startsBefore = cluster.logs.filter(startedScheduler).length;

      // A kill first: the primary clears the lock and everyone bids at once.
      process.kill(leader, 'SIGKILL');
      rounds.killed++;
      await cluster.waitForLog((l) => startedScheduler(l) && l.pid !== leader && cluster.logs.filter(startedScheduler).indexOf(l) >= startsBefore, 15_000, 'a successor to the killed leader');

      const victim = await apiLeader(cluster);
      assert.ok(victim !== null && victim !== leader, `a new leader after the kill (${victim})`);
      await waitUntil(async () => (await childPids(cluster.child.pid!)).length === WORKERS, 20_000, 'the killed worker replaced');
      const others = (await childPids(cluster.child.pid!)).filter((pid) => pid !== victim);
      // Frozen between fires: a process frozen inside a write transaction would
      // hold SQLite's write lock (or the term row in MariaDB), and no successor
      // could take a term until it wakes (docs/operations.md).
      const seen = cluster.logs.length;
      await cluster.waitForLog((l) => l.pid === victim && l.msg === 'job succeeded' && cluster.logs.indexOf(l) >= seen, 10_000, 'the leader runs its job');
      await new Promise((r) => setTimeout(r, 200));
      process.kill(victim, 'SIGSTOP');
      const frozenAt = Date.now();
      for (const pid of others) process.kill(pid, 'SIGSTOP');
      frozen.add(victim);
      everFrozen.add(victim);
      rounds.frozen++;
      // The leader's last refresh was at most stale / 4 before the freeze: stale by now.
      await new Promise((r) => setTimeout(r, STALE_MS + 100));
      for (const pid of others) process.kill(pid, 'SIGCONT');
      try {
        await waitUntil(
          async () => {
            const now = await apiLeader(cluster);
            return now !== null && now !== victim && isAlive(now) && (await runsSince(now, frozenAt));
          },
          REPLACED_WITHIN_MS,
          `freeze ${rounds.frozen}: a live leader other than the frozen pid ${victim} whose job runs`,
        );
      } catch (err) {
        const tail = cluster.logs.filter((l) => l.msg !== 'request completed').slice(-25).map((l) => `${l.pid} ${l.msg}`).join('\n');
        throw new Error(`${(err as Error).message} (after ${Date.now() - frozenAt} ms); owner ${JSON.stringify(readOwner(cluster.lockFile))}\n${tail}`, { cause: err });
      }
      const lostBefore = cluster.logs.filter((l) => l.pid === victim && l.msg.includes('scheduler lock lost')).length;
      process.kill(victim, 'SIGCONT');
      frozen.delete(victim);
      await cluster.waitForLog((l) => l.pid === victim && l.msg.includes('scheduler lock lost') && cluster.logs.filter((m) => m.pid === victim && m.msg.includes('scheduler lock lost')).indexOf(l) >= lostBefore, 15_000, 'the woken leader steps down');
    }
    const twice = await database.db('job_executions').select('job_id', 'scheduled_for').count({ n: '*' }).whereIn('status', ['running', 'success', 'error']).groupBy('job_id', 'scheduled_for').havingRaw('count(*) > 1');
    assert.deepEqual(twice, [], 'no fire ran twice');
    // A woken leader's writes are refused as they should be; one refused elsewhere means two took one lock.
    const superseded = cluster.logs.filter((l) => l.msg.includes('was superseded by term') && !everFrozen.has(l.pid)).length;
    console.log(`# ${rounds.frozen} freezes, ${rounds.killed} kills; ${superseded} write(s) refused for a newer term (double take-overs)`);
    assert.ok(rounds.frozen >= 3, `only ${rounds.frozen} freeze rounds`);
  } finally {
    for (const pid of frozen) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    await removeCluster(cluster);
  }
});
