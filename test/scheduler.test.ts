// The scheduler runner in-process against a real database and a real lock:
// errors are recorded and do not stop later fires, a slow job never overlaps
// itself, downtime shows up as missed rows, and cleanup deletes only what is
// past the retention, in batches. Alerts sent to the webhook: alerts.test.ts.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { testDialect } from './helpers/database.js';
import { config, job, log, SchedulerHarness } from './helpers/scheduler.js';
import { waitUntil } from './helpers/wait.js';
import { LockfileElection } from '../src/leadership/lockfile-election.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { JobBusyError } from '../src/scheduler/run-now.js';
import { pauseJob, resumeJob } from '../src/scheduler/pause.js';
import { runOnLeader } from '../src/scheduler/leader-link.js';
import { jobStartLagSeconds } from '../src/scheduler/metrics.js';
import { createAlerter, type Alerter, type JobAlert } from '../src/scheduler/alerts.js';
import { deleteExecutionsBefore } from '../src/jobs/cleanup-job-executions.js';
import { transactions } from '../src/db/transactions.js';
import type { JobDefinition } from '../src/jobs/job.js';
import { numberFromDb } from '../src/db/rows.js';
import { DAY, MINUTE, sleep } from '../src/time.js';

let harness: SchedulerHarness;
let db: Knex;

before(async () => {
  harness = await SchedulerHarness.open('coursework-scheduler-');
  db = harness.db;
});
afterEach(() => harness.reset());
after(() => harness.close());

const startScheduler = (jobs: JobDefinition[], alert?: Alerter): Promise<Scheduler> => harness.start(jobs, alert);
const executions = (jobId: string) => harness.executions(jobId);

test(`a job that throws is recorded as error with its message, and the next fire still runs (${testDialect})`, async () => {
  let calls = 0;
  await startScheduler([
    job({
      id: 'flaky',
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error('the first run breaks');
        return 'fine';
      },
    }),
  ]);
  await waitUntil(async () => (await executions('flaky')).filter((e) => e.status !== 'running').length >= 2, 5000, 'two fires finished');
  const [first, second] = await executions('flaky');
  assert.equal(first.status, 'error');
  assert.equal(first.error, 'the first run breaks');
  assert.match(first.error_stack, /the first run breaks\n\s+at /);
  assert.equal(Number(first.pid), process.pid);
  assert.equal(second.status, 'success');
  const stored = await db('scheduler_jobs').where({ id: 'flaky' }).first();
  assert.ok(['success', 'error'].includes(stored.last_status));
  assert.ok(numberFromDb(stored.next_run_at) > Date.now() - 1000);
});

test('a slow job with a fast trigger never runs twice at once; the overlapping fires are skipped', async () => {
  let inFlight = 0;
  let most = 0;
  await startScheduler([
    job({
      id: 'slow',
      run: async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await sleep(2200);
        inFlight -= 1;
      },
    }),
  ]);
  await waitUntil(async () => (await executions('slow')).filter((e) => e.status === 'skipped').length >= 2, 8000, 'skipped fires');
  assert.equal(most, 1);
  const skipped = (await executions('slow')).filter((e) => e.status === 'skipped');
  assert.equal(skipped[0].error, 'previous run still going');
  await assert.rejects(harness.running!.scheduler.runNow('slow'), JobBusyError, 'run-now refuses a running job');
});

test('fires missed while no leader ran are recorded as missed rows and alerted', async () => {
  const alerts: JobAlert[] = [];
  await db('scheduler_jobs').insert({ id: 'minutely', name: 'minutely', trigger: 'x', next_run_at: Date.now() - 5 * MINUTE - 30_000, paused: false, updated_at: 0 });
  let ran = 0;
  // A minute boundary between the start and the checks below would run the job: start clear of one.
  const toNextMinute = MINUTE - (Date.now() % MINUTE);
  if (toNextMinute < 5000) await sleep(toNextMinute + 100);
  await startScheduler([job({ id: 'minutely', cron: '* * * * *', run: async () => void (ran += 1) })], (a) => alerts.push(a));
  const missed = (await executions('minutely')).filter((e) => e.status === 'missed');
  assert.ok(missed.length >= 5 && missed.length <= 6, `${missed.length} missed`);
  assert.equal(ran, 0, "misfire policy 'skip' does not run it at start");
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].status, 'missed');
  assert.equal(alerts[0].executionId, Number(missed.at(-1).id));
});

test('a job past its timeout is recorded as error, and is not started again while its body still runs', async () => {
  const scheduler = await startScheduler([job({ id: 'stuck', cron: '0 0 1 1 *', timeoutMs: 200, run: () => sleep(1200) })]);
  const { executionId, done } = await scheduler.runNow('stuck');
  await done;
  const row = await db('job_executions').where({ id: executionId }).first();
  assert.equal(row.status, 'error');
  assert.match(row.error, /timed out after 200 ms/);
  await assert.rejects(scheduler.runNow('stuck'), JobBusyError);
});

test('a new leader keeps a job paused and clears the armed instant until its own due timer arms', async () => {
  await db('scheduler_jobs').insert({ id: 'held', name: 'held', trigger: 'x', next_run_at: null, paused: true, updated_at: 0, next_due_at: 12345 });
  await startScheduler([job({ id: 'held', cron: '0 0 1 1 *', run: async () => undefined })]);
  const row = await db('scheduler_jobs').where({ id: 'held' }).first();
  assert.equal(Boolean(row.paused), true, 'upsertJob does not reset paused');
  assert.equal(row.next_due_at, null);
  assert.equal(row.name, 'held');
});

test('the leader stores the instant its due timer is armed for, fenced with its term', async () => {
  const due = Date.now() + DAY;
  const election = new LockfileElection({ file: harness.lockFile(), staleMs: 10_000, workerId: 1, db });
  assert.equal(await election.acquire(), true);
  const scheduler = new Scheduler({ db, log, config, jobs: [job({ id: 'due', cron: '0 0 1 1 *', nextDue: async () => due, run: async () => undefined })], election, alert: createAlerter({ log }) });
  harness.track(scheduler, election);
  await scheduler.start();
  await waitUntil(async () => numberFromDb((await db('scheduler_jobs').where({ id: 'due' }).first()).next_due_at) === due, 5000, 'next_due_at written');
  const row = await db('scheduler_jobs').where({ id: 'due' }).first();
  assert.equal(numberFromDb(row.term), election.term);
});

test('a paused job keeps its cron: each fire is recorded as skipped (paused), nothing runs; resuming runs it once at once, then on its cron', async () => {
  let ran = 0;
  await pauseJob(db, 'ticker'); // before any leader registered it: the row is made now
  const scheduler = await startScheduler([job({ id: 'ticker', run: async () => void (ran += 1) })]);
  await waitUntil(async () => (await executions('ticker')).length >= 2, 5000, 'two fires while paused');
  assert.equal(ran, 0);
  for (const e of await executions('ticker')) {
    assert.equal(e.status, 'skipped');
    assert.equal(e.error, 'paused');
    assert.equal(e.claim_key, null, 'a paused fire is not claimed');
  }
  const stored = await db('scheduler_jobs').where({ id: 'ticker' }).first();
  assert.equal(Boolean(stored.paused), true);
  assert.equal(stored.name, 'ticker');
  assert.ok(numberFromDb(stored.next_run_at) > Date.now() - 1000, 'it keeps its next run');

  const before = (await executions('ticker')).length;
  const { job: resumed, catchUp } = await resumeJob({ db, leaderElected: async () => true, runJob: (id) => runOnLeader(scheduler, id, log) }, 'ticker');
  assert.equal(resumed.paused, false);
  assert.ok(catchUp?.ok, JSON.stringify(catchUp));
  const caughtUp = await db('job_executions').where({ id: catchUp.executionId }).first();
  assert.equal(caughtUp.claim_key, null, 'the catch-up is a run-now');
  await waitUntil(async () => (await executions('ticker')).filter((e) => e.status === 'success').length >= 2, 5000, 'the catch-up and a cron fire ran');
  assert.ok(Number(caughtUp.id) > Number((await executions('ticker'))[before - 1].id));

  // Resuming what is not paused changes nothing and runs nothing.
  const again = await resumeJob({ db, leaderElected: async () => true, runJob: () => assert.fail('no catch-up') }, 'ticker');
  assert.equal(again.catchUp, null);
});

test('a paused job\'s due-time trigger stays armed; its fire is recorded once as skipped (paused), not at every retry', async () => {
  const due = Date.now() - 1000; // due now, and stays due while nothing runs
  let ran = 0;
  await pauseJob(db, 'boundary');
  await startScheduler([job({ id: 'boundary', cron: '0 0 1 1 *', nextDue: async () => due, run: async () => void (ran += 1) })]);
  await waitUntil(async () => (await executions('boundary')).length >= 1, 10_000, 'the paused fire is recorded');
  await sleep(1500); // the timer fires again and again meanwhile
  const rows = await executions('boundary');
  assert.equal(ran, 0);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0].status, 'skipped');
  assert.equal(rows[0].error, 'paused');
  assert.equal(numberFromDb(rows[0].scheduled_for), due);
});

test('the leader observes each claimed fire\'s start lag in coursework_job_start_lag_seconds{job}, as the ledger has it; run-now is not a fire', async () => {
  const count = async () => (await jobStartLagSeconds.get()).values.find((v) => v.metricName === 'coursework_job_start_lag_seconds_count' && v.labels.job === 'lagging')?.value ?? 0;
  const sum = async () => (await jobStartLagSeconds.get()).values.find((v) => v.metricName === 'coursework_job_start_lag_seconds_sum' && v.labels.job === 'lagging')?.value ?? 0;
  const scheduler = await startScheduler([job({ id: 'lagging', run: async () => undefined })]);
  await waitUntil(async () => (await executions('lagging')).filter((e) => e.status === 'success').length >= 2, 5000, 'two fires ran');
  await scheduler.stop(5000);
  // A claim abandoned as the scheduler stopped is recorded as skipped, never started, never observed.
  const rows = (await executions('lagging')).filter((e) => e.claim_key !== null && e.status !== 'skipped');
  assert.equal(await count(), rows.length);
  const ledger = rows.reduce((total, e) => total + Math.max(0, numberFromDb(e.started_at) - numberFromDb(e.scheduled_for)), 0) / 1000;
  assert.ok(Math.abs((await sum()) - ledger) < 0.0005, `${await sum()} s observed, ${ledger} s in the ledger`);
  const observed = await count();
  await (await scheduler.runNow('lagging')).done;
  assert.equal(await count(), observed);
});

test('cleanup deletes only executions older than the cutoff, in batches', async () => {
  const now = Date.now();
  const rows = (created: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ job_id: 'old', scheduled_for: created, status: 'success', created_at: created - i, pid: 1, hostname: 'h' }));
  await db.batchInsert('job_executions', [...rows(now - 8 * DAY, 35), ...rows(now - DAY, 5)], 20);
  const result = await deleteExecutionsBefore(transactions(db), now - 7 * DAY, 10);
  assert.deepEqual(result, { deleted: 35, batches: 4 });
  const left = await db('job_executions').count({ n: '*' }).first();
  assert.equal(Number(left!.n), 5);
});

test('a due time whose fire moved nothing is tried again as a fire of its own, not refused as already claimed', async () => {
  // The database's clock a hair behind ours: the first fire at the due time
  // finds nothing due yet, so the same due time comes back. Each retry must run.
  let runs = 0;
  const dueAt = Date.now() - 1000;
  await startScheduler([job({ id: 'due-retry', cron: '0 0 1 1 *', nextDue: () => Promise.resolve(runs < 3 ? dueAt : null), run: () => Promise.resolve(void (runs += 1)) })]);
  await waitUntil(() => runs >= 3, 10_000, 'three attempts at the same due time ran');
  const rows = await executions('due-retry');
  assert.deepEqual(
    rows.map((r) => r.status),
    ['success', 'success', 'success'],
    'none refused as already claimed',
  );
  assert.equal(Number(rows[0].scheduled_for), dueAt, 'the first attempt is claimed under the due time itself');
});
