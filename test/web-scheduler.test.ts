// The /scheduler console, served by the real app with a real scheduler
// leading in this process (lock file in a temp folder): admins see the
// leader, the jobs and the executions and can run a job now; students get
// 403 and anonymous visitors the sign-in page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { jobDefinitions } from '../src/jobs/registry.js';
import { LockfileElection } from '../src/leadership/lockfile-election.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { createAlerter } from '../src/scheduler/alerts.js';
import { runOnLeader } from '../src/scheduler/leader-link.js';
import { webSchedulerRoutes } from '../src/http/routes/web-scheduler.js';
import { schedulerApiRoutes } from '../src/http/routes/api-scheduler.js';
import type { LeaderPort } from '../src/scheduler/leader-link.js';
import { numberFromDb } from '../src/db/rows.js';
import { HOUR, toIso } from '../src/time.js';

let database: TestDatabase;
let server: TestServer;
let dir: string;
let election: LockfileElection;
let scheduler: Scheduler;
let admin: Browser;
let adminApi: ApiClient;
let studentApi: ApiClient;
let student: Browser;
let teacherId: number;

before(async () => {
  database = await createTestDatabase();
  dir = tempDir('coursework-console-');
  const log = createLogger('silent');
  const config = loadConfig({});
  const jobs = jobDefinitions(config);
  const lockFile = path.join(dir, 'scheduler.lock');
  election = new LockfileElection({ file: lockFile, staleMs: 10_000, workerId: 7, db: database.db });
  assert.equal(await election.acquire(), true);
  scheduler = new Scheduler({ db: database.db, log, config, jobs, election, alert: createAlerter({ log }) });
  await scheduler.start();
  const port: LeaderPort = {
    jobIds: jobs.map((j) => j.id),
    leadership: () => election.currentOwner(),
    runJob: (jobId) => runOnLeader(scheduler, jobId, log),
  };
  server = await startTestServer(database.db, { apiRoutes: [schedulerApiRoutes({ db: database.db, scheduler: port })], pageRoutes: [webSchedulerRoutes({ db: database.db, scheduler: port, lockPath: lockFile })] });
  const { user: adminUser, token: adminToken } = await userWithToken(database.db, 'admin');
  adminApi = apiClient(server.baseUrl, adminToken);
  teacherId = (await userWithToken(database.db, 'teacher')).user.id;
  const { user: studentUser, token: studentToken } = await userWithToken(database.db, 'student');
  studentApi = apiClient(server.baseUrl, studentToken);
  admin = new Browser(server.baseUrl);
  await admin.login(adminUser.email, 'password-123');
  student = new Browser(server.baseUrl);
  await student.login(studentUser.email, 'password-123');
});

after(async () => {
  await server.close();
  await scheduler.stop(5000);
  await election.release();
  await database.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

test(`an admin sees the leader, both jobs with their next run, and the executions (${testDialect})`, async () => {
  const page = await admin.get('/scheduler');
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`pid <strong>${process.pid}</strong>`));
  assert.match(page.text, /\(worker 7\)/);
  assert.match(page.text, /scheduler\.lock<\/code> \(held\)/);
  for (const id of ['stage-status-sweep', 'cleanup-job-executions']) {
    const row = new RegExp(`<tr class="job-row" id="job-${id}">([\\s\\S]*?)</tr>`).exec(page.text)?.[1];
    assert.ok(row, `a row for ${id}`);
    assert.match(row, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, 'a next run time');
    assert.match(row, /Run now/);
  }
  // The start-up sweep already ran once: a claimed fire, so it has a start lag.
  assert.match(page.text, /<tr class="execution execution--success">/);
  assert.match(page.text, /<th[^>]*title="Started minus scheduled, for scheduled fires">Lag<\/th>/);
  assert.match(page.text, /<td class="lag">-?\d+ ms<\/td>/);
  const sweepRow = /<tr class="job-row" id="job-stage-status-sweep">([\s\S]*?)<\/tr>/.exec(page.text)![1];
  assert.match(sweepRow, /<td class="start-lag">-?\d+ ms \/ -?\d+ ms \/ -?\d+ ms<br><span class="muted">\d+ fires?<\/span><\/td>/);
  assert.match(page.text, /class="chart"/);
  assert.match(page.text, /<script src="\/static\/scheduler.js" defer><\/script>/);
  // The leadership history: this leader's term, open, and the longest gap line.
  const term = election.term!;
  assert.match(page.text, new RegExp(`term <strong>${term}</strong>`));
  const current = /<tr class="term-row">([\s\S]*?)<\/tr>/.exec(page.text)?.[1];
  assert.ok(current, 'a row per term');
  assert.match(current, new RegExp(`<td>${term}</td>`));
  assert.match(current, />leading</);
  assert.match(page.text, /Longest time without a leader in the last 24 h/);

  const live = await admin.get('/scheduler/live');
  assert.equal(live.status, 200);
  assert.doesNotMatch(live.text, /<html/, 'the live part is a fragment');
  assert.match(live.text, /id="job-stage-status-sweep"/);
});

test('the console and the API name the next stage boundary the leader is armed for, with its stages and course', async () => {
  const db = database.db;
  const [courseId] = await db('courses').insert({ title: 'Armed course', code: 'ARM-1', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  const at = Date.now() + HOUR;
  const stage = (name: string, start: number, end: number) => ({ course_id: courseId, name, description: '', start_date: start, end_date: end, status: 'pending', created_at: 0, updated_at: 0 });
  const [opening] = await db('stages').insert(stage('Kick-off', at, at + HOUR));
  const [closing] = await db('stages').insert(stage('Warm-up', at - 2 * HOUR, at));
  await db('stages').where({ id: closing }).update({ status: 'active' });
  scheduler.dueTimers.poke(); // what the leader link does when stage dates change
  await waitUntil(async () => numberFromDb((await db('scheduler_jobs').where({ id: 'stage-status-sweep' }).first()).next_due_at) === at, 5000, 'the armed instant is stored');

  const api = await adminApi.get('/api/scheduler');
  assert.equal(api.status, 200);
  // The oldest: the start-up sweep, a claimed fire.
  const startup = [...api.body.executions].reverse().find((e: { jobId: string; status: string }) => e.jobId === 'stage-status-sweep' && e.status === 'success');
  assert.equal(startup.lagMs, Date.parse(startup.startedAt) - Date.parse(startup.scheduledFor), 'executions carry their lag');
  const sweep = api.body.jobs.find((j: { id: string }) => j.id === 'stage-status-sweep');
  assert.equal(sweep.nextDueAt, toIso(at));
  assert.equal(api.body.jobs.find((j: { id: string }) => j.id === 'cleanup-job-executions').nextDueAt, null, 'a job without a due-time trigger');

  const page = await admin.get('/scheduler');
  const armed = /<p class="armed">([\s\S]*?)<\/p>/.exec(page.text)?.[1];
  assert.ok(armed, 'the console says what the leader is armed for');
  assert.match(armed, new RegExp(toIso(at).slice(0, 19).replace('T', ' ')));
  assert.match(armed, new RegExp(`<a href="/stages/${opening}">Kick-off</a> opens \\(<a href="/courses/${courseId}">ARM-1</a>\\)`));
  assert.match(armed, new RegExp(`<a href="/stages/${closing}">Warm-up</a> closes`));
  await db('stages').whereIn('id', [opening, closing]).delete();
  scheduler.dueTimers.poke();
  await waitUntil(async () => (await db('scheduler_jobs').where({ id: 'stage-status-sweep' }).first()).next_due_at === null, 5000, 'nothing armed once the stages are gone');
  assert.match((await admin.get('/scheduler')).text, /<p class="armed">[\s\S]*?none \(no stage has a boundary ahead\)/);
});

test('"Run now" runs the job on the leader and says which execution it started', async () => {
  const page = await admin.get('/scheduler');
  const res = await admin.post('/scheduler/jobs/cleanup-job-executions/run', { _csrf: Browser.csrfFrom(page.text) });
  assert.equal(res.status, 303);
  assert.equal(res.location, '/scheduler');
  const after = await admin.get('/scheduler');
  const executionId = Number(/cleanup-job-executions started on the leader as execution (\d+)/.exec(after.text)?.[1]);
  assert.ok(executionId > 0, 'the flash names the execution');
  await waitUntil(async () => (await database.db('job_executions').where({ id: executionId }).first())?.status === 'success', 5000, 'the run finished');
  const row = await database.db('job_executions').where({ id: executionId }).first();
  assert.equal(row.job_id, 'cleanup-job-executions');
  assert.equal(Number(row.pid), process.pid);
});

test('pause and resume through the API: 200 with the job, kept in the database; resuming runs the job once now on the leader', async () => {
  const db = database.db;
  const manualRuns = async () => (await db('job_executions').where({ job_id: 'cleanup-job-executions' }).whereNull('claim_key').whereNotNull('started_at')).length;
  const paused = await adminApi.post('/api/scheduler/jobs/cleanup-job-executions/pause');
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.id, 'cleanup-job-executions');
  assert.equal(paused.body.paused, true);
  assert.match(paused.body.nextRunAt, /Z$/, 'it keeps its trigger');
  assert.equal(Boolean((await db('scheduler_jobs').where({ id: 'cleanup-job-executions' }).first()).paused), true);
  const status = await adminApi.get('/api/scheduler');
  assert.equal(status.body.jobs.find((j: { id: string }) => j.id === 'cleanup-job-executions').paused, true);
  assert.equal((await adminApi.post('/api/scheduler/jobs/cleanup-job-executions/pause')).body.paused, true, 'pausing again is harmless');

  const before = await manualRuns();
  const resumed = await adminApi.post('/api/scheduler/jobs/cleanup-job-executions/resume');
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  assert.equal(resumed.body.paused, false);
  assert.equal(await manualRuns(), before + 1, 'the catch-up run started on the leader');
  const again = await adminApi.post('/api/scheduler/jobs/cleanup-job-executions/resume');
  assert.equal(again.status, 200);
  assert.equal(await manualRuns(), before + 1, 'resuming a job that is not paused runs nothing');

  assert.equal((await adminApi.post('/api/scheduler/jobs/no-such-job/pause')).status, 404);
  assert.equal((await adminApi.post('/api/scheduler/jobs/no-such-job/resume')).status, 404);
  assert.equal((await studentApi.post('/api/scheduler/jobs/cleanup-job-executions/pause')).status, 403);
  assert.equal((await studentApi.post('/api/scheduler/jobs/cleanup-job-executions/resume')).status, 403);
});

test('a resume whose catch-up finds the job running already is a 200 (that run catches up)', async () => {
  const db = database.db;
  const busy: LeaderPort = {
    jobIds: ['stage-status-sweep'],
    leadership: () => election.currentOwner(),
    runJob: async (jobId) => ({ ok: false, code: 'job_running', message: `Job "${jobId}" is running` }),
  };
  const other = await startTestServer(db, { apiRoutes: [schedulerApiRoutes({ db, scheduler: busy })] });
  try {
    const api = apiClient(other.baseUrl, (await userWithToken(db, 'admin')).token);
    assert.equal((await api.post('/api/scheduler/jobs/stage-status-sweep/pause')).status, 200);
    const resumed = await api.post('/api/scheduler/jobs/stage-status-sweep/resume');
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.paused, false);
  } finally {
    await other.close();
  }
});

test('the console pauses and resumes a job with its buttons; the row says it is paused', async () => {
  const db = database.db;
  const rowOf = (html: string) => /<tr class="job-row[^"]*" id="job-stage-status-sweep">([\s\S]*?)<\/tr>/.exec(html)?.[0] ?? '';
  const page = await admin.get('/scheduler');
  assert.match(rowOf(page.text), /action="\/scheduler\/jobs\/stage-status-sweep\/pause"[\s\S]*?name="_csrf"[\s\S]*?>Pause</);
  assert.equal((await admin.post('/scheduler/jobs/stage-status-sweep/pause', {})).status, 403, 'not without the CSRF token');
  const paused = await admin.post('/scheduler/jobs/stage-status-sweep/pause', { _csrf: Browser.csrfFrom(page.text) });
  assert.equal(paused.status, 303);
  assert.equal(paused.location, '/scheduler');
  const pausedPage = await admin.get('/scheduler');
  assert.match(pausedPage.text, /stage-status-sweep is paused/);
  const row = rowOf(pausedPage.text);
  assert.match(row, /class="job-row job-row--paused"/);
  assert.match(row, /<span class="badge paused">paused<\/span>/);
  assert.match(row, /action="\/scheduler\/jobs\/stage-status-sweep\/resume"[\s\S]*?>Resume</);

  const resumed = await admin.post('/scheduler/jobs/stage-status-sweep/resume', { _csrf: Browser.csrfFrom(pausedPage.text) });
  assert.equal(resumed.status, 303);
  const after = await admin.get('/scheduler');
  const executionId = Number(/stage-status-sweep is resumed; stage-status-sweep runs once now to catch up, as execution (\d+)/.exec(after.text)?.[1]);
  assert.ok(executionId > 0, 'the flash names the catch-up run');
  await waitUntil(async () => (await db('job_executions').where({ id: executionId }).first())?.status === 'success', 5000, 'the catch-up ran');
  assert.doesNotMatch(rowOf(after.text), /job-row--paused/);
  assert.match(rowOf(after.text), />Pause</);
});

test('"Run now" without the CSRF token is refused', async () => {
  const res = await admin.post('/scheduler/jobs/cleanup-job-executions/run', {});
  assert.equal(res.status, 403);
});

test('the page navigation links to the console for admins only', async () => {
  const link = /<nav[^>]*>[\s\S]*?<a href="\/scheduler">Scheduler<\/a>[\s\S]*?<\/nav>/;
  for (const path of ['/courses', '/scheduler']) assert.match((await admin.get(path)).text, link, `an admin sees it on ${path}`);
  const page = await student.get('/courses');
  assert.equal(page.status, 200);
  assert.match(page.text, /<nav[^>]*><a href="\/courses">Courses<\/a>/);
  assert.doesNotMatch(page.text, /href="\/scheduler"/, 'a student does not');
});

test('a student gets 403 and an anonymous visitor is sent to sign in', async () => {
  assert.equal((await student.get('/scheduler')).status, 403);
  assert.equal((await student.get('/scheduler/live')).status, 403);
  const anonymous = await new Browser(server.baseUrl).get('/scheduler');
  assert.equal(anonymous.status, 303);
  assert.equal(anonymous.location, '/login');
});
