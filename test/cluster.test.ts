// The built server as a real process tree: one leader among 4 workers,
// failover after SIGKILL, CLI commands beside a running cluster, and a clean
// SIGTERM. Short stale/retry settings (FAST_ELECTION) keep it to seconds.
// The tests that only look share one running cluster; the ones that kill or
// stop a cluster start their own, so no test depends on what ran before it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { sleep } from '../src/time.js';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { userWithToken } from './helpers/http.js';
import { listening, removeCluster, requestOnNewConnection, startCluster, startReadyCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { childPids, isAlive } from './helpers/processes.js';
import { runCli } from './helpers/cli.js';
import { waitUntil } from './helpers/wait.js';
import { readOwner } from '../src/leadership/lock-file.js';

const WORKERS = 4;
const STALE_MS = 2000;
const RETRY_MS = 300;
const SLACK_MS = 5000;

let database: TestDatabase;
let db: Knex;
let adminToken: string;
let teacherToken: string;
let studentId: number;
let studentEmail: string;

before(async () => {
  database = await createTestDatabase();
  db = database.db;
  ({ token: adminToken } = await userWithToken(db, 'admin'));
  ({ token: teacherToken } = await userWithToken(db, 'teacher'));
  const { user: student } = await userWithToken(db, 'student');
  ({ id: studentId, email: studentEmail } = student);
});

after(async () => {
  await database.cleanup();
});

/** A cluster of WORKERS on the file's database, every worker listening and a leader started. */
const readyCluster = () => startReadyCluster({ databaseUrl: database.url, workers: WORKERS });

async function schedulerLeaderFromApi(cluster: RunningCluster): Promise<{ leader: { pid: number } | null; servedBy: number }> {
  // Each on a connection of its own: fetch keeps one alive, which the cluster
  // hands to one worker for good, and this must reach several.
  const [status, health] = await Promise.all([
    requestOnNewConnection(`${cluster.baseUrl}/api/scheduler`, { headers: { authorization: `Bearer ${adminToken}` } }),
    requestOnNewConnection(`${cluster.baseUrl}/healthz`),
  ]);
  assert.equal(status.status, 200);
  return { leader: status.body.leader, servedBy: health.body.pid };
}

describe('one running cluster, only looked at', () => {
  let cluster: RunningCluster;
  before(async () => {
    cluster = await readyCluster();
  });
  after(async () => {
    if (cluster) await removeCluster(cluster);
  });

  test(`${WORKERS} workers, exactly one of them starts the scheduler, and the lock file names it (${testDialect})`, async () => {
    await waitUntil(() => new Set(cluster.logs.filter(listening).map((l) => l.pid)).size === WORKERS, 20_000, 'all workers listen');
    const leader = await cluster.waitForLog(startedScheduler, 10_000, 'scheduler started');
    // Give the others time to make their first attempt and log it.
    await waitUntil(() => cluster.logs.filter((l) => l.msg.includes('scheduler already running')).length >= WORKERS - 1, 10_000, 'the others skip');

    const starters = cluster.logs.filter(startedScheduler);
    assert.equal(starters.length, 1, 'exactly one worker started the scheduler');
    const workerPids = new Set(cluster.logs.filter(listening).map((l) => l.pid));
    assert.ok(workerPids.has(leader.pid), 'the leader is a worker, not the primary');
    for (const skip of cluster.logs.filter((l) => l.msg.includes('scheduler already running'))) {
      assert.match(skip.msg, new RegExp(`pid ${leader.pid}\\b`));
    }

    const owner = readOwner(cluster.lockFile);
    assert.equal(owner?.pid, leader.pid);
    assert.ok(fs.statSync(`${cluster.lockFile}.lock`).isDirectory());
    assert.match(owner.acquiredAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The term from the database: in the lock file, on the API's leader, first in the history.
    assert.ok(Number.isInteger(owner.term) && owner.term! > 0, `a term in the lock file: ${JSON.stringify(owner)}`);
    const status = (await (await fetch(`${cluster.baseUrl}/api/scheduler`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as {
      leader: { term: number };
      history: { term: number; pid: number; endedAt: string | null }[];
    };
    assert.equal(status.leader.term, owner.term);
    assert.deepEqual([status.history[0]?.term, status.history[0]?.pid, status.history[0]?.endedAt], [owner.term, leader.pid, null]);

    // Round-robin spreads these over the workers; every one names the same leader.
    const servers = new Set<number>();
    for (let i = 0; i < 16; i++) {
      const { leader: seen, servedBy } = await schedulerLeaderFromApi(cluster);
      servers.add(servedBy);
      assert.equal(seen?.pid, leader.pid);
    }
    assert.ok(servers.size > 1, 'requests reached more than one worker');
  });

  test('CLI commands beside a running cluster never touch the lock nor start a scheduler', async () => {
    const before = fs.readFileSync(cluster.lockFile, 'utf8');
    const mtime = fs.statSync(cluster.lockFile).mtimeMs;
    for (const args of [['migrate'], ['scheduler:status'], ['users:create', '--email', 'cli-beside@example.test', '--password', 'password-123', '--role', 'student']]) {
      const result = await runCli({ ...cluster.env, LOG_LEVEL: 'debug' }, ...args);
      assert.equal(result.code, 0, `${args[0]}: ${result.stderr}`);
      assert.doesNotMatch(result.stdout + result.stderr, /scheduler started/);
    }
    const status = await runCli(cluster.env, 'lock:status');
    const lock = JSON.parse(status.stdout);
    assert.equal(lock.state, 'held');
    assert.equal(lock.path, cluster.lockFile);
    assert.equal(lock.owner.pid, readOwner(cluster.lockFile)?.pid);
    assert.equal(fs.readFileSync(cluster.lockFile, 'utf8'), before);
    assert.equal(fs.statSync(cluster.lockFile).mtimeMs, mtime);
    assert.equal(cluster.logs.filter(startedScheduler).length, 1);
  });

  test('run-now sent to a worker that is not the leader runs once, on the leader', async () => {
    const leaderPid = readOwner(cluster.lockFile)!.pid;
    const run = (token: string, jobId = 'stage-status-sweep', requestId?: string) =>
      requestOnNewConnection(`${cluster.baseUrl}/api/scheduler/jobs/${jobId}/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(requestId ? { 'x-request-id': requestId } : {}) },
        body: {},
      });
    let executionId: number | undefined;
    for (let attempt = 0; attempt < 20 && executionId === undefined; attempt++) {
      const requestId = `run-now-${attempt}-${Date.now()}`;
      const res = await run(adminToken, 'stage-status-sweep', requestId);
      if (res.status === 409) {
        // The previous attempt's run (or a cron fire) is still going.
        await sleep(200);
        continue;
      }
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const line = await cluster.waitForLog((l) => (l.req as { id?: string } | undefined)?.id === requestId, 5000, 'the request log line');
      if (line.pid !== leaderPid) executionId = res.body.executionId;
      else await waitUntil(async () => (await db('job_executions').where({ id: res.body.executionId }).first())?.status !== 'running', 10_000, 'the run finished');
    }
    assert.ok(executionId, 'a non-leader took a run-now request');
    await waitUntil(async () => (await db('job_executions').where({ id: executionId }).first())?.status === 'success', 10_000, 'the run finished');
    const row = await db('job_executions').where({ id: executionId }).first();
    assert.equal(Number(row.pid), leaderPid, 'ran in the leader');
    assert.equal(row.claim_key, null);

    assert.equal((await run(adminToken, 'no-such-job')).status, 404);
    assert.equal((await run(teacherToken)).status, 403);
    const status = await requestOnNewConnection(`${cluster.baseUrl}/api/scheduler`, { headers: { authorization: `Bearer ${teacherToken}` } });
    assert.equal(status.status, 403);
  });

  test('scheduler:run from the CLI runs the job on the leader, waits, and prints the finished execution', async () => {
    const leaderPid = readOwner(cluster.lockFile)!.pid;
    const result = await runCli(cluster.env, 'scheduler:run', 'cleanup-job-executions');
    assert.equal(result.code, 0, result.stderr);
    const execution = JSON.parse(result.stdout);
    assert.equal(execution.jobId, 'cleanup-job-executions');
    assert.equal(execution.status, 'success');
    assert.equal(execution.pid, leaderPid);
    assert.match(execution.finishedAt, /Z$/);
    assert.equal((await runCli(cluster.env, 'scheduler:run', 'no-such-job')).code, 2);
    assert.equal((await runCli(cluster.env, 'scheduler:run')).code, 2);
  });

  test('scheduler:pause and scheduler:resume from the CLI print the job; resume runs it once on the leader through the queue', async () => {
    const leaderPid = readOwner(cluster.lockFile)!.pid;
    const paused = await runCli(cluster.env, 'scheduler:pause', 'cleanup-job-executions');
    assert.equal(paused.code, 0, paused.stderr);
    const job = JSON.parse(paused.stdout);
    assert.equal(job.id, 'cleanup-job-executions');
    assert.equal(job.paused, true);
    assert.equal(Boolean((await db('scheduler_jobs').where({ id: 'cleanup-job-executions' }).first()).paused), true);

    const resumed = await runCli(cluster.env, 'scheduler:resume', 'cleanup-job-executions');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).paused, false);
    const executionId = Number(/runs once now to catch up, as execution (\d+)/.exec(resumed.stderr)?.[1]);
    assert.ok(executionId > 0, resumed.stderr);
    await waitUntil(async () => (await db('job_executions').where({ id: executionId }).first())?.status === 'success', 10_000, 'the catch-up ran');
    assert.equal(Number((await db('job_executions').where({ id: executionId }).first()).pid), leaderPid, 'on the leader');

    assert.equal((await runCli(cluster.env, 'scheduler:pause', 'no-such-job')).code, 2);
    assert.equal((await runCli(cluster.env, 'scheduler:resume')).code, 2);
  });

  test('a paused stage sweep does not record an extension ending meanwhile; after resume it is recorded once', async () => {
    const teacher = { authorization: `Bearer ${teacherToken}`, 'content-type': 'application/json' };
    const api = async (path: string, body: object) => {
      const res = await fetch(`${cluster.baseUrl}${path}`, { method: 'POST', headers: teacher, body: JSON.stringify(body) });
      const json = (await res.json()) as { id: number };
      assert.ok(res.status === 201, `${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const now = Date.now();
    const courseId = (await api('/api/courses', { title: 'Paused', code: `PAUSE-${now}` })).id;
    await api(`/api/courses/${courseId}/members`, { email: studentEmail });
    const stageId = (await api(`/api/courses/${courseId}/stages`, { name: 'Open', startDate: new Date(now - 3_600_000).toISOString(), endDate: new Date(now + 3_600_000).toISOString() })).id;
    const paused = await runCli(cluster.env, 'scheduler:pause', 'stage-status-sweep');
    assert.equal(paused.code, 0, paused.stderr);
    // The extension ends while the sweep is paused: its own start lies in the past, so its end is the next boundary of all.
    const endMs = Date.now() + 1500;
    const overrideId = (await api(`/api/stages/${stageId}/overrides`, { userId: studentId, startDate: new Date(now - 3_600_000).toISOString(), endDate: new Date(endMs).toISOString() })).id;
    let resumed: Awaited<ReturnType<typeof runCli>>;
    const recorded = () => db('stage_transitions').where({ override_id: overrideId }).select('to_status', 'cause');
    try {
      // The leader's timer fires at the extension's end and, the job being paused, writes a skipped row for it:
      // that row is the event that the boundary passed on the leader while paused.
      await waitUntil(
        async () => Boolean(await db('job_executions').where({ job_id: 'stage-status-sweep', status: 'skipped', error: 'paused' }).andWhere('scheduled_for', '>=', endMs).first()),
        15_000,
        'the paused fire at the extension end',
      );
      assert.deepEqual(await recorded(), [], 'nothing recorded while paused');
      assert.equal((await db('stage_overrides').where({ id: overrideId }).first()).status, 'active', 'the extension is not moved while paused');
    } finally {
      resumed = await runCli(cluster.env, 'scheduler:resume', 'stage-status-sweep');
    }
    assert.equal(resumed.code, 0, resumed.stderr);
    const catchUp = Number(/as execution (\d+)/.exec(resumed.stderr)?.[1]);
    assert.ok(catchUp > 0, resumed.stderr);
    // The resume's catch-up run and the re-armed timer both look at the boundary: still one row.
    await waitUntil(async () => (await db('job_executions').where({ id: catchUp }).first())?.status === 'success', 15_000, 'the catch-up ran');
    await waitUntil(async () => (await recorded()).length > 0, 15_000, "the extension's end recorded after resume");
    const rows = await recorded();
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].to_status, 'completed');
  });

  test('/metrics answers for the whole cluster: one leader among the workers', async () => {
    const res = await fetch(`${cluster.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^coursework_scheduler_leader 1$/m, 'summed over workers: exactly one leader');
    assert.match(text, /^coursework_scheduler_leader_changes_total [1-9]\d*$/m, 'the leader counted its term');
    assert.match(text, /^coursework_scheduler_superseded_writes_total 0$/m);
    assert.match(text, /coursework_job_runs_total\{[^}]*job="stage-status-sweep"[^}]*\} \d+/);
  });
});

test('SIGKILL the leader: another worker leads within stale + retry, and the primary restores all workers', async () => {
  const cluster = await readyCluster();
  try {
    const oldLeader = cluster.logs.filter(startedScheduler).at(-1)!.pid;
    const killedAt = Date.now();
    process.kill(oldLeader, 'SIGKILL');

    const next = await cluster.waitForLog((l) => startedScheduler(l) && l.pid !== oldLeader, STALE_MS + RETRY_MS + SLACK_MS + 5000, 'a new leader');
    const failoverMs = Date.now() - killedAt;
    assert.ok(failoverMs < STALE_MS + RETRY_MS + SLACK_MS, `failover took ${failoverMs} ms`);
    assert.notEqual(next.pid, oldLeader);
    await waitUntil(() => readOwner(cluster.lockFile)?.pid === next.pid, 5000, 'the lock file names the new leader');

    await waitUntil(async () => {
      const pids = await childPids(cluster.child.pid!);
      return pids.length === WORKERS && !pids.includes(oldLeader);
    }, 15_000, `the primary runs ${WORKERS} workers again`);
    assert.equal((await schedulerLeaderFromApi(cluster)).leader?.pid, next.pid);
  } finally {
    await removeCluster(cluster);
  }
});

test('SIGTERM to the primary: every process exits 0 and the lock is released', async () => {
  const cluster = await readyCluster();
  try {
    const workers = await childPids(cluster.child.pid!);
    assert.equal(workers.length, WORKERS);
    const { code, signal } = await cluster.stop(20_000);
    assert.equal(signal, null);
    assert.equal(code, 0);
    for (const pid of workers) assert.equal(isAlive(pid), false, `worker ${pid} is gone`);
    const stopped = cluster.logs.filter((l) => l.msg === 'worker stopped' && l.role === 'primary');
    assert.equal(stopped.length, WORKERS);
    for (const line of stopped) assert.equal(line.code, 0);
    assert.equal(fs.existsSync(`${cluster.lockFile}.lock`), false, 'the .lock directory is gone');
  } finally {
    await removeCluster(cluster);
  }
});

test('with SCHEDULER_ENABLED=false no worker takes the lock; the API says no leader and run-now answers 503', async () => {
  const off = await startCluster({ databaseUrl: database.url, workers: 2, env: { SCHEDULER_ENABLED: 'false' } });
  try {
    await waitUntil(() => off.logs.filter(listening).length === 2, 20_000, 'workers listen');
    const status = await requestOnNewConnection(`${off.baseUrl}/api/scheduler`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(status.status, 200);
    assert.equal(status.body.leader, null);
    const run = await requestOnNewConnection(`${off.baseUrl}/api/scheduler/jobs/stage-status-sweep/run`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: {} });
    const errors = () => off.logs.filter((l) => l.level >= 50).map((l) => JSON.stringify(l)).join('\n');
    assert.equal(run.status, 503, `${JSON.stringify(run.body)}\n${errors()}`);
    assert.equal(run.body.error.code, 'unavailable');
    assert.equal(fs.existsSync(off.lockFile), false);
    assert.equal(off.logs.filter(startedScheduler).length, 0);
  } finally {
    assert.equal((await off.stop()).code, 0);
    fs.rmSync(off.dataDir, { recursive: true, force: true });
  }
});

test('a SCHEDULER_LOCK_STALE_MS below the lock\'s 2000 ms minimum starts the cluster, and the primary warns that 2000 ms is used', async () => {
  const cluster = await startReadyCluster({ databaseUrl: database.url, workers: 1, env: { SCHEDULER_LOCK_STALE_MS: '1500' } });
  try {
    const notice = cluster.logs.find((l) => l.role === 'primary' && l.level === 40 && l.msg.includes('SCHEDULER_LOCK_STALE_MS=1500'));
    assert.equal(notice?.msg, "SCHEDULER_LOCK_STALE_MS=1500 is below the lock's minimum of 2000 ms; 2000 ms is used");
  } finally {
    await removeCluster(cluster);
  }
});
