// The database goes away under load (MySQL/MariaDB only: the app reaches it
// through a TCP proxy the test cuts; SQLite cannot go away). Requests that
// need it answer 503 within 5 s, /healthz stays 200 and /readyz says 503, no
// worker dies; the lock-file leader keeps the lock, its fires meanwhile are
// recorded as missed and the stage due meanwhile is caught up once the
// database is back; a lease leader steps down before its lease could be
// taken and a leader is elected again after. Every stage ends in the right
// status with each transition recorded once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { userWithToken } from './helpers/http.js';
import { listening, startCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { waitUntil } from './helpers/wait.js';
import { readOwner } from '../src/leadership/lockfile-election.js';
import { SECOND } from '../src/time.js';

const skip = testDialect === 'mysql' ? false : 'needs TEST_DATABASE_URL=mysql://... (an embedded SQLite file cannot go away)';
/** Shorter than the 30 s to keep the suite fast; long enough for several fires and a lease to lapse. */
const OUTAGE_MS = 8 * SECOND;

let database: TestDatabase;
let proxy: TcpProxy;
let proxiedUrl: string;
let token: string;

before(async () => {
  if (skip) return;
  database = await createTestDatabase();
  ({ token } = await userWithToken(database.db, 'teacher'));
  const direct = new URL(database.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 3306) });
  const via = new URL(database.url);
  via.hostname = '127.0.0.1';
  via.port = String(proxy.port);
  proxiedUrl = via.toString();
});
after(async () => {
  if (skip) return;
  await proxy.close();
  await database.cleanup();
});

async function readyCluster(env: Record<string, string>): Promise<RunningCluster> {
  const cluster = await startCluster({ databaseUrl: proxiedUrl, workers: 2, env: { STAGE_SWEEP_CRON: '* * * * * *', ...env } });
  await waitUntil(() => cluster.logs.filter(listening).length >= 2, 30_000, 'workers listen');
  await cluster.waitForLog(startedScheduler, 20_000, 'a leader');
  return cluster;
}

async function api(cluster: RunningCluster, path: string, init: RequestInit = {}) {
  const started = Date.now();
  const res = await fetch(`${cluster.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null, ms: Date.now() - started };
}

/** A stage whose whole window lies inside the outage. */
async function stageInsideTheOutage(cluster: RunningCluster, cutAt: number): Promise<number> {
  const course = await api(cluster, '/api/courses', { method: 'POST', body: JSON.stringify({ title: 'Outage', code: `OUT-${cutAt}` }) });
  assert.equal(course.status, 201, JSON.stringify(course.body));
  const stage = await api(cluster, `/api/courses/${course.body!.id}/stages`, {
    method: 'POST',
    body: JSON.stringify({ name: 'during', startDate: new Date(cutAt + 2 * SECOND).toISOString(), endDate: new Date(cutAt + 5 * SECOND).toISOString() }),
  });
  assert.equal(stage.status, 201, JSON.stringify(stage.body));
  return Number(stage.body!.id);
}

async function duringTheOutage(cluster: RunningCluster): Promise<void> {
  const courses = await api(cluster, '/api/courses');
  assert.equal(courses.status, 503, JSON.stringify(courses.body));
  assert.equal(courses.body?.error?.code, 'unavailable');
  assert.ok(courses.ms < 5 * SECOND, `answered in ${courses.ms} ms`);
  assert.equal((await fetch(`${cluster.baseUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${cluster.baseUrl}/readyz`)).status, 503);
}

async function stageEndsCompletedOnce(stageId: number): Promise<void> {
  await waitUntil(async () => (await database.db('stages').where({ id: stageId }).first())?.status === 'completed', 15_000, 'the stage is caught up');
  const steps = (await database.db('stage_transitions').where({ stage_id: stageId }).orderBy('id')).map((t) => `${t.from_status}->${t.to_status}`);
  assert.deepEqual(steps, ['pending->active', 'active->completed']);
}

test('lock file mode: the leader keeps the lock, fires during the outage are recorded as missed, the due stage is caught up', { skip }, async () => {
  const cluster = await readyCluster({});
  try {
    const leader = cluster.logs.find(startedScheduler)!.pid;
    const cutAt = Date.now() + 1 * SECOND;
    const stageId = await stageInsideTheOutage(cluster, cutAt);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt - Date.now())));
    await proxy.cut();
    await duringTheOutage(cluster);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + OUTAGE_MS - Date.now())));
    await proxy.restore();

    await stageEndsCompletedOnce(stageId);
    await waitUntil(async () => (await api(cluster, '/api/courses')).status === 200, 10_000, 'requests succeed again');
    const missed = await database.db('job_executions').where({ job_id: 'stage-status-sweep', status: 'missed' }).whereBetween('scheduled_for', [cutAt, cutAt + OUTAGE_MS]);
    assert.ok(missed.length >= 3, `${missed.length} fires recorded as missed`);
    assert.equal(readOwner(cluster.lockFile)?.pid, leader, 'the leader kept the lock');
    assert.equal(cluster.logs.filter(startedScheduler).length, 1, 'no other leader started');
    assert.equal(cluster.logs.filter((l) => l.msg.includes('worker died')).length, 0, 'no worker died');
  } finally {
    await proxy.restore().catch(() => undefined);
    await cluster.stop(20_000);
    fs.rmSync(cluster.dataDir, { recursive: true, force: true });
  }
});

test('db mode: the leader steps down before its lease could be taken, and a leader is elected again once the database is back', { skip }, async () => {
  const LEASE_MS = 3000;
  const RETRY_MS = 300;
  const cluster = await readyCluster({ LEADER_ELECTION: 'db', LEADER_LEASE_MS: String(LEASE_MS), SCHEDULER_RETRY_MS: String(RETRY_MS) });
  try {
    const cutAt = Date.now() + 1 * SECOND;
    const stageId = await stageInsideTheOutage(cluster, cutAt);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt - Date.now())));
    const seen = cluster.logs.length;
    await proxy.cut();
    const cutReally = Date.now();
    await duringTheOutage(cluster);
    const lost = await cluster.waitForLog((l) => cluster.logs.indexOf(l) >= seen && l.msg.includes('scheduler lock lost'), LEASE_MS + 5000, 'the leader steps down');
    const lostAfter = Date.parse(String(lost.time)) - cutReally;
    assert.ok(lostAfter < LEASE_MS, `stepped down ${lostAfter} ms after the cut; the lease could be taken after ${LEASE_MS}`);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + OUTAGE_MS - Date.now())));
    const seenBeforeRestore = cluster.logs.length;
    await proxy.restore();
    const restoredAt = Date.now();
    const next = await cluster.waitForLog((l) => cluster.logs.indexOf(l) >= seenBeforeRestore && startedScheduler(l), LEASE_MS + RETRY_MS + 10_000, 'a leader again');
    const electedAfter = Date.parse(String(next.time)) - restoredAt;
    assert.ok(electedAfter < LEASE_MS + RETRY_MS + 3000, `a leader ${electedAfter} ms after the database came back`);

    await stageEndsCompletedOnce(stageId);
    assert.equal(cluster.logs.filter((l) => l.msg.includes('worker died')).length, 0, 'no worker died');
  } finally {
    await proxy.restore().catch(() => undefined);
    await cluster.stop(20_000);
    fs.rmSync(cluster.dataDir, { recursive: true, force: true });
  }
});
