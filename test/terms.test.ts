// Terms fence every write of a superseded leader: each leadership takes a
// larger term from the database in either election mode, and once a newer
// term exists, the old leader's fire claim, sweep, run-request answer and job
// bookkeeping are refused by the database (one test per write kind), the
// refusal halts its scheduler, and the leadership history records each term.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { dbNowMs } from '../src/db/clock.js';
import { LockfileElection } from '../src/leadership/lockfile-election.js';
import { readOwner } from '../src/leadership/lock-file.js';
import { LeaseElection } from '../src/leadership/lease-election.js';
import { beginTerm, SupersededError } from '../src/leadership/terms.js';
import { termHistory } from '../src/leadership/term-history.js';
import { fencedTransactions, leaderWrites } from '../src/scheduler/leader-writes.js';
import { claimFire } from '../src/scheduler/executions.js';
import { answerRunRequest, requestRun } from '../src/scheduler/run-requests.js';
import { recordJobRun, upsertJob } from '../src/scheduler/job-store.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { createAlerter } from '../src/scheduler/alerts.js';
import { sweepStageStatuses } from '../src/jobs/stage-status-sweep.js';
import type { JobDefinition } from '../src/jobs/job.js';
import { DAY, HOUR } from '../src/time.js';

let database: TestDatabase;
let db: Knex;
let dir: string;
const log = createLogger('silent');
const config = loadConfig({});
const releases: (() => Promise<void>)[] = [];

before(async () => {
  database = await createTestDatabase();
  db = database.db;
  dir = tempDir('coursework-terms-');
});
afterEach(async () => {
  for (const release of releases.splice(0)) await release();
});
after(async () => {
  await database.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function lockfileLeader(name: string): Promise<LockfileElection> {
  const election = new LockfileElection({ file: path.join(dir, name), staleMs: 10_000, workerId: 1, db });
  assert.equal(await election.acquire(), true);
  releases.push(() => election.release());
  return election;
}

/** A successor elsewhere takes the next term: the first leader is now superseded, though it does not know it yet. */
const successorTakesOver = () => beginTerm(db, { pid: 1, hostname: 'elsewhere', workerId: 1, election: 'db' }, { reason: 'stale' });

test(`every leadership gets a larger term, in both election modes, shown in the lock file and the history (${testDialect})`, async () => {
  const first = await lockfileLeader('a.lock');
  const t1 = first.term!;
  assert.equal(readOwner(path.join(dir, 'a.lock'))?.term, t1, 'the lock file names the term');
  await first.release();

  const lease = new LeaseElection({ db, leaseMs: 10_000, workerId: 2 });
  assert.equal(await lease.acquire(), true);
  releases.push(() => lease.release());
  const t2 = lease.term!;
  assert.ok(t2 > t1, `${t2} > ${t1}`);
  assert.equal((await lease.currentOwner()).owner?.term, t2);
  await lease.release();

  const third = await lockfileLeader('b.lock');
  assert.ok(third.term! > t2);

  const history = await termHistory(db);
  const byTerm = new Map(history.map((h) => [h.term, h]));
  assert.equal(byTerm.get(t1)?.endReason, 'released');
  assert.equal(byTerm.get(t2)?.endReason, 'released');
  assert.equal(byTerm.get(t2)?.election, 'db');
  assert.equal(byTerm.get(third.term!)?.endedAt, null, 'the current term is open');
  assert.ok((byTerm.get(third.term!)?.gapMs ?? -1) >= 0, 'the gap since the previous term ended');
});

test('a superseded leader\'s fire claim is refused and records nothing', async () => {
  const old = await lockfileLeader('claim.lock');
  await successorTakesOver();
  const write = leaderWrites(db, old.term);
  await assert.rejects(write((trx) => claimFire(trx, { jobId: 'job-a', scheduledFor: Date.now(), pid: process.pid, hostname: os.hostname(), term: old.term })), SupersededError);
  assert.equal((await db('job_executions').where({ job_id: 'job-a' })).length, 0);
});

test(`a superseded leader's sweep is refused: no stage moves, no transition is recorded (${testDialect})`, async () => {
  const now = await dbNowMs(db);
  const [teacherId] = await db('users').insert({ email: `t${now}@example.test`, name: '', password_hash: 'x', role: 'teacher', created_at: 0 });
  const [courseId] = await db('courses').insert({ title: 'C', code: `C-${now}`, timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  const [stageId] = await db('stages').insert({ course_id: courseId, name: 'due', description: '', start_date: now - HOUR, end_date: now + DAY, status: 'pending', created_at: 0, updated_at: 0 });

  const old = await lockfileLeader('sweep.lock');
  await successorTakesOver();
  const ctx = { db, log, config, reason: 'timer' as const, transaction: fencedTransactions(db, old.term) };
  await assert.rejects(sweepStageStatuses(ctx), SupersededError);
  assert.equal((await db('stages').where({ id: stageId }).first()).status, 'pending');
  assert.equal((await db('stage_transitions').where({ stage_id: stageId })).length, 0);

  // The current leader's sweep goes through, and its transition carries its term.
  const current = await successorTakesOver();
  await sweepStageStatuses({ ...ctx, transaction: fencedTransactions(db, current) });
  const [transition] = await db('stage_transitions').where({ stage_id: stageId });
  assert.equal(Number(transition.term), current);
});

test('a superseded leader\'s run-request answer and job bookkeeping are refused', async () => {
  const old = await lockfileLeader('answer.lock');
  const write = leaderWrites(db, old.term);
  const job = { id: 'booked', name: 'booked', cron: '0 0 1 1 *', timezone: 'UTC', misfire: 'skip', timeoutMs: 1000, run: () => Promise.resolve() } satisfies JobDefinition;
  await write((trx) => upsertJob(trx, job, null, old.term));
  const requestId = await requestRun(db, 'booked', 'test');
  await successorTakesOver();

  await assert.rejects(write((trx) => answerRunRequest(trx, requestId, { ok: true, executionId: 42 }, old.term)), SupersededError);
  assert.equal((await db('job_run_requests').where({ id: requestId }).first()).execution_id, null);
  await assert.rejects(write((trx) => recordJobRun(trx, 'booked', { lastRunAt: 1, lastStatus: 'success', nextRunAt: null }, old.term)), SupersededError);
  assert.equal((await db('scheduler_jobs').where({ id: 'booked' }).first()).last_run_at, null);
});

test(`a scheduler whose write is refused halts at once and steps down (${testDialect})`, async () => {
  const election = await lockfileLeader('halt.lock');
  const ourTerm = election.term;
  let runs = 0;
  const every = { id: 'every-second', name: 'every second', cron: '* * * * * *', timezone: 'UTC', misfire: 'skip', timeoutMs: 5000, run: () => Promise.resolve(void (runs += 1)) } satisfies JobDefinition;
  const lines: Record<string, unknown>[] = [];
  const capture = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const scheduler = new Scheduler({ db, log: capture, config, jobs: [every], election, alert: createAlerter({ log }) });
  releases.push(() => scheduler.stop(2000));
  await scheduler.start();
  await waitUntil(() => runs >= 1, 5000, 'the job runs while this leader is current');

  const newer = await successorTakesOver();
  await waitUntil(() => lines.some((l) => String(l.msg).startsWith('write refused')), 5000, 'the refusal is logged');
  const refused = lines.find((l) => String(l.msg).startsWith('write refused'))!;
  assert.equal(refused.ourTerm, ourTerm);
  assert.equal(refused.currentTerm, newer);
  assert.equal(election.term, null, 'the election stepped down');
  const runsAtRefusal = runs;
  const rowsAtRefusal = (await db('job_executions').where({ job_id: 'every-second' })).length;
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(runs, runsAtRefusal, 'no run after the refusal');
  assert.equal((await db('job_executions').where({ job_id: 'every-second' })).length, rowsAtRefusal, 'nothing recorded after the refusal');
});

test('a run an earlier leader left running is recorded as an error when the next leader starts', async () => {
  const old = await lockfileLeader('orphan-old.lock');
  const [orphan] = await db('job_executions').insert({ job_id: 'orphan', scheduled_for: 1, status: 'running', started_at: 1, pid: 1, hostname: 'gone', created_at: Date.now(), term: old.term });
  await old.release();
  const next = await lockfileLeader('orphan-next.lock');
  const scheduler = new Scheduler({ db, log, config, jobs: [], election: next, alert: createAlerter({ log }) });
  releases.push(() => scheduler.stop(2000));
  await scheduler.start();
  const row = await db('job_executions').where({ id: orphan }).first();
  assert.equal(row.status, 'error');
  assert.match(String(row.error), /leader stopped before the run finished/);
});

test('MariaDB: a leader frozen inside a fenced write does not hold the term row, and with it every election, until it wakes', { skip: testDialect === 'mysql' ? false : 'MySQL/MariaDB only (SQLite has one writer at a time by design)' }, async () => {
  const old = await lockfileLeader('frozen.lock');
  // The frozen leader: its fenced transaction holds the term row, then its client goes silent.
  let frozen!: Promise<unknown>;
  const holding = new Promise<void>((resolve) => {
    frozen = leaderWrites(db, old.term)(async () => {
      resolve();
      await new Promise((r) => setTimeout(r, 12_000));
    }).catch((err: unknown) => err);
  });
  await holding;
  const asked = Date.now();
  const next = await successorTakesOver();
  const waited = Date.now() - asked;
  assert.ok(next > old.term!, 'a newer term was granted');
  assert.ok(waited < 9000, `the successor waited ${waited} ms for the term row (MariaDB ends the idle transaction after 5 s; the lock wait timeout is 50 s)`);
  assert.ok((await frozen) instanceof Error, 'the frozen transaction was ended, not committed');
});
