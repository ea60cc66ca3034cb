// Leadership without gaps on one host, with the production stale and retry
// times (10 s, 5 s), so a takeover within a few seconds cannot have come from
// staleness: a SIGKILLed leader is replaced at once, killing a worker that
// does not lead changes nothing, a leader that stops hands over, and SIGHUP
// replaces every worker under load without failing a request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, userWithToken } from './helpers/http.js';
import type { User } from '../src/domain/users.js';
import { HOUR, SECOND, toIso } from '../src/time.js';
import { listening, removeCluster, startReadyCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { childPids } from './helpers/processes.js';
import { keepAliveLoad } from './helpers/load.js';
import { waitUntil } from './helpers/wait.js';
import { readOwner } from '../src/leadership/lock-file.js';

const WORKERS = 4;
const DEFAULTS = { SCHEDULER_LOCK_STALE_MS: '10000', SCHEDULER_RETRY_MS: '5000' };
/** No retry timer fires during these tests: only a handover can explain a successor. */
const NO_RETRY = { SCHEDULER_LOCK_STALE_MS: '10000', SCHEDULER_RETRY_MS: '600000' };
/**
 * Well under the earliest a stale takeover could come (stale 10 s after the last refresh, which
 * is at most stale/4 before the kill: 7.5 s); the log line's reason names the path in any case.
 */
const FAILOVER_BOUND_MS = 6000;

let database: TestDatabase;
let token: string;
let student: User;

before(async () => {
  database = await createTestDatabase();
  ({ token } = await userWithToken(database.db, 'teacher'));
  ({ user: student } = await userWithToken(database.db, 'student'));
});

/** A student's extension ending `inMs` from now, on a stage open for an hour more: its end is a boundary of its own. */
async function overrideEndingIn(cluster: RunningCluster, inMs: number): Promise<{ stageId: number; overrideId: number; endMs: number }> {
  const api = apiClient(cluster.baseUrl, token);
  const courseId = (await api.post('/api/courses', { title: 'Failover', code: `FO-${Date.now()}` })).body.id as number;
  assert.equal((await api.post(`/api/courses/${courseId}/members`, { email: student.email })).status, 201);
  const now = Date.now();
  const stageId = (await api.post(`/api/courses/${courseId}/stages`, { name: 'Open', startDate: toIso(now - HOUR), endDate: toIso(now + HOUR) })).body.id as number;
  const endMs = Date.now() + inMs;
  const made = await api.post(`/api/stages/${stageId}/overrides`, { userId: student.id, startDate: toIso(now - HOUR), endDate: toIso(endMs) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return { stageId, overrideId: made.body.id as number, endMs };
}

/** The transitions recorded for an override. */
async function overrideTransitions(overrideId: number): Promise<{ to_status: string; lag_ms: number | null; cause: string }[]> {
  return database.db('stage_transitions').where({ override_id: overrideId }).orderBy('id').select('to_status', 'lag_ms', 'cause');
}
after(async () => {
  await database.cleanup();
});

const readyCluster = (env: Record<string, string>) => startReadyCluster({ databaseUrl: database.url, workers: WORKERS, env });

const leaderNow = (cluster: RunningCluster) => cluster.logs.filter(startedScheduler).at(-1)!;

test(`kill -9 of the leader: a successor within ${FAILOVER_BOUND_MS} ms with the default stale of 10 s; killing a non-leader changes nothing (${testDialect})`, async () => {
  const cluster = await readyCluster(DEFAULTS);
  try {
    const oldLeader = leaderNow(cluster).pid;
    // An extension ends just after the leader dies: the successor records it, once.
    const extension = await overrideEndingIn(cluster, 1500);
    const killedAt = Date.now();
    process.kill(oldLeader, 'SIGKILL');
    const next = await cluster.waitForLog((l) => startedScheduler(l) && l.pid !== oldLeader, 15_000, 'a new leader');
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs < FAILOVER_BOUND_MS, `the successor took ${tookMs} ms: staleness, not the dead-leader path, recovered it`);
    assert.match(String(next.why), new RegExp(`previous leader \\(pid ${oldLeader}\\) died`));
    await waitUntil(() => readOwner(cluster.lockFile)?.pid === next.pid, 5000, 'the lock file names the successor');

    // A worker that does not lead dies: the primary replaces it, leadership stays put.
    await waitUntil(async () => (await childPids(cluster.child.pid!)).length === WORKERS, 20_000, 'all workers back');
    const bystander = (await childPids(cluster.child.pid!)).find((pid) => pid !== next.pid)!;
    const listenersBefore = cluster.logs.filter(listening).length;
    const startsBefore = cluster.logs.filter(startedScheduler).length;
    process.kill(bystander, 'SIGKILL');
    await waitUntil(() => cluster.logs.filter(listening).length > listenersBefore, 20_000, 'a replacement worker listens');
    assert.equal(cluster.logs.filter(startedScheduler).length, startsBefore, 'no new leader');
    assert.equal(readOwner(cluster.lockFile)?.pid, next.pid);
    assert.ok(fs.existsSync(`${cluster.lockFile}.lock`), 'the lock is still held');

    // Seconds after the extension's end, through a failover and a replaced worker: recorded once, late by no more than the failover.
    await waitUntil(async () => (await overrideTransitions(extension.overrideId)).length > 0, 15 * SECOND, "the extension's end recorded");
    const recorded = await overrideTransitions(extension.overrideId);
    assert.equal(recorded.length, 1, JSON.stringify(recorded));
    assert.equal(recorded[0].to_status, 'completed');
    assert.ok(Number(recorded[0].lag_ms) < FAILOVER_BOUND_MS, `recorded ${recorded[0].lag_ms} ms after the extension's end (${recorded[0].cause})`);
  } finally {
    await removeCluster(cluster);
  }
});

test('SIGTERM to the leading worker: it hands over, and another worker leads at once, not at its next retry', async () => {
  const cluster = await readyCluster(NO_RETRY);
  try {
    const oldLeader = leaderNow(cluster).pid;
    process.kill(oldLeader, 'SIGTERM');
    const next = await cluster.waitForLog((l) => startedScheduler(l) && l.pid !== oldLeader, 15_000, 'a new leader');
    assert.match(String(next.why), new RegExp(`handed over by pid ${oldLeader}`));
    await waitUntil(() => readOwner(cluster.lockFile)?.pid === next.pid, 5000, 'the lock file names the successor');
  } finally {
    await removeCluster(cluster);
  }
});

test(`SIGHUP under load: every worker replaced, no request failed, one leader at the end (${testDialect})`, async () => {
  const cluster = await readyCluster(NO_RETRY);
  const course = await fetch(`${cluster.baseUrl}/api/courses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Rolling', code: `ROLL-${Date.now()}` }),
  }).then((r) => r.json() as Promise<{ id: number }>);
  const load = keepAliveLoad(cluster.baseUrl, ['/healthz', `/api/courses/${course.id}/stages`], { clients: 8, headers: { authorization: `Bearer ${token}` } });
  try {
    const before = new Set(await childPids(cluster.child.pid!));
    assert.equal(before.size, WORKERS);
    const oldLeader = leaderNow(cluster).pid;
    await waitUntil(() => load.result.ok > 50, 10_000, 'the load runs');
    cluster.child.kill('SIGHUP');
    await cluster.waitForLog((l) => l.msg === 'rolling restart done', 90_000, 'the rolling restart ends');
    await waitUntil(() => load.result.ok > 0, 1000, 'load still running');
    const result = await load.stop();
    assert.equal(result.failed, 0, `failed requests: ${result.failures.join('; ')}`);
    assert.ok(result.ok > 100, `only ${result.ok} requests went through`);

    const after = await childPids(cluster.child.pid!);
    assert.equal(after.length, WORKERS);
    for (const pid of after) assert.ok(!before.has(pid), `worker ${pid} was not replaced`);
    // The old leader is retired last; its successor may log a moment after the restart's last line.
    await cluster.waitForLog((l) => startedScheduler(l) && l.pid !== oldLeader, 15_000, 'the handover');
    await waitUntil(() => after.includes(readOwner(cluster.lockFile)?.pid ?? -1), 5000, 'the lock file names a new worker');
    const starts = cluster.logs.filter((l) => startedScheduler(l) && l.pid !== oldLeader);
    assert.equal(starts.length, 1, `one handover: ${starts.map((l) => l.msg).join('; ')}`);
    assert.match(String(starts[0].why), /handed over/);
  } finally {
    await load.stop();
    await removeCluster(cluster);
  }
});
