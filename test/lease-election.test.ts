// The shared-database lease (LEADER_ELECTION=db): one holder at a time by
// the database's clock, takeover once a dead holder's lease expires, a
// blocked leader steps down, and two clusters ("hosts") on one database
// elect one leader between them and fail over when that host dies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { userWithToken } from './helpers/http.js';
import { listening, requestOnNewConnection, startCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { childPids, holdElectionInChild, spawnScript } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { LeaseElection } from '../src/leadership/lease-election.js';
import { numberFromDb } from '../src/db/rows.js';

const LEASE_MS = 2000;
let database: TestDatabase;
let db: Knex;

before(async () => {
  database = await createTestDatabase();
  db = database.db;
});
after(async () => {
  await database.cleanup();
});

const lease = (workerId: number, leaseMs = LEASE_MS) => new LeaseElection({ db, leaseMs, workerId });

test(`one holder at a time; release frees the lease (${testDialect})`, async () => {
  const a = lease(1);
  const b = lease(2);
  assert.deepEqual(await b.currentOwner(), { state: 'free', owner: null });
  assert.equal(await a.acquire(), true);
  assert.equal(await b.acquire(), false);
  const seen = await b.currentOwner();
  assert.equal(seen.state, 'held');
  assert.equal(seen.owner?.workerId, 1);
  assert.equal(seen.owner?.pid, process.pid);
  assert.equal(await a.stillLeading(), true);
  assert.equal(await b.stillLeading(), false);

  // Renewals keep it held well past one lease length.
  await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
  assert.equal(await b.acquire(), false);
  assert.equal((await b.currentOwner()).state, 'held');

  await a.release();
  assert.equal((await b.currentOwner()).state, 'free');
  assert.equal(await b.acquire(), true);
  await b.release();
});

test('a dead holder\'s lease is taken over once it expires, not before', async () => {
  const holder = await holdElectionInChild('db', database.url, LEASE_MS);
  holder.child.kill('SIGKILL');
  await holder.exited;
  const killedAt = Date.now();

  const contender = lease(2);
  assert.equal(await contender.acquire(), false, 'not expired yet');
  await waitUntil(() => contender.acquire(), LEASE_MS + 3000, 'the contender takes the expired lease');
  assert.ok(Date.now() - killedAt <= LEASE_MS + 1000);
  assert.equal((await contender.currentOwner()).owner?.pid, process.pid);
  await contender.release();
});

test('a leader whose event loop is blocked past its lease steps down and runs nothing more', async () => {
  const fixture = spawnScript('test/fixtures/blocking-leader.ts', ['db', database.url, String(3 * LEASE_MS)]);
  const { lines, exited, child } = fixture;
  await waitUntil(() => lines.some((l) => l.msg === 'blocking the event loop'), 20_000, `the fixture blocks (${fixture.stderr()})`);

  const successor = lease(2);
  await waitUntil(() => successor.acquire(), 3 * LEASE_MS, 'the successor takes over during the block');
  const takenAt = Date.now();
  assert.equal(await exited, 0, fixture.stderr());
  assert.ok(lines.some((l) => l.msg.includes('scheduler lock lost')), 'the blocked leader noticed');
  assert.equal(lines.find((l) => l.msg === 'fixture done')?.leading, false);
  const runs = await db('job_executions').where({ pid: child.pid }).whereIn('status', ['running', 'success', 'error']);
  assert.ok(runs.length >= 2, 'the job ran while the fixture led');
  assert.deepEqual(runs.filter((r) => numberFromDb(r.started_at) >= takenAt), [], 'nothing started after the takeover');
  assert.equal((await successor.currentOwner()).owner?.workerId, 2);
  await successor.release();
});

test('two clusters on one database elect one leader between them; when the leader\'s host dies the other takes over', async () => {
  const { token } = await userWithToken(db, 'admin');
  const env = { LEADER_ELECTION: 'db', LEADER_LEASE_MS: String(LEASE_MS) };
  const hosts: RunningCluster[] = [];
  try {
    for (let i = 0; i < 2; i++) hosts.push(await startCluster({ databaseUrl: database.url, workers: 2, env }));
    for (const host of hosts) await waitUntil(() => host.logs.filter(listening).length === 2, 20_000, 'workers listen');
    await waitUntil(() => hosts.some((h) => h.logs.some(startedScheduler)), 10_000, 'a leader');
    await new Promise((r) => setTimeout(r, 1000)); // every worker has tried at least once
    const starters = hosts.flatMap((h) => h.logs.filter(startedScheduler));
    assert.equal(starters.length, 1, 'one leader across both hosts');
    const leaderHost = hosts.find((h) => h.logs.some(startedScheduler))!;
    const otherHost = hosts.find((h) => h !== leaderHost)!;

    // Both hosts name the same leader, and run-now through the other host runs on it.
    for (const host of hosts) {
      const status = await requestOnNewConnection(`${host.baseUrl}/api/scheduler`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(status.body.leader.pid, starters[0].pid);
    }
    const run = await requestOnNewConnection(`${otherHost.baseUrl}/api/scheduler/jobs/cleanup-job-executions/run`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: {} });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    await waitUntil(async () => (await db('job_executions').where({ id: run.body.executionId }).first())?.status === 'success', 10_000, 'the run finished');
    assert.equal(Number((await db('job_executions').where({ id: run.body.executionId }).first()).pid), starters[0].pid);

    // The leader's whole host dies at once.
    for (const pid of [...(await childPids(leaderHost.child.pid!)), leaderHost.child.pid!]) process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const next = await otherHost.waitForLog(startedScheduler, LEASE_MS + 10_000, 'the other host takes over');
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs < LEASE_MS + 5000 + 2000, `failover took ${tookMs} ms`);
    const row = await db('scheduler_leases').first();
    assert.equal(Number(row.pid), next.pid);
  } finally {
    for (const host of hosts) if (host.child.exitCode === null && host.child.signalCode === null) await host.stop();
    for (const host of hosts) fs.rmSync(host.dataDir, { recursive: true, force: true });
  }
});
